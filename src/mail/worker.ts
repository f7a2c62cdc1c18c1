// The inbound-mail workers' task (src/workers/pool.ts runs it in a worker thread with a time limit
// and memory limits; see src/mail/parse.ts): decoding a message with mailparser, and trimming a
// reply's quotes with email-reply-parser. It imports nothing of the app, and each library only
// when first needed (a trimming worker never loads mailparser), for a quick cold start.
import { createRequire } from 'node:module';

type ReplyParser = new () => { parseReply(text: string): string };
let replyParser: ReplyParser | undefined;
let simpleParser: typeof import('mailparser').simpleParser | undefined;

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

async function parse({ bytes, headers: wanted, maxText }: Extract<Task, { kind: 'parse' }>) {
  simpleParser ??= (await import('mailparser')).simpleParser;
  const mail = await simpleParser(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
    skipImageLinks: true,
    maxHtmlLengthToParse: 2 * 1024 * 1024,
  });
  const keep = new Set(wanted);
  const headers = new Map<string, unknown>();
  for (const [k, v] of mail.headers) if (keep.has(k)) headers.set(k, v);
  // Text past this is never looked at (the body keeps 20,000 characters, the trimmer 64 KB).
  const clipText = (t: string) => {
    let s = t.length > maxText * 4 ? t.slice(0, maxText * 4) : t;
    s = s.replace(/\r\n?/g, '\n').replace(/\u0000/g, '');
    return s.length > maxText ? s.slice(0, maxText) : s;
  };
  const text = typeof mail.text === 'string' ? clipText(mail.text) : undefined;
  return {
    from: mail.from,
    subject: mail.subject,
    text,
    // Only used when there is no text (HTML-only mail), and cut to 1 MB there as well.
    html: !text || !text.trim() ? (typeof mail.html === 'string' ? mail.html.slice(0, 1024 * 1024) : false) : false,
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
  };
}

/** The visible text of a reply, or null when email-reply-parser gives up. */
function trim(input: string): string | null {
  replyParser ??= createRequire(import.meta.url)('email-reply-parser') as ReplyParser;
  try {
    return new replyParser().parseReply(input);
  } catch {
    return null;
  }
}

export default function run(task: Task): unknown {
  return task.kind === 'trim' ? trim(task.input) : parse(task);
}
