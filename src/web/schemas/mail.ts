import { z } from 'zod';
import { requiredText } from './common.js';

/** Attach a quarantined message to a ticket: its reference, typed loosely (the service normalizes it). */
export const AttachForm = z.object({
  reference: requiredText('The ticket reference', 40),
});

/** The quarantine list's URL: the page to continue from, and the message just discarded (for the notice). */
export const QuarantineQuery = z.object({
  after: z
    .string()
    .regex(/^\d{1,15}\.\d{1,9}$/, 'That page link is not valid.')
    .optional()
    .transform((s) => (s ? decodeCursor(s) : undefined)),
  discarded: z.coerce.number().int().min(1).max(2_147_483_647).optional(),
});

/** A page link's cursor: the last row's receipt time (epoch ms) and id. */
export function encodeCursor(c: { receivedAt: Date; id: number }): string {
  return `${c.receivedAt.getTime()}.${c.id}`;
}

function decodeCursor(s: string): { receivedAt: Date; id: number } {
  const [ms, id] = s.split('.');
  return { receivedAt: new Date(Number(ms)), id: Number(id) };
}
