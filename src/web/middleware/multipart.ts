// Forms with files (multipart/form-data), read with busboy as they stream in: each file's bytes
// are hashed (SHA-256) chunk by chunk and kept in memory, never in a temporary file, so that a
// refused or aborted upload leaves nothing anywhere. The fields go to req.body (the CSRF check and
// the routes read them as from any form), the files to req.files.
//
// Past a limit (src/services/attachments/limits.ts) the rest of the upload is read and dropped:
// the form's fields are kept, req.files is empty, and req.uploadError says what was too much, so
// that the route re-renders the form with the user's text and that message, having written
// nothing. All uploads in flight in this process together hold at most UPLOAD_MEMORY_BYTES; past
// that a new upload is refused the same way ("busy"), so that many large uploads at once cannot
// exhaust the process's memory; visitors who are not signed in (the customer forms) may hold at
// most half of it, so that strangers cannot keep staff from attaching files.
//
// No file is read before the form has shown a valid CSRF token: the `_csrf` field comes first in
// every form (browsers send fields in the page's order), and a file part before a good token ends
// the request with a 403 at once — a forged or stray upload is not held in memory to be refused
// after it has all arrived.
import { createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import busboy from 'busboy';
import { safeFileName, type IncomingFile } from '../../services/attachments/files.js';
import { megabytes, type AttachmentLimits } from '../../services/attachments/limits.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** Files of a multipart form (empty when none, or when uploadError says why they were dropped). */
    files?: IncomingFile[];
    /** Why the form's files were not kept (a limit), or undefined. */
    uploadError?: string;
  }
}

/** Text fields of a multipart form: as many and as long as a urlencoded form may have. */
const FIELD_LIMITS = { fields: 100, fieldSize: 200 * 1024, fieldNameSize: 100 } as const;
/** All the text of one form together, at most (what the urlencoded parser takes: 200 KB). */
const FIELD_BYTES = 200 * 1024;

export interface MultipartOptions {
  limits: () => AttachmentLimits;
  /** Bytes all uploads in flight may hold together (the process's budget). */
  memoryBytes: number;
  /** Whether the form's `_csrf` value is this request's valid token (middleware/csrf.ts). */
  verifyToken: (req: Request, token: string) => boolean;
}

/** The CSRF check's own refusal (the same 403 page as middleware/errors.ts gives any bad token). */
const forbidden = () => Object.assign(new Error('A file came before a valid CSRF token.'), { status: 403, code: 'EBADCSRFTOKEN' });

export function multipartBody(opts: MultipartOptions) {
  let inFlight = 0;
  let anonymousInFlight = 0;
  return (req: Request, res: Response, next: NextFunction) => {
    if (!req.is('multipart/form-data')) return next();
    const limits = opts.limits();
    const anonymous = !req.user;
    const budget = anonymous ? Math.floor(opts.memoryBytes / 2) : opts.memoryBytes;
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        // One byte more than allowed per file, and one file more: busboy says when a limit is passed.
        limits: { ...FIELD_LIMITS, fileSize: limits.maxFileBytes + 1, files: limits.maxFiles + 1, parts: FIELD_LIMITS.fields + limits.maxFiles + 1 },
      });
    } catch {
      return next(Object.assign(new Error('The form could not be read.'), { status: 400 }));
    }
    const body: Record<string, string | string[]> = Object.create(null);
    const files: IncomingFile[] = [];
    let held = 0;
    let error: string | undefined;
    let finished = false;
    let tokenOk = false;
    const refuse = (why: string) => {
      error ??= why;
      files.length = 0;
      release();
    };
    const release = () => {
      inFlight -= held;
      if (anonymous) anonymousInFlight -= held;
      held = 0;
    };

    let fieldBytes = 0;
    bb.on('field', (name, value, info) => {
      fieldBytes += name.length + Buffer.byteLength(value);
      if (info.nameTruncated || info.valueTruncated || fieldBytes > FIELD_BYTES) return refuse('The form sent more text than Caseboard accepts.');
      if (name === '_csrf' && !tokenOk) tokenOk = opts.verifyToken(req, value);
      const prev = body[name];
      body[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    });
    bb.on('file', (_name, stream, info) => {
      if (!tokenOk) {
        // Nothing more of this request is read into memory: 403 now (Node discards the rest).
        stream.resume();
        if (finished) return;
        finished = true;
        release();
        req.unpipe(bb);
        req.resume();
        return next(forbidden());
      }
      const hash = createHash('sha256');
      const chunks: Buffer[] = [];
      let size = 0;
      const fileName = safeFileName(info.filename, info.mimeType);
      // A request cut off in the middle of a file makes busboy destroy this stream with an error
      // ("Unexpected end of file"); the request's own handlers below deal with the cut. Without a
      // listener that error would be thrown as uncaught and take the whole process down.
      stream.on('error', () => {});
      stream.on('data', (chunk: Buffer) => {
        if (error) return;
        size += chunk.length;
        if (size > limits.maxFileBytes) return refuse(`${fileName} is too big: a file may be at most ${megabytes(limits.maxFileBytes)}.`);
        if (inFlight + chunk.length > opts.memoryBytes || (anonymous && anonymousInFlight + chunk.length > budget)) {
          return refuse('Caseboard is receiving many files at the moment: please send yours again in a minute.');
        }
        held += chunk.length;
        inFlight += chunk.length;
        if (anonymous) anonymousInFlight += chunk.length;
        if (held > limits.maxTotalBytes) return refuse(`The files are too big together: at most ${megabytes(limits.maxTotalBytes)} at once.`);
        hash.update(chunk);
        chunks.push(chunk);
      });
      stream.on('end', () => {
        // A file input left empty sends a part with no name and no bytes: nothing was attached.
        if (error || (size === 0 && !info.filename)) return;
        files.push({ fileName, bytes: Buffer.concat(chunks, size), sha256: hash.digest('hex'), declaredType: info.mimeType });
      });
    });
    bb.on('filesLimit', () => refuse(`At most ${limits.maxFiles} files can be attached at once.`));
    bb.on('fieldsLimit', () => refuse('The form sent more fields than Caseboard accepts.'));
    bb.on('partsLimit', () => refuse('The form sent more parts than Caseboard accepts.'));
    bb.on('error', () => {
      if (finished) return;
      finished = true;
      release();
      // An aborted or malformed upload: nothing of it is kept.
      next(Object.assign(new Error('The upload did not arrive whole.'), { status: 400 }));
    });
    bb.on('close', () => {
      if (finished) return;
      finished = true;
      req.body = body;
      req.files = error ? [] : files;
      req.uploadError = error;
      // The bytes now belong to the request; the budget counts them until the response ends.
      const held0 = held;
      held = 0;
      res.once('close', () => {
        inFlight -= held0;
        if (anonymous) anonymousInFlight -= held0;
      });
      next();
    });
    req.on('aborted', () => {
      if (finished) return;
      finished = true;
      release();
      bb.destroy();
    });
    req.pipe(bb);
  };
}
