// Inbound mail, from the bytes to what Caseboard keeps: the plain ParsedInbound the service takes,
// and the visible text of a reply (quoted earlier mails cut).
//
// Both steps cost what the sender wants them to, and the web app shares this event loop, so both
// run in worker threads (src/workers/pool.ts; the task is src/mail/worker.ts), in two pools of two:
// - decoding (mailparser): a 9 MB message held every request for ~0.5 s on the main thread.
//   In a worker with memory limits and a 20 s limit; only the fields Caseboard reads come back,
//   the text cut to what is ever looked at.
// - trimming quotes (email-reply-parser), whose regular expressions backtrack badly on some input:
//   ~12 KB of lines like "Op x schreef y" take 7 s, and the time grows with the cube of the size.
//   Each message gets TRIM_BUDGET_MS for it, waiting for a worker included; past that the worker
//   is ended and the linear simpleTrim is used instead. Ten such messages at once used to queue
//   for 2 s each (a normal one behind them waited 20 s); now they all fall back within the budget.
import type { AddressObject, HeaderValue, ParsedMail } from 'mailparser';
import type { ParsedInbound } from '../services/mail/inbound.js';
import { REPLY_ABOVE } from './render.js';
import { WorkerPool } from '../workers/pool.js';
import { AUTOMATIC_HEADERS } from './automatic.js';
import { cutQuotes } from './quotes.js';
import type { DecodedFile, DecodedForward, Task } from './worker.js';
import { logError } from '../log.js';

/** What is kept of a message's text (the work log's limit). */
export const MAX_BODY_CHARS = 20_000;
/** Text given to the quote trimmer: a reply is at the top, and the body keeps 20,000 characters. */
const MAX_TRIM_INPUT = 64 * 1024;

/** Header values as text: mailparser structures some (Content-Type, addresses, dates). */
function headerText(value: HeaderValue | undefined): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => headerText(v as HeaderValue)).join(', ');
  if (typeof value === 'object' && 'value' in value) {
    const v = (value as { value: unknown }).value;
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) return (value as AddressObject).text ?? '';
  }
  if (typeof value === 'object' && 'text' in value) return String((value as { text: unknown }).text ?? '');
  return '';
}

/** PostgreSQL text cannot hold NUL: a message carrying one (even encoded) must not fail forever. */
export const noNul = (s: string) => (s.includes('\u0000') ? s.replace(/\u0000/g, '') : s);

/** Headers that tell automatic mail apart (the rules are in src/mail/automatic.ts). */
const LOOP_HEADERS: readonly string[] = AUTOMATIC_HEADERS;
/**
 * Mailing-list mail (RFC 2369, 2919): never acknowledged (RFC 3834), see services/mail/inbound.ts.
 * mailparser gathers the List-* fields into one 'list' header ({ id, post, unsubscribe, … }).
 */
const LIST_FIELDS = ['id', 'post', 'unsubscribe'] as const;

/** The parts of mailparser's result that Caseboard reads (what a decoding worker sends back). */
export interface MailFields extends Pick<ParsedMail, 'from' | 'subject' | 'text' | 'html' | 'messageId' | 'inReplyTo' | 'references' | 'headers'> {
  /** The Authentication-Results header fields as received ("Authentication-Results: …"), topmost first. */
  authenticationResults?: string[];
  attachments: { filename?: string | undefined; contentType?: string | undefined }[];
  /** Every file with its bytes, those of forwarded messages included (src/mail/worker.ts). */
  files?: DecodedFile[];
  /** Files past the most one message keeps (100). */
  filesLeftOut?: number;
  /** Forwarded messages' own text. */
  forwarded?: DecodedForward[];
  /** The whole text before quotes are cut (at most 1 MB). */
  fullText?: string | undefined;
}

/**
 * mailparser's result as the service wants it. `envelopeSender` is the SMTP MAIL FROM ('' for the
 * null sender of bounces). Without a usable From address (none, "<>", "MAILER-DAEMON <>", not an
 * address) `from.address` is '' and the From header's text is kept in `headers.from`: such a
 * message is recorded as automatic mail (src/mail/automatic.ts), never refused — refusing a bounce
 * only makes the sending server bounce the bounce.
 */
