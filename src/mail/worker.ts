// The inbound-mail workers' task (src/workers/pool.ts runs it in a worker thread with a time limit
// and memory limits; see src/mail/parse.ts): decoding a message with mailparser, and trimming a
// reply's quotes with email-reply-parser. It imports nothing of the app but src/mail/quotes.ts (no imports), and each library only
// when first needed (a trimming worker never loads mailparser), for a quick cold start.
import { createRequire } from 'node:module';
import { Transform } from 'node:stream';
import { cutQuotes } from './quotes.js';

type ReplyParser = new () => { parseReply(text: string): string };
let replyParser: ReplyParser | undefined;
let simpleParser: typeof import('mailparser').simpleParser | undefined;
let charsets: typeof import('./charsets.js') | undefined;
let convertHtml: typeof import('html-to-text').convert | undefined;

/** HTML converted at most (characters), as before the switch to html-to-text. */
const MAX_HTML = 1024 * 1024;
/**
 * Tags nested deeper than this are dropped before converting (their text kept): html-to-text takes
 * time that grows faster than the depth (1 MB of "<b>" took 39 s, past the worker's time limit).
 */
const MAX_HTML_DEPTH = 200;
/** Elements that never hold others, or that the next one closes: they add no depth. */
const FLAT_TAGS = new Set(['br', 'img', 'hr', 'meta', 'link', 'input', 'wbr', 'col', 'area', 'base', 'source', 'track', 'embed', 'param', 'p', 'li', 'td', 'th', 'tr', 'option', 'dt', 'dd']);

/** The HTML with tags past MAX_HTML_DEPTH left out (one linear pass; usually the same string). */
export function flattenDeepHtml(html: string): string {
  let depth = 0;
  let deep = false;
  const out = html.replace(/<(\/?)([a-zA-Z][a-zA-Z0-9-]{0,40})\b[^<>]{0,2000}>/g, (tag, close: string, name: string) => {
    if (FLAT_TAGS.has(name.toLowerCase()) || tag.endsWith('/>')) return tag;
    if (close) {
      depth = Math.max(0, depth - 1);
      return depth >= MAX_HTML_DEPTH ? '' : tag;
    }
    depth++;
    if (depth <= MAX_HTML_DEPTH) return tag;
    deep = true;
    return '';
  });
  return deep ? out : html;
}
/** A text body's charset, as handed from createNode to the decode stream. */
const TAG = 'x-caseboard-charset:';

/**
 * mailparser decodes header lines and text bodies with the declared charset only: 8-bit bytes
 * outside encoded words and any body declared (or defaulting to) us-ascii/utf-8 are read as UTF-8
 * (U+FFFD for Latin-1 bytes), raw UTF-8 inside =?ISO-8859-1?…?= becomes mojibake, and UTF-7 is
 * refused. Its MailParser has no option for that, so the worker (which loads mailparser for this
 * alone) wraps three of its methods, once: header lines go through normalizeHeaderLine first, every
 * text part gets a tagged charset so that no name skips decoding, and the decode stream for a tag
 * is src/mail/charsets.ts's smartDecode over the whole part.
 */
