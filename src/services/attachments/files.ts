// A file as it arrives (a web form's upload, a mail's attachment), before it is stored: its bytes,
// their SHA-256, the name it was given (made safe here) and the type detected from the bytes.
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { fileTypeFromBuffer } from 'file-type';

export interface IncomingFile {
  /** Made safe by safeFileName (no path, no control characters, at most 255 characters). */
  fileName: string;
  bytes: Buffer;
  /** Lower-case hex SHA-256 of the bytes (computed while streaming, or by incomingFile). */
  sha256: string;
  /** What the sender said the type is: kept for nothing but the log; the stored type is detected. */
  declaredType?: string | null;
  /** An inline mail image's Content-ID (without angle brackets), which the message's HTML refers to. */
  contentId?: string | null;
  inline?: boolean;
  /** A file inside a forwarded message (mail): its bytes are in the forward's .eml too. */
  nested?: boolean;
  /** Set by withStagedFiles (store.ts): where the bytes wait, written before the transaction. */
  stagedId?: string;
}

export const sha256Hex = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** An IncomingFile from whole bytes (mail attachments; uploads hash while streaming instead). */
export function incomingFile(fileName: string, bytes: Buffer, extra: Partial<Pick<IncomingFile, 'declaredType' | 'contentId' | 'inline' | 'nested'>> = {}): IncomingFile {
  return { fileName: safeFileName(fileName, extra.declaredType), bytes, sha256: sha256Hex(bytes), ...extra };
}

const NAME_FOR_TYPE: Record<string, string> = {
  'image/png': 'image.png',
  'image/jpeg': 'image.jpg',
  'image/gif': 'image.gif',
  'image/webp': 'image.webp',
  'application/pdf': 'document.pdf',
  'text/plain': 'text.txt',
  'text/html': 'message.html',
  'message/rfc822': 'message.eml',
};

/** Characters of a given name looked at, at most (its start and its last 32). */
const MAX_NAME_INPUT = 1024;

/**
 * The last path segment of a name given by a stranger, without control characters (CR, LF, NUL,
 * bidirectional overrides), path separators, leading dots or trailing dots and spaces, at most
 * 255 characters (an extension kept); an empty result becomes a name from the declared type.
 */
export function safeFileName(name: string | null | undefined, declaredType?: string | null): string {
  let s = name ?? '';
  // A name of a mail part may be a megabyte long: keep its start and its end (the extension) only,
  // before anything else looks at it, so that every step below is over at most ~1,000 characters.
  if (s.length > MAX_NAME_INPUT) s = `${s.slice(0, MAX_NAME_INPUT - 32)}${s.slice(-32)}`;
  s = s.normalize('NFC');
  s = s.split(/[\\/]/).pop() ?? '';
  // C0/C1 controls, DEL, and the Unicode format characters that reorder or hide text.
  s = s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '');
  s = s.replace(/["<>:|?*]/g, '_').replace(/\s+/g, ' ').trim();
  // Leading and trailing dots and spaces (a loop: /[.\s]+$/ backtracks over every inner run).
  let from = 0;
  let to = s.length;
  while (from < to && (s[from] === '.' || s[from] === ' ')) from++;
  while (to > from && (s[to - 1] === '.' || s[to - 1] === ' ')) to--;
  s = s.slice(from, to);
  if (s.length > 255) {
    const dot = s.lastIndexOf('.');
    const ext = dot > 0 && s.length - dot <= 16 ? s.slice(dot) : '';
    s = Array.from(s.slice(0, s.length - ext.length)).slice(0, 255 - ext.length).join('') + ext;
    while (s.length > 255) s = Array.from(s).slice(0, -1).join('');
  }
  if (s) return s;
  return NAME_FOR_TYPE[(declaredType ?? '').toLowerCase().split(';')[0]!.trim()] ?? 'attachment.bin';
}

/** Types served inline (shown in the page or the browser's own viewer); everything else downloads. */
export const INLINE_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf', 'text/plain']);
/** Images shown as thumbnails on the ticket page. */
export const IMAGE_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

const SNIFF_BYTES = 64 * 1024;

/**
 * The media type of the bytes, never the sender's word: file-type's signatures for binary formats;
 * text (no NUL or other control characters in its first 64 KB, in any charset) that starts like
 * markup is HTML, SVG or XML — types that must never be shown inline —, like a mail message is
 * message/rfc822, and other text is text/plain. Unknown: octet-stream.
 */
export async function detectMediaType(bytes: Buffer): Promise<string> {
  const found = await fileTypeFromBuffer(bytes.subarray(0, Math.min(bytes.length, 1024 * 1024)));
  if (found) return found.mime;
  if (bytes.length === 0) return 'application/octet-stream';
  const head = bytes.subarray(0, SNIFF_BYTES);
  if (!looksLikeText(head)) return 'application/octet-stream';
  const start = head.toString('latin1', 0, Math.min(head.length, 4096)).replace(/^\xef\xbb\xbf/, '').trimStart().toLowerCase();
  // A mail message (a forwarded .eml): header fields from its first line.
  if (/^(return-path|received|from|to|subject|date|message-id|mime-version|delivered-to|x-[a-z0-9-]+):[^\n]*\r?\n/.test(start) && /\n(from|subject|date|message-id|to):/.test(`\n${start}`)) return 'message/rfc822';
  if (/^<svg[\s>]/.test(start) || (/^<\?xml/.test(start) && start.includes('<svg'))) return 'image/svg+xml';
  if (/^<(!doctype html|html|head|body|script|iframe|div|meta|a\s|img\s|p>|table|style)/.test(start)) return 'text/html';
  if (/^<\?xml/.test(start)) return 'application/xml';
  return 'text/plain';
}

/**
 * Text, in any charset: no NUL and no control characters but tab, line ends, form feed and escape
 * in the sample (UTF-8 and the 8-bit charsets of old logs alike; UTF-16 has NULs, binary has both).
 */
function looksLikeText(sample: Buffer): boolean {
  if (sample.length === 0) return false;
  for (const b of sample) {
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) return false;
    if (b === 0x7f) return false;
  }
  return true;
}

/** The charset to serve a text file in: UTF-8 when its bytes are that, else Windows-1252 (old logs, Latin-1). */
export function textCharset(bytes: Buffer): 'utf-8' | 'windows-1252' {
  // A cut in the middle of a character at the end of the sample is not invalid UTF-8.
  let sample = bytes.subarray(0, SNIFF_BYTES);
  for (let i = 0; i < 3 && sample.length > 0 && !isUtf8(sample); i++) sample = sample.subarray(0, sample.length - 1);
  return sample.length === 0 || isUtf8(sample) ? 'utf-8' : 'windows-1252';
}
