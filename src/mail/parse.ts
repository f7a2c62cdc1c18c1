// Inbound mail, from what mailparser made of the bytes to what Caseboard keeps: the plain
// ParsedInbound the service takes, and the visible text of a reply (quoted earlier mails cut).
//
// Trimming quotes uses email-reply-parser, whose regular expressions backtrack badly on some
// input: ~12 KB of lines like "Op x schreef y" take 7 s, and the time grows with the cube of the
// size. A mail can be written to do that on purpose, and the web app shares this event loop, so
// the parser runs in a worker thread with a time limit; past it the worker is ended and a simple
// linear trim is used instead.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { AddressObject, HeaderValue, ParsedMail } from 'mailparser';
import type { ParsedInbound } from '../services/mail/inbound.js';
import { REPLY_ABOVE } from './render.js';

/** What is kept of a message's text (the work log's limit). */
export const MAX_BODY_CHARS = 20_000;
/** Text given to the quote trimmer: a reply is at the top, and the body keeps 20,000 characters. */
const MAX_TRIM_INPUT = 64 * 1024;
const TRIM_TIMEOUT_MS = 2_000;

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
const noNul = (s: string) => (s.includes('\u0000') ? s.replace(/\u0000/g, '') : s);

/** Headers that tell automatic mail apart (see isAutomatic in services/mail/inbound.ts). */
const LOOP_HEADERS = [
  'auto-submitted',
  'precedence',
  'x-autoreply',
  'x-autorespond',
  'x-auto-response-suppress',
  'content-type',
  'x-loop',
  'x-caseboard-loop',
];

/**
 * mailparser's result as the service wants it, or null when there is no usable From address.
 * `envelopeSender` is the SMTP MAIL FROM ('' for the null sender of bounces).
 */
export function toParsedInbound(mail: ParsedMail, envelopeSender: string): ParsedInbound | null {
  const first = mail.from?.value?.find((a) => a.address);
  const address = noNul(first?.address ?? '').trim().toLowerCase();
  if (!address || address.length > 254 || !/^[^\s@<>]+@[^\s@<>]+$/.test(address)) return null;
  const headers: Record<string, string> = {};
  for (const name of LOOP_HEADERS) {
    const value = mail.headers.get(name);
    if (value !== undefined) headers[name] = noNul(headerText(value));
  }
  const refs = mail.references === undefined ? [] : Array.isArray(mail.references) ? mail.references : [mail.references];
  return {
    messageId: noNul(mail.messageId ?? '').trim() || null,
    from: { address, name: noNul(first?.name ?? '').trim() || null },
    envelopeSender: envelopeSender.trim().toLowerCase(),
    subject: clip(noNul(mail.subject ?? '').replace(/\s+/g, ' ').trim(), 998),
    // mailparser converts HTML to text only when the HTML is the whole message: an HTML-only
    // message with an attachment arrives without text.
    text: mail.text?.trim() ? mail.text : typeof mail.html === 'string' ? htmlToText(mail.html) : '',
    inReplyTo: clip(noNul(mail.inReplyTo ?? '').trim(), 2000) || null,
    references: refs.slice(0, 100).map((r) => clip(noNul(r), 998)),
    headers,
    attachments: mail.attachments.map((a) => noNul(a.filename || a.contentType || 'attachment')),
  };
}

const BLOCK_TAGS = new Set(['p', 'div', 'li', 'tr', 'table', 'ul', 'ol', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'pre', 'hr']);
const SKIPPED_TAGS = new Set(['head', 'style', 'script', 'title']);
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * HTML as plain text, for HTML-only mail mailparser did not convert: line breaks for block
 * elements, "> " before quoted (blockquote) lines so that the quote trimmer sees them, entities
 * decoded. A single linear pass (no regular expression that could backtrack on hostile input).
 */