async function loadParser() {
  const mod = await import('mailparser');
  charsets = await import('./charsets.js');
  const { normalizeHeaderLine, bodyToUtf8 } = charsets;
  type Line = { key: string; line: string };
  type Node = { charset?: string; isAttachment?: boolean; contentType?: string };
  const proto = mod.MailParser.prototype as unknown as {
    processHeaders(lines: Line[]): unknown;
    createNode(node: unknown): Node;
    getDecoder(): { decodeStream(charset: string): import('node:stream').Transform };
  };
  const processHeaders = proto.processHeaders;
  proto.processHeaders = function (lines) {
    return processHeaders.call(this, (lines || []).map((l) => ({ ...l, line: normalizeHeaderLine(l.line) })));
  };
  const createNode = proto.createNode;
  proto.createNode = function (node) {
    const made = createNode.call(this, node);
    if (made && !made.isAttachment && /^text\//i.test(made.contentType ?? 'text/plain')) made.charset = TAG + (made.charset ?? '');
    return made;
  };
  const getDecoder = proto.getDecoder;
  proto.getDecoder = function () {
    const own = getDecoder.call(this);
    return {
      decodeStream(charset: string) {
        if (!charset.startsWith(TAG)) return own.decodeStream(charset);
        const declared = charset.slice(TAG.length) || null;
        const chunks: Buffer[] = [];
        return new Transform({
          transform(chunk: Buffer, _enc, done) {
            chunks.push(chunk);
            done();
          },
          flush(done) {
            this.push(bodyToUtf8(Buffer.concat(chunks), declared));
            done();
          },
        });
      },
    };
  };
  return mod.simpleParser;
}

/** HTML-only mail as text: entities decoded, links as "text [url]", no tags, CSS or script. */
async function htmlText(html: string): Promise<string> {
  convertHtml ??= (await import('html-to-text')).convert;
  const heading = { options: { uppercase: false } };
  return convertHtml(flattenDeepHtml(html.length > MAX_HTML ? html.slice(0, MAX_HTML) : html), {
    wordwrap: false,
    formatters: {
      cidImage(elem, _walk, builder) {
        const src = typeof elem.attribs?.src === 'string' ? elem.attribs.src.trim() : '';
        const cid = /^cid:([^\s\[\]<>]{1,255})$/i.exec(src)?.[1];
        if (!cid) return;
        // RFC 2392: the URL form of a Content-ID is %-encoded.
        let id = cid;
        try {
          id = decodeURIComponent(cid);
        } catch {}
        builder.addInline(`[cid:${id}]`);
      },
    },
    limits: { maxInputLength: MAX_HTML, maxDepth: 4 * MAX_HTML_DEPTH },
    selectors: [
      { selector: 'a', options: { hideLinkHrefIfSameAsText: true, linkBrackets: ['[', ']'] } },
      // An image of the message itself (cid:) stays where it was, as Outlook's text part writes it:
      // "[cid:…]"; the ticket page shows the stored image there. Other images are dropped.
      { selector: 'img', format: 'cidImage' },
      ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, ...heading })),
      // Tables (mostly layout in mail): a line a cell.
      ...['table', 'tr', 'td', 'th'].map((selector) => ({ selector, format: 'block', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } })),
    ],
  });
}

/** Line ends as \n, no NUL, at most `max` characters. */
function clipTo(t: string, max: number): string {
  let s = t.length > max * 4 ? t.slice(0, max * 4) : t;
  s = s.replace(/\r\n?/g, '\n').replace(/\u0000/g, '');
  return s.length > max ? s.slice(0, max) : s;
}

export type Task =
  | {
      kind: 'parse';
      bytes: Uint8Array;
      /** The headers sent back (lower-case names). */
      headers: string[];
      /** Text kept at most (characters). */
      maxText: number;
    }
  | { kind: 'trim'; input: string };

/** Files of one message at most (its forwarded messages' included). */
const MAX_FILES = 100;
/** Forwarded messages (message/rfc822) opened at most, and how deep inside each other. */
const MAX_FORWARDS = 10;
const MAX_FORWARD_DEPTH = 3;
/** The whole text kept as the original, at most (characters). */
const MAX_FULL_TEXT = 1024 * 1024;

const PARSER_OPTIONS = {
  skipImageLinks: true,
  // HTML-only mail is converted below, with html-to-text's options of Caseboard's choosing.
  skipHtmlToText: true,
  maxHtmlLengthToParse: 2 * 1024 * 1024,
} as const;

type Parsed = Awaited<ReturnType<NonNullable<typeof simpleParser>>>;

/** A file as it goes back to the main thread. */
export interface DecodedFile {
  filename?: string | undefined;
  contentType: string;
  /** The Content-ID without angle brackets (inline images of the HTML refer to it as cid:…). */
  contentId: string | null;
  /** Shown within the message (an image of multipart/related, or an inline image). */
  inline: boolean;
  /** Inside a forwarded message (kept beside the forward's .eml, which holds it too). */
  nested: boolean;
  content: Uint8Array;
}

/** A forwarded message's own text, as it goes back. */
export interface DecodedForward {
  subject: string;
  from: string;
  date: string | null;
  text: string;
}