export function toParsedInbound(mail: MailFields, envelopeSender: string): ParsedInbound {
  const first = mail.from?.value?.find((a) => a.address);
  let address = noNul(first?.address ?? '').trim().toLowerCase();
  if (!address || address.length > 254 || !/^[^\s@<>]+@[^\s@<>]+$/.test(address)) address = '';
  const headers: Record<string, string> = {};
  for (const name of LOOP_HEADERS) {
    const value = mail.headers.get(name);
    if (value !== undefined) headers[name] = clip(noNul(headerText(value)), 1000);
  }
  // The report type (RFC 6522) of a multipart/report: a delivery report or an ARF feedback report.
  const type = mail.headers.get('content-type') as { value?: unknown; params?: Record<string, unknown> } | undefined;
  const reportType = type && typeof type === 'object' ? type.params?.['report-type'] : undefined;
  if (headers['content-type'] && typeof reportType === 'string') headers['content-type'] += `; report-type=${clip(noNul(reportType), 100)}`;
  if (!address) headers.from = clip(noNul(mail.from?.text ?? ''), 300);
  const list = mail.headers.get('list');
  if (list && typeof list === 'object') {
    for (const field of LIST_FIELDS) {
      const v = Object.hasOwn(list, field) ? (list as Record<string, unknown>)[field] : undefined;
      if (v !== undefined) headers[`list-${field}`] = clip(noNul(JSON.stringify(v) ?? ''), 200);
    }
  }
  const refs = mail.references === undefined ? [] : Array.isArray(mail.references) ? mail.references : [mail.references];
  return {
    messageId: noNul(mail.messageId ?? '').trim() || null,
    from: { address, name: noNul(first?.name ?? mail.from?.value?.[0]?.name ?? '').trim() || null },
    envelopeSender: envelopeSender.trim().toLowerCase(),
    subject: clip(noNul(mail.subject ?? '').replace(/\s+/g, ' ').trim(), 998),
    // HTML-only mail arrives converted (html-to-text, in the decoding worker: src/mail/worker.ts).
    text: mail.text ?? '',
    inReplyTo: clip(noNul(mail.inReplyTo ?? '').trim(), 2000) || null,
    references: refs.slice(0, 100).map((r) => clip(noNul(r), 998)),
    headers,
    attachments: mail.attachments.map((a) => noNul(a.filename || a.contentType || 'attachment')),
    // The bytes as they were; names are made safe where they are stored (services/attachments/files.ts).
    ...(mail.files
      ? {
          files: mail.files.map((f) => ({
            fileName: noNul(f.filename ?? ''),
            contentType: clip(noNul(f.contentType), 127),
            contentId: f.contentId ? clip(noNul(f.contentId), 255) : null,
            inline: f.inline,
            nested: f.nested,
            bytes: Buffer.from(f.content.buffer, f.content.byteOffset, f.content.byteLength),
          })),
        }
      : {}),
    ...(mail.fullText !== undefined ? { fullText: mail.fullText } : {}),
    ...(mail.filesLeftOut ? { filesLeftOut: mail.filesLeftOut } : {}),
    forwarded: (mail.forwarded ?? []).map((f) => ({
      subject: clip(noNul(f.subject).replace(/\s+/g, ' ').trim(), 998),
      from: clip(noNul(f.from), 300),
      date: f.date,
      text: noNul(f.text),
    })),
    attachmentTypes: mail.attachments.slice(0, 100).map((a) => clip(noNul(a.contentType ?? ''), 100)),
    authenticationResults: (mail.authenticationResults ?? []).map(noNul),
  };
}

/** Cuts a string to at most `max` characters without splitting a character in two. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/** Everything above the first line holding Caseboard's "reply above this line" marker. */
function cutAtMarker(text: string): string {
  const at = text.indexOf(REPLY_ABOVE);
  if (at < 0) return text;
  const lineStart = text.lastIndexOf('\n', at) + 1;
  return text.slice(0, lineStart);
}

const ATTRIBUTION = /^\s*(On\s.{1,300}\swrote:|-{2,}\s*Original Message\s*-{2,}|_{10,})\s*$/i;

/**
 * The fallback: linear, cuts quotes of other clients and languages (src/mail/quotes.ts), then at the
 * first "On … wrote:" line, and drops quoted (">") lines.
 */
export function simpleTrim(text: string): string {
  const out: string[] = [];
  for (const line of cutQuotes(text).split('\n')) {
    if (ATTRIBUTION.test(line.slice(0, 400))) break;
    if (/^\s*>/.test(line)) continue;
    out.push(line);
  }
  return out.join('\n');
}

