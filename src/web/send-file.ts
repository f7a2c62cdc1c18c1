// How a stored file is served, whoever may read it (the service decided that): never in a way
// that lets its bytes act as a page of Caseboard's origin.
// - Only known-safe types are shown inline: PNG, JPEG, GIF, WebP images, PDF and plain text (all
//   detected from the bytes when stored). Everything else, HTML and SVG above all, is a download:
//   Content-Disposition: attachment, typed application/octet-stream.
// - X-Content-Type-Options: nosniff, so that no browser second-guesses the type.
// - A Content-Security-Policy that allows nothing (no script, no frames, no forms, no requests),
//   and `sandbox` (a unique origin, no script) for everything but PDF, which Chromium's viewer will
//   not show in a sandbox; a PDF gets no script or requests either, only its viewer (object-src).
// - Revalidated on every view (no-cache with the SHA-256 as its ETag): a redacted or no longer
//   permitted file is not served from a cache. Customers' private links ask for no-store instead
//   (opts.cacheControl): like their pages, their files are kept by no cache at all.
import { create as contentDisposition } from 'content-disposition';
import type { Request, Response } from 'express';
import { INLINE_TYPES, textCharset } from '../services/attachments/files.js';
import type { FileDownload } from '../services/attachments/read.js';

const LOCKED = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'self'; base-uri 'none'";

/** The SHA-256 of the copy the browser holds (its If-None-Match, our ETag), for the read services. */
export function heldCopy(req: Request): string | null {
  return /^"([0-9a-f]{64})"$/.exec(req.headers['if-none-match'] ?? '')?.[1] ?? null;
}

export function sendFile(req: Request, res: Response, file: FileDownload, opts: { cacheControl?: string } = {}): void {
  const inline = INLINE_TYPES.has(file.mediaType) && req.query.download === undefined;
  const etag = `"${file.sha256}"`;
  if (file.bytes === null || req.headers['if-none-match'] === etag) {
    // The browser's copy is current (the read service found it so and read no bytes).
    res.set({ 'Cache-Control': opts.cacheControl ?? 'private, no-cache', ETag: etag, 'X-Content-Type-Options': 'nosniff' });
    res.status(304).end();
    return;
  }
  res.set({
    'Content-Type': !inline ? 'application/octet-stream' : file.mediaType === 'text/plain' ? `text/plain; charset=${textCharset(file.bytes)}` : file.mediaType,
    'Content-Disposition': contentDisposition(file.fileName, { type: inline ? 'inline' : 'attachment' }),
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': file.mediaType === 'application/pdf' && inline ? `${LOCKED}; object-src 'self'` : `${LOCKED}; sandbox`,
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': opts.cacheControl ?? 'private, no-cache',
    ETag: etag,
  });
  res.status(200).end(file.bytes);
}