/** The plain text of a parsed message: its text part, or its HTML converted. */
async function textOf(mail: Parsed, clipText: (t: string) => string): Promise<string | undefined> {
  let text = typeof mail.text === 'string' ? clipText(mail.text) : undefined;
  if ((!text || !text.trim()) && typeof mail.html === 'string' && mail.html) text = clipText(await htmlText(mail.html));
  return text;
}

/**
 * Every file of the message, and those of the messages forwarded in it (message/rfc822 parts,
 * opened up to MAX_FORWARD_DEPTH deep): each forward is kept as a file (.eml, the original) and
 * its text, sender, date and subject are given back, so that the entry shows what was forwarded.
 */
async function collectFiles(mail: Parsed, depth: number, files: DecodedFile[], forwards: DecodedForward[], clipText: (t: string) => string, left: { out: number }) {
  for (const a of mail.attachments) {
    if (files.length >= MAX_FILES) {
      left.out++;
      continue;
    }
    const type = (a.contentType || 'application/octet-stream').toLowerCase();
    const isMessage = type === 'message/rfc822';
    files.push({
      filename: a.filename || (isMessage ? 'forwarded message.eml' : undefined),
      contentType: type,
      contentId: a.cid ?? null,
      inline: Boolean(a.related) || (a.contentDisposition === 'inline' && type.startsWith('image/')),
      nested: depth > 0,
      content: a.content,
    });
    if (!isMessage || depth >= MAX_FORWARD_DEPTH || forwards.length >= MAX_FORWARDS) continue;
    const inner = await simpleParser!(a.content, PARSER_OPTIONS);
    forwards.push({
      subject: inner.subject ?? '',
      from: inner.from?.text ?? '',
      date: inner.date instanceof Date && !Number.isNaN(inner.date.getTime()) ? inner.date.toISOString() : null,
      text: (await textOf(inner, clipText)) ?? '',
    });
    await collectFiles(inner, depth + 1, files, forwards, clipText, left);
  }
}

async function parse({ bytes, headers: wanted, maxText }: Extract<Task, { kind: 'parse' }>) {
  simpleParser ??= await loadParser();
  const mail = await simpleParser(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), PARSER_OPTIONS);
  const keep = new Set(wanted);
  const headers = new Map<string, unknown>();
  for (const [k, v] of mail.headers) if (keep.has(k)) headers.set(k, v);
  // Text past this is never looked at (the body keeps 20,000 characters, the trimmer 64 KB).
  const clipText = (t: string) => clipTo(t, maxText);
  // HTML-only mail (with or without attachments): its text is the HTML converted.
  const clipFull = (t: string) => clipTo(t, MAX_FULL_TEXT);
  const fullText = await textOf(mail, clipFull);
  const text = fullText === undefined ? undefined : clipText(fullText);
  const files: DecodedFile[] = [];
  const forwarded: DecodedForward[] = [];
  const left = { out: 0 };
  await collectFiles(mail, 0, files, forwarded, clipText, left);
  return {
    from: mail.from,
    subject: mail.subject,
    text,
    html: false as const,
    messageId: mail.messageId,
    inReplyTo: mail.inReplyTo,
    references: mail.references,
    headers,
    // Authentication-Results fields as they were, top (the last hop, our own server) first.
    authenticationResults: mail.headerLines
      .filter((l) => l.key === 'authentication-results')
      .slice(0, 50)
      .map((l) => l.line.slice(0, 16384)),
    attachments: mail.attachments.slice(0, 1000).map((a) => ({ filename: a.filename, contentType: a.contentType })),
    files,
    filesLeftOut: left.out,
    forwarded,
    fullText,
  };
}

/**
 * The visible text of a reply, or null when email-reply-parser gives up. Quotes of other clients
 * and languages, and a leading (bottom-posted) quote, are cut first (src/mail/quotes.ts).
 */
function trim(input: string): string | null {
  replyParser ??= createRequire(import.meta.url)('email-reply-parser') as ReplyParser;
  try {
    return new replyParser().parseReply(cutQuotes(input));
  } catch {
    return null;
  }
}

export default function run(task: Task): unknown {
  return task.kind === 'trim' ? trim(task.input) : parse(task);
}
