// Files for tests: a real image (file-type detects it) and the hash the store keys bytes by.
import { createHash } from 'node:crypto';

/** A 1×1 PNG. */
export const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');

/** Lower-case hex SHA-256, as FileContent and Attachment store it. */
export const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Small attachment limits (the app's settings), so that tests pass them with little data. */
export const SMALL_LIMITS = { ATTACHMENT_MAX_FILE_BYTES: String(64 * 1024), ATTACHMENT_MAX_TOTAL_BYTES: String(96 * 1024), ATTACHMENT_MAX_FILES: '3' };
