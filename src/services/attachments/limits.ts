// How much may be attached at once: configurable (ATTACHMENT_MAX_FILE_BYTES, ATTACHMENT_MAX_TOTAL_BYTES,
// ATTACHMENT_MAX_FILES), the same for web forms, customers and inbound mail.
import { ValidationError } from '../errors.js';
import type { IncomingFile } from './files.js';

export interface AttachmentLimits {
  /** Bytes per file. */
  maxFileBytes: number;
  /** Bytes of all files of one form or message together. */
  maxTotalBytes: number;
  /** Files per form or message. */
  maxFiles: number;
}

export const DEFAULT_LIMITS: AttachmentLimits = { maxFileBytes: 20 * 1024 * 1024, maxTotalBytes: 25 * 1024 * 1024, maxFiles: 10 };

export function megabytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return mb >= 1 ? `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

type Limited = Pick<IncomingFile, 'fileName' | 'bytes' | 'inline' | 'nested'>;

/**
 * Why these files break the limits (the first rule broken), or null. What counts is what the
 * sender attached: a file inside a forwarded message is in the forward's .eml, counted already;
 * and an image shown in a mail's text (a long thread's signature logos) is no file anybody
 * attached, so it counts against the size limits but not the number of files. (Web uploads
 * are neither.)
 */
export function limitBreach(all: readonly Limited[], limits: AttachmentLimits): string | null {
  const files = all.filter((f) => !f.nested);
  const counted = files.filter((f) => !f.inline).length;
  if (counted > limits.maxFiles) return `At most ${limits.maxFiles} files can be attached at once (${counted} were sent).`;
  let total = 0;
  for (const f of files) {
    if (f.bytes.length > limits.maxFileBytes) return `${f.fileName} is too big: a file may be at most ${megabytes(limits.maxFileBytes)}.`;
    total += f.bytes.length;
  }
  if (total > limits.maxTotalBytes) return `The files are too big together: at most ${megabytes(limits.maxTotalBytes)} at once.`;
  return null;
}

/** Refuses files past the limits, and empty files (nothing to keep), before anything is written. */
export function assertWithinLimits(files: readonly Limited[], limits: AttachmentLimits): void {
  const breach = limitBreach(files, limits);
  if (breach) throw new ValidationError(breach, { files: breach });
  const empty = files.find((f) => f.bytes.length === 0);
  if (empty) throw new ValidationError(`${empty.fileName} is empty: there is nothing to attach.`, { files: `${empty.fileName} is empty.` });
}

let configured: AttachmentLimits = DEFAULT_LIMITS;
/** The limits in force (set at start from the configuration). */
export const attachmentLimits = (): AttachmentLimits => configured;
export function configureAttachmentLimits(limits: AttachmentLimits): void {
  configured = limits;
}
