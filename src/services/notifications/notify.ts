// Who is told of a change, in one place, inside the change's own transaction (a rolled-back
// change tells nobody). Called by changeTicket (every field change), appendWorkLog (every entry)
// and the ticket's creation; teams call notifyUsers with TEAM_ASSIGNED and their members.
//
// - Never the person who acted; never deactivated staff.
// - One notification per person per change: a transaction that changes the ticket and adds an
//   entry (a customer's reply that reopens it) tells each person once, with the most important
//   kind it meant for them (the enum's order) and both summaries. The transaction id is the key.
// - Whether it is mailed is decided here too (the person's preference for the final kind); the
//   mail itself is a digest job queued by a trigger (see digest.ts).
import type { Tx } from '../../db/client.js';
import { FIELD_LABEL, LONG_FIELDS } from '../../domain/ticket-fields.js';
import {
  CHANNEL_LABEL,
  RESOLUTION_LABEL,
  STATUS_LABEL,
  URGENCY_LABEL,
  type Channel,
  type NotificationKind,
  type ResolutionCode,
  type TicketStatus,
  type Urgency,
  type WorkLogKind,
} from '../../domain/enums.js';
import type { Ticket } from '../../generated/prisma/client.js';
import { notificationsChanged } from './inbox.js';
import { historyActorColumns, isCustomerActor, type AnyActor, type HistoryActor } from '../context.js';
import { resolveMentions } from './mentions.js';
import { EMAIL_DEFAULTS } from './preferences.js';

/** Longest summary kept (the column's size). */
export const SUMMARY_MAX = 300;
const EXCERPT_MAX = 140;

export interface Notice {
  kind: NotificationKind;
  /** What happened, without its subject (the actor's name is kept beside it): "changed status: Open → Resolved". */
  summary: string;
  /** The entry the notice links to (#entry-N); without one it links to the history. */
  workLogEntryId?: number | null;
  ticketVersion?: number | null;
}

/**
 * One statement: the recipients (the given ids, and with `followers` the ticket's followers;
 * active, not the actor), their notifications, merged with one this transaction already wrote
 * them about the ticket, and whether each is to be mailed (their preference for the kind that
 * wins, or its default).
 */
const NOTIFY = `
WITH targets AS (
  SELECT u.id FROM "User" u
  WHERE u.id IN (SELECT unnest($1::int[]) UNION SELECT f."userId" FROM "TicketFollower" f WHERE f."ticketId" = $2::int AND $3::boolean)
    AND u.active AND u.kind = 'PERSON' AND u.id <> coalesce($4::int, 0)
)
INSERT INTO "Notification" ("userId", "ticketId", kind, summary, txid, "ticketVersion", "actorId", "actorCustomerId",
                            "actorName", "workLogEntryId", "emailPending")
SELECT t.id, $2::int, $6::"NotificationKind", left($7::text, ${SUMMARY_MAX}), txid_current(), $8::int, $4::int, $5::int,
       left($9::text, 120), $10::int, coalesce(p.email, $11::boolean)
FROM targets t
LEFT JOIN "NotificationPreference" p ON p."userId" = t.id AND p.kind = $6::"NotificationKind"
ON CONFLICT ("userId", "ticketId", txid) DO UPDATE SET
  kind = least("Notification".kind, EXCLUDED.kind),
  summary = CASE WHEN EXCLUDED.kind < "Notification".kind
                 THEN left(EXCLUDED.summary || '; ' || "Notification".summary, ${SUMMARY_MAX})
                 ELSE left("Notification".summary || '; ' || EXCLUDED.summary, ${SUMMARY_MAX}) END,
  "workLogEntryId" = coalesce(EXCLUDED."workLogEntryId", "Notification"."workLogEntryId"),
  "ticketVersion" = greatest(EXCLUDED."ticketVersion", "Notification"."ticketVersion"),
  "emailPending" = CASE WHEN EXCLUDED.kind < "Notification".kind THEN EXCLUDED."emailPending"
                        ELSE "Notification"."emailPending" END`;

/**
 * Tells `userIds` (and, with `followers`, everyone following the ticket) about one change to a
 * ticket, in the caller's transaction. The actor is left out, whoever they are in the list. The
 * seam for other features: teams call it with TEAM_ASSIGNED and their members' ids.
 */
export async function notifyUsers(
  tx: Tx,
  actor: HistoryActor,
  ticketId: number,
  userIds: readonly number[],
  notice: Notice,
  opts: { followers?: boolean } = {},
): Promise<void> {
  if (userIds.length === 0 && !opts.followers) return;
  // A rule (automatic assignment) is nobody's action: named by its name, no one left out.
  const { actorId, actorCustomerId } = historyActorColumns(actor);
  await tx.$executeRawUnsafe(
    NOTIFY,
    [...new Set(userIds)],
    ticketId,
    opts.followers ?? false,
    actorId,
    actorCustomerId,
    notice.kind,
    notice.summary,
    notice.ticketVersion ?? null,
    actor.name,
    notice.workLogEntryId ?? null,
    EMAIL_DEFAULTS[notice.kind],
  );
  notificationsChanged();
}

/**
 * The seam for teams (built elsewhere): a ticket given to a team without an owner tells the
 * team's members (their ids, from the teams' code), in the caller's transaction, never the actor.
 */