// The worker threads: one pool decodes messages, another trims quotes, so that slow trimming never
// holds up the decoding of the next message. Both run src/mail/worker.ts.
const WORKER = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
/** The headers a decoding worker sends back. */
const WANTED_HEADERS = [...LOOP_HEADERS, 'list'];
/** Twice the trimmer's input: cutting the text there changes nothing that visibleText keeps. */
const MAX_DECODED_TEXT = 2 * MAX_TRIM_INPUT;

/** Decoding: a 10 MB message takes ~1 s; a message that takes this long is not a normal one. */
const PARSE_TIMEOUT_MS = 20_000;
/** Quote trimming, waiting included: past it the linear simpleTrim is used. */
export const TRIM_BUDGET_MS = 1_500;

let parsers: WorkerPool | null = null;
let trimmers: WorkerPool | null = null;

function parserPool(): WorkerPool {
  return (parsers ??= new WorkerPool({
    name: 'message decoder',
    handler: WORKER,
    maxThreads: 2,
    // Every SMTP connection (at most 50) has one message in flight: more waiting is an overload.
    maxQueue: 40,
    resourceLimits: { maxOldGenerationSizeMb: 512, maxYoungGenerationSizeMb: 64 },
  }));
}

function trimmerPool(): WorkerPool {
  return (trimmers ??= new WorkerPool({
    name: 'quote trimmer',
    handler: WORKER,
    maxThreads: 2,
    maxQueue: 100,
    resourceLimits: { maxOldGenerationSizeMb: 128 },
  }));
}

/** What decoding in a worker gives back: the fields toParsedInbound reads. */
export type DecodedMail = MailFields;

/** Why a message could not be decoded: the SMTP answer depends on it. */
export class DecodeError extends Error {
  constructor(
    message: string,
    /** Busy, stopping or no decoder could start: try again later (451); anything else is the message's own fault (554). */
    readonly temporary: boolean,
  ) {
    super(message);
  }
}

/** Decodes a raw message in a worker thread (the main thread only copies bytes). */
export async function decodeMessage(raw: Buffer): Promise<DecodedMail> {
  // A buffer that owns its memory is handed over without a copy.
  const own = raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength && raw.buffer instanceof ArrayBuffer;
  const bytes = own ? new Uint8Array(raw.buffer, 0, raw.byteLength) : new Uint8Array(raw);
  const task: Task = { kind: 'parse', bytes, headers: WANTED_HEADERS, maxText: MAX_DECODED_TEXT };
  const out = await parserPool().run<DecodedMail>(task, { timeoutMs: PARSE_TIMEOUT_MS, transfer: [bytes.buffer as ArrayBuffer] });
  if (out.ok) return out.value;
  // Not the message's fault: no decoder to take it now (busy, stopping, or none could start).
  throw new DecodeError(out.message, out.reason === 'overloaded' || out.reason === 'stopped' || out.reason === 'unavailable');
}

/** Ends the worker threads (the next message starts new ones). */
export async function stopMailWorkers(): Promise<void> {
  const pools = [parsers, trimmers];
  parsers = null;
  trimmers = null;
  await Promise.all(pools.map((p) => p?.stop()));
}

/**
 * What the sender wrote in this message: cut at Caseboard's "reply above this line" marker, quoted
 * earlier messages, attribution lines and signatures removed (email-reply-parser), trimmed, and at
 * most MAX_BODY_CHARS characters. Trimming gets TRIM_BUDGET_MS, waiting for a worker included:
 * a message that would take longer (or arrives while others use up the workers) is cut by the
 * linear simpleTrim instead, so that no message waits behind slow ones.
 */
export async function visibleText(raw: string): Promise<string> {
  const text = cutAtMarker(raw.replace(/\r\n?/g, '\n').replace(/\u0000/g, ''));
  const input = clip(text, MAX_TRIM_INPUT);
  const task: Task = { kind: 'trim', input };
  const out = await trimmerPool().run<string | null>(
    task,
    { timeoutMs: TRIM_BUDGET_MS, deadline: Date.now() + TRIM_BUDGET_MS },
  );
  if (!out.ok && out.reason !== 'stopped') logError(`[inbound] quote trimming not done (${out.message}): using the simple trim`);
  let visible = ((out.ok ? out.value : null) ?? simpleTrim(input)).trim();
  // Nothing of its own (a bare forward: all of it under "Original Message"): keep what came.
  if (!visible) visible = input.trim();
  if (visible.length <= MAX_BODY_CHARS) return visible;
  return `${clip(visible, MAX_BODY_CHARS - 60).trimEnd()}\n\n[… cut: the message was longer than this]`;
}
