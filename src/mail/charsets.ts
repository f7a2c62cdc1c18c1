// Text as the sender wrote it, from bytes in whatever charset a mail client used, declared or not.
// Used by the decoding worker (src/mail/worker.ts) for header lines and text bodies; it imports
// nothing of the app.
//
// The rule (smartDecode):
// - bytes that are valid UTF-8 stay UTF-8, unless a multi-byte charset (Shift_JIS, GBK, …) is
//   declared and the bytes are valid in it: raw UTF-8 inside =?ISO-8859-1?Q?…?= (Thunderbird),
//   or a body labelled us-ascii or windows-1252 that is really UTF-8;
// - otherwise the declared charset, when the bytes are valid in it (UTF-7 included: mailparser
//   refuses it, but Caseboard shows text escaped, so "+ADw-" is simply "<");
// - otherwise (no charset, or bytes invalid in it: "utf-8" that is really Latin-1) the charset
//   chardet detects on at most the first 64 KB (windows-1252 when it is unsure: short texts), and windows-1252 (which decodes any byte) when it
//   detects none that decodes the bytes.
import iconv from 'iconv-lite';
import chardet from 'chardet';

/** Detection reads at most this much. */
const DETECT_BYTES = 64 * 1024;

const UTF7 = /^(?:(?:cs)?unicode11)?utf7$/;
const UTF8_OR_ASCII = /^(?:utf8|usascii|ascii|ansix3\.?41968|7bit|8bit|us|iso646us|unknown8bit|xunknown|unknown)$/;
/** Charsets with one byte a character: here valid UTF-8 says more than the label. */
const SINGLE_BYTE = /^(?:iso8859\d+|latin\d|l\d|windows125\d|cp125\d|win125\d|cp1252|koi8[ru]?|koi8|cp8\d\d|ibm8\d\d|maccyrillic|macintosh|mac|tis620|iso885911)$/;

const LATIN1 = /^(?:iso88591|latin1|l1|cp819|ibm819|iso8859119871|isoir100|csisolatin1|usascii|ascii)$/;
const compact = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

const hasHighBytes = (b: Uint8Array) => {
  for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80) return true;
  return false;
};

/** The bytes decoded strictly in `charset`, or null when they are not valid in it (or it is unknown). */
function strictDecode(bytes: Uint8Array, charset: string): string | null {
  // Latin-1 as every mail client reads it: windows-1252, which has “ ” – € where ISO-8859-1 has
  // unused control codes (WHATWG's rule too; Node's TextDecoder reads ISO-8859-1 literally).
  if (LATIN1.test(compact(charset))) charset = 'windows-1252';
  if (compact(charset) === 'windows1252') {
    const text = iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'windows-1252');
    return text.includes('\uFFFD') ? null : text;
  }
  try {
    return new TextDecoder(charset, { fatal: true }).decode(bytes);
  } catch (err) {
    if (!(err instanceof RangeError)) return null; // TypeError: invalid bytes
  }
  // A charset TextDecoder does not know (e.g. cp437, utf-7): iconv-lite, when it knows it.
  if (!iconv.encodingExists(charset)) return null;
  const text = iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), charset);
  return text.includes('\uFFFD') ? null : text;
}

/** Below this confidence (of 100) chardet is guessing: short texts such as a name or a subject. */
const SURE = 50;

/**
 * Charsets to try, best first: chardet's, on at most DETECT_BYTES. When it is not sure, or Latin-1
 * ties with the best, windows-1252 first (the charset of most undeclared 8-bit mail).
 */
function detected(bytes: Uint8Array): string[] {
  const sample = bytes.length > DETECT_BYTES ? bytes.subarray(0, DETECT_BYTES) : bytes;
  let found: { name: string; confidence: number }[];
  try {
    found = chardet.analyse(sample).filter((m) => m.confidence > 0 && compact(m.name) !== 'ascii');
  } catch {
    found = [];
  }
  const best = found[0]?.confidence ?? 0;
  const latinTies = found.some((m) => m.confidence === best && (LATIN1.test(compact(m.name)) || compact(m.name) === 'windows1252'));
  const names = found.map((m) => m.name);
  return best < SURE || latinTies ? ['windows-1252', ...names] : names;
}

