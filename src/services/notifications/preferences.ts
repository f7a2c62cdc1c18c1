// Which notifications a staff member also gets by mail (the in-app inbox always has them all).
// A person without a row for a kind has its default; saving the page writes a row per kind.
import { NOTIFICATION_KINDS, type NotificationKind } from '../../domain/enums.js';
import type { ServiceContext } from '../context.js';

/** Mail by default for what is theirs to act on; a followed ticket's every change only on request. */
export const EMAIL_DEFAULTS: Readonly<Record<NotificationKind, boolean>> = {
  ASSIGNED: true,
  TEAM_ASSIGNED: true,
  CUSTOMER_REPLY: true,
  MENTION: true,
  FOLLOWED_CHANGE: false,
  SLA_WARNING: true,
  SLA_BREACH: true,
};

export type EmailPreferences = Record<NotificationKind, boolean>;

/** The acting user's mail preference for every kind (defaults where they saved none). */
export async function getEmailPreferences(ctx: ServiceContext): Promise<EmailPreferences> {
  const rows = await ctx.db.notificationPreference.findMany({ where: { userId: ctx.actor.id } });
  const prefs = { ...EMAIL_DEFAULTS };
  for (const r of rows) prefs[r.kind] = r.email;
  return prefs;
}

/**
 * Saves the acting user's choice for every kind at once (the page sends them all): a kind left
 * out is "no mail", like an unticked box. Their own preferences only: nobody else's.
 */
export async function setEmailPreferences(ctx: ServiceContext, emailKinds: readonly NotificationKind[]): Promise<void> {
  const on = new Set(emailKinds);
  const userId = ctx.actor.id;
  await ctx.db.$transaction(
    NOTIFICATION_KINDS.map((kind) =>
      ctx.db.notificationPreference.upsert({
        where: { userId_kind: { userId, kind } },
        create: { userId, kind, email: on.has(kind) },
        update: { email: on.has(kind), updatedAt: new Date() },
      }),
    ),
  );
}