export function notifyTeamAssigned(
  tx: Tx,
  actor: HistoryActor,
  ticket: Pick<Ticket, 'id' | 'version'>,
  memberIds: readonly number[],
  teamName: string,
): Promise<void> {
  return notifyUsers(tx, actor, ticket.id, memberIds, {
    kind: 'TEAM_ASSIGNED',
    summary: `gave your team ${teamName} this ticket`,
    ticketVersion: ticket.version,
  });
}

/** These staff members follow the ticket from now on (those who already do: nothing changes). */
export async function addFollowers(tx: Tx, ticketId: number, userIds: readonly number[]): Promise<void> {
  if (userIds.length === 0) return;
  await tx.$executeRaw`
    INSERT INTO "TicketFollower" ("ticketId", "userId")
    SELECT ${ticketId}::int, unnest(${[...new Set(userIds)]}::int[])
    ON CONFLICT DO NOTHING`;
}

/** A short, one-line excerpt of a text for a summary. */
export function excerpt(text: string, max = EXCERPT_MAX): string {
  const line = text.slice(0, max * 4).replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}


function shown(field: string, value: string | null): string {
  if (value === null) return '—';
  const labels: Record<string, Record<string, string>> = {
    urgency: URGENCY_LABEL as Record<Urgency, string>,
    status: STATUS_LABEL as Record<TicketStatus, string>,
    channel: CHANNEL_LABEL as Record<Channel, string>,
    resolutionCode: RESOLUTION_LABEL as Record<ResolutionCode, string>,
  };
  return excerpt(labels[field]?.[value] ?? value, 60);
}

/** One history row as words: "status: Open → Resolved", "the description". */
function changeWords(row: { field: string; oldValue: string | null; newValue: string | null }): string {
  const name = FIELD_LABEL[row.field] ?? row.field;
  if (LONG_FIELDS.has(row.field)) return `the ${name}`;
  return `${name}: ${shown(row.field, row.oldValue)} → ${shown(row.field, row.newValue)}`;
}

/**
 * After changeTicket wrote a change: a new owner is told (ASSIGNED) and follows the ticket from
 * now on; the followers are told what changed.
 */
export async function notifyTicketChanged(
  tx: Tx,
  actor: HistoryActor,
  before: Pick<Ticket, 'assigneeId'>,
  after: Pick<Ticket, 'id' | 'assigneeId' | 'version'>,
  rows: readonly { field: string; oldValue: string | null; newValue: string | null }[],
): Promise<void> {
  const version = after.version;
  const newOwner = after.assigneeId !== before.assigneeId ? after.assigneeId : null;
  if (newOwner !== null) {
    await addFollowers(tx, after.id, [newOwner]);
    await notifyUsers(tx, actor, after.id, [newOwner], { kind: 'ASSIGNED', summary: 'gave you this ticket', ticketVersion: version });
  }
  const summary = `changed ${rows.map(changeWords).join('; ')}`;
  await notifyUsers(tx, actor, after.id, [], { kind: 'FOLLOWED_CHANGE', summary, ticketVersion: version }, { followers: true });
}

const ADDED_WORDS: Record<WorkLogKind, string> = {
  NOTE: 'added a note',
  ATTEMPTED_FIX: 'logged an attempted fix',
  REPLY: 'replied to the customer',
  CUSTOMER_REPLY: 'replied',
};

/**
 * After appendWorkLog wrote an entry. The customer's reply tells the owner and the followers
 * (CUSTOMER_REPLY). A staff entry tells the followers; with `mentions` (notes and attempted fixes
 * typed by staff, not a stranger's mail quoted in a note) the people it mentions are told
 * (MENTION) and follow the ticket from now on.
 */
export async function notifyWorkLogAdded(
  tx: Tx,
  actor: HistoryActor,
  ticket: Pick<Ticket, 'id' | 'assigneeId' | 'version'>,
  entry: { id: number; kind: WorkLogKind; body: string },
  opts: { mentions?: boolean } = {},
): Promise<void> {
  const text = excerpt(entry.body);
  const summary = `${ADDED_WORDS[entry.kind]}${text ? `: ${text}` : ''}`;
  const link = { workLogEntryId: entry.id, ticketVersion: ticket.version };
  if (entry.kind === 'CUSTOMER_REPLY' || isCustomerActor(actor)) {
    const owner = ticket.assigneeId === null ? [] : [ticket.assigneeId];
    await notifyUsers(tx, actor, ticket.id, owner, { kind: 'CUSTOMER_REPLY', summary, ...link }, { followers: true });
    return;
  }
  if (opts.mentions && (entry.kind === 'NOTE' || entry.kind === 'ATTEMPTED_FIX')) {
    const self = 'id' in actor ? actor.id : null;
    const mentioned = (await resolveMentions(tx, entry.body)).filter((id) => id !== self);
    if (mentioned.length) {
      await addFollowers(tx, ticket.id, mentioned);
      await notifyUsers(tx, actor, ticket.id, mentioned, { kind: 'MENTION', summary: `mentioned you: ${text}`, ...link });
    }
  }
  await notifyUsers(tx, actor, ticket.id, [], { kind: 'FOLLOWED_CHANGE', summary, ...link }, { followers: true });
}