/** `bytes` as text, by the rule above. `declared` is the charset the message names, if any. */
export function smartDecode(bytes: Uint8Array, declared?: string | null): string {
  const name = compact((declared ?? '').replace(/\*.*$/, '')); // RFC 2231 language tag dropped
  if (!hasHighBytes(bytes)) {
    if (UTF7.test(name)) return iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'utf7');
    // 7-bit charsets (ISO-2022-JP, UTF-16 …) still need theirs; any other reads the same as ASCII.
    if (name && !UTF8_OR_ASCII.test(name) && !SINGLE_BYTE.test(name)) {
      const text = strictDecode(bytes, declared!);
      if (text !== null) return text;
    }
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  }
  const utf8 = strictDecode(bytes, 'utf-8');
  if (utf8 !== null && (!name || UTF8_OR_ASCII.test(name) || SINGLE_BYTE.test(name) || UTF7.test(name))) return utf8;
  if (name && !UTF8_OR_ASCII.test(name) && !UTF7.test(name)) {
    const text = strictDecode(bytes, declared!);
    if (text !== null) return text;
  }
  if (utf8 !== null) return utf8;
  for (const guess of detected(bytes)) {
    const text = strictDecode(bytes, guess);
    if (text !== null) return text;
  }
  // Nothing fits: windows-1252 where it can, the five bytes it leaves out read as Latin-1.
  return [...Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]
    .map((b) => (b >= 0x80 && b < 0xa0 && ![0x81, 0x8d, 0x8f, 0x90, 0x9d].includes(b) ? iconv.decode(Buffer.of(b), 'windows-1252') : String.fromCharCode(b)))
    .join('');
}

/** A header line as mailparser reads it: each character one byte ("binary"). */
const bytesOf = (binary: string) => Buffer.from(binary, 'latin1');

// An encoded word (RFC 2047), and the space between two of them (which is not part of the text).
const ENCODED_WORD = /=\?([^?\s]{1,80})\?([QqBb])\?([^?]*)\?=/g;

function wordBytes(encoding: string, text: string): Buffer {
  if (encoding.toUpperCase() === 'B') return Buffer.from(text.replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
  return bytesOf(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))));
}

/**
 * A raw header line ("binary" string, as mailparser has it) with its text made plain for
 * mailparser: each run of adjacent encoded words of one charset becomes one UTF-8 encoded word of
 * the text they stand for (decoded by smartDecode, so that a character split over two words or
 * mislabelled bytes come out right), and 8-bit bytes outside encoded words become UTF-8. An
 * ASCII line without encoded words is returned as it is (the same string).
 */
export function normalizeHeaderLine(line: string): string {
  const hasWords = line.includes('=?');
  let high = false;
  for (let i = 0; i < line.length; i++) if (line.charCodeAt(i) >= 0x80) { high = true; break; }
  if (!hasWords && !high) return line;
  let out = line;
  if (hasWords) {
    const words = [...line.matchAll(ENCODED_WORD)];
    let result = '';
    let last = 0;
    for (let i = 0; i < words.length; ) {
      const first = words[i]!;
      let text = '';
      let end = first.index;
      let j = i;
      // Words with only white space between them are one text (RFC 2047 §6.2): decoded per run of
      // one charset, so that a character split over two words comes out whole.
      while (j < words.length && (j === i || /^[ \t\r\n]*$/.test(line.slice(end, words[j]!.index)))) {
        const charset = words[j]![1]!;
        const parts: Buffer[] = [];
        while (j < words.length && (parts.length === 0 || (/^[ \t\r\n]*$/.test(line.slice(end, words[j]!.index)) && compact(words[j]![1]!) === compact(charset)))) {
          parts.push(wordBytes(words[j]![2]!, words[j]![3]!));
          end = words[j]!.index + words[j]![0].length;
          j++;
        }
        text += smartDecode(Buffer.concat(parts), charset);
      }
      result += line.slice(last, first.index) + `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
      last = end;
      i = j;
    }
    out = result + line.slice(last);
  }
  if (high) {
    // Bytes outside encoded words: decoded together (one charset for the line), ASCII kept as is.
    out = Buffer.from(smartDecode(bytesOf(out)), 'utf8').toString('latin1');
  }
  return out;
}

/**
 * A text body's bytes (transfer encoding already undone) as UTF-8 bytes, for mailparser's decode
 * stream: the whole part is read first (a message is at most INBOUND_MAX_BYTES).
 */
export function bodyToUtf8(bytes: Buffer, declared: string | null): Buffer {
  return Buffer.from(smartDecode(bytes, declared), 'utf8');
}