export function htmlToText(html: string): string {
  const src = html.length > 1024 * 1024 ? html.slice(0, 1024 * 1024) : html;
  let out = '';
  let depth = 0;
  const newline = () => {
    out += '\n' + '> '.repeat(depth);
  };
  // Lower-cased once (ASCII tags: positions stay the same) for finding the end of a skipped
  // element: lower-casing the whole text at every <style> made a crafted mail take minutes.
  const lower = src.toLowerCase();
  let i = 0;
  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const text = lt < 0 ? src.slice(i) : src.slice(i, lt);
    out += text.replace(/\s+/g, ' ');
    if (lt < 0) break;
    const gt = src.indexOf('>', lt + 1);
    if (gt < 0) break; // an unfinished tag: the rest is not text
    const head = /^(\/?)([a-zA-Z][a-zA-Z0-9]*)/.exec(src.slice(lt + 1, Math.min(gt, lt + 40)));
    i = gt + 1;
    if (!head) continue; // a comment, doctype or stray "<"
    const closing = head[1] === '/';
    const name = head[2]!.toLowerCase();
    if (!closing && SKIPPED_TAGS.has(name)) {
      const end = lower.indexOf(`</${name}`, i);
      if (end < 0) break;
      const after = src.indexOf('>', end);
      i = after < 0 ? src.length : after + 1;
      continue;
    }
    if (name === 'blockquote') {
      depth = closing ? Math.max(0, depth - 1) : depth + 1;
      newline();
    } else if (name === 'br' || BLOCK_TAGS.has(name)) {
      newline();
      if (name === 'li' && !closing) out += '- ';
    }
  }
  return out
    .replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,6});/g, (whole, code: string) => {
      if (code[0] !== '#') return ENTITIES[code.toLowerCase()] ?? whole;
      const n = code[1] === 'x' || code[1] === 'X' ? parseInt(code.slice(2), 16) : parseInt(code.slice(1), 10);
      return n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : whole;
    })
    .split('\n')
    .map((line) => {
      // "> > " quote marks kept, the spaces after them and at the end of the line dropped.
      let mark = 0;
      while (line.startsWith('> ', mark)) mark += 2;
      return line.slice(0, mark) + line.slice(mark).trim();
    })
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
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

/** The fallback: linear, cuts at the first "On … wrote:" line and drops quoted (">") lines. */
export function simpleTrim(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (ATTRIBUTION.test(line.slice(0, 400))) break;
    if (/^\s*>/.test(line)) continue;
    out.push(line);
  }
  return out.join('\n');
}

// One worker thread, started on first use, serving one message at a time.
const requireCjs = createRequire(import.meta.url);
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const EmailReplyParser = require(workerData.parser);
parentPort.on('message', (text) => {
  let visible = null;
  try { visible = new EmailReplyParser().parseReply(text); } catch { visible = null; }
  parentPort.postMessage(visible);
});`;

let worker: Worker | null = null;
let queue: Promise<unknown> = Promise.resolve();

function startWorker(): Worker {
  const w = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { parser: requireCjs.resolve('email-reply-parser') },
    resourceLimits: { maxOldGenerationSizeMb: 128 },
  });
  w.unref(); // never keeps the process alive
  w.on('error', (err) => {
    console.error('[inbound] reply trimmer failed:', err.message);
    if (worker === w) worker = null;
  });
  w.on('exit', () => {
    if (worker === w) worker = null;
  });
  return w;
}

function trimInWorker(text: string): Promise<string | null> {
  return new Promise((resolve) => {
    const w = (worker ??= startWorker());
    let done = false;
    const finish = (value: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      w.off('message', onMessage);
      w.off('exit', onExit);
      resolve(value);
    };
    const onMessage = (value: unknown) => finish(typeof value === 'string' ? value : null);
    const onExit = () => finish(null);
    const timer = setTimeout(() => {
      console.error(`[inbound] quote trimming took over ${TRIM_TIMEOUT_MS} ms: stopped, using the simple trim`);
      if (worker === w) worker = null;
      void w.terminate();
      finish(null);
    }, TRIM_TIMEOUT_MS);
    w.on('message', onMessage);
    w.once('exit', onExit);
    w.postMessage(text);
  });
}

/** Ends the trimming worker (a later message starts another). */
export async function stopReplyTrimmer(): Promise<void> {
  const w = worker;
  worker = null;
  if (w) await w.terminate();
}

/**
 * What the sender wrote in this message: cut at Caseboard's "reply above this line" marker, quoted
 * earlier messages, attribution lines and signatures removed (email-reply-parser), trimmed, and at
 * most MAX_BODY_CHARS characters.
 */
export async function visibleText(raw: string): Promise<string> {
  const text = cutAtMarker(raw.replace(/\r\n?/g, '\n').replace(/\u0000/g, ''));
  const input = clip(text, MAX_TRIM_INPUT);
  const job = queue.then(() => trimInWorker(input));
  queue = job.catch(() => null);
  let visible = ((await job.catch(() => null)) ?? simpleTrim(input)).trim();
  // Nothing of its own (a bare forward: all of it under "Original Message"): keep what came.
  if (!visible) visible = input.trim();
  if (visible.length <= MAX_BODY_CHARS) return visible;
  return `${clip(visible, MAX_BODY_CHARS - 60).trimEnd()}\n\n[… cut: the message was longer than this]`;
}
