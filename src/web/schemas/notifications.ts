import { z } from 'zod';
import { NOTIFICATION_KINDS, type NotificationKind } from '../../domain/enums.js';
import type { InboxCursor } from '../../services/notifications/inbox.js';

/** A notification's id in a URL, or null when it cannot be one (then there is no such notification). */
export const NotificationId = z.coerce.number().int().min(1).max(2_147_483_647).catch(() => null as unknown as number).nullable();

/** The inbox page's keyset cursor: `<createdAt ms>.<id>` of the last row of the page before. */
export function encodeInboxCursor(c: InboxCursor): string {
  return `${c.at}.${c.id}`;
}

export const InboxQuery = z.object({
  after: z
    .string()
    .regex(/^\d{1,15}\.\d{1,10}$/, 'That page link is not valid: start from the newest.')
    .transform((v): InboxCursor => {
      const [at, id] = v.split('.').map(Number);
      return { at: at!, id: id! };
    })
    .refine((c) => c.at <= 8.64e15 && c.id <= 2_147_483_647, 'That page link is not valid: start from the newest.')
    .optional(),
});

/** The preferences form: the kinds to mail (ticked boxes; none ticked: none sent). */
export const NotificationPreferencesForm = z.object({
  email: z
    .union([z.string(), z.array(z.string()).max(NOTIFICATION_KINDS.length * 2)])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
    .pipe(z.array(z.enum(NOTIFICATION_KINDS as [NotificationKind, ...NotificationKind[]], { error: 'Choose among the kinds listed.' }))),
});
