import type { Tx } from '../../db/client.js';
import type { Ticket } from '../../generated/prisma/client.js';
import { historyActorColumns, type HistoryActor } from '../context.js';
import { ConflictError } from '../errors.js';
import { notifyTicketChanged } from '../notifications/notify.js';
import { mergeStale } from './stale.js';
import { awaitingAfterStatus } from './awaiting.js';
import { recordTicketEvent } from './events.js';

/** Ticket fields whose every change is written to the history. */
export const TRACKED_FIELDS = [
  'title',
  'description',
  'channel',
  'environment',
  'occurrence',
  'workaround',
  'urgency',
  'status',
  'assigneeId',
  'resolutionCode',
  'resolutionNote',
  'internalResolutionNote',
  'duplicateOfId',
  'resolutionArticleId',
  'customerId',
  'teamId',
  'tags',
] as const;
export type TrackedField = (typeof TRACKED_FIELDS)[number];
export type TicketPatch = Partial<Pick<Ticket, TrackedField>>;

/** Fields that hold a reference: history keeps the id and a readable value beside it. */
const REFERENCE_FIELDS = new Set<TrackedField>(['assigneeId', 'duplicateOfId', 'resolutionArticleId', 'customerId', 'teamId']);

function show(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.join(', ');
  return value instanceof Date ? value.toISOString() : String(value);
}

async function referenceLabels(tx: Tx, field: TrackedField, ids: number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  if (field === 'assigneeId') {
    const users = await tx.user.findMany({ where: { id: { in: ids } }, select: { id: true, name: true } });
    return new Map(users.map((u) => [u.id, u.name]));
  }
  if (field === 'resolutionArticleId') {
    const articles = await tx.article.findMany({ where: { id: { in: ids } }, select: { id: true, title: true } });
    return new Map(articles.map((a) => [a.id, a.title]));
  }
  if (field === 'teamId') {
    const teams = await tx.team.findMany({ where: { id: { in: ids } }, select: { id: true, name: true } });
    return new Map(teams.map((t) => [t.id, t.name]));
  }
  if (field === 'customerId') {
    const customers = await tx.customer.findMany({ where: { id: { in: ids } }, select: { id: true, name: true } });
    return new Map(customers.map((c) => [c.id, c.name]));
  }
  const tickets = await tx.ticket.findMany({ where: { id: { in: ids } }, select: { id: true, reference: true } });
  return new Map(tickets.map((t) => [t.id, t.reference]));
}

/**
 * The only way a ticket changes: applies `patch` if the ticket is still at `ticket.version`,
 * bumps the version, and writes one history row per changed field, all in the caller's
 * transaction. A concurrent change in between makes the UPDATE match nothing: ConflictError.
 * The people concerned are notified in that transaction too (services/notifications/notify.ts).
 * `extra` holds untracked bookkeeping columns (e.g. resolvedAt) that go with the change.
 */
export async function changeTicket(
  tx: Tx,
  actor: HistoryActor,
  ticket: Ticket,
  patch: TicketPatch,
  extra: Partial<Pick<Ticket, 'resolvedAt'>> = {},
): Promise<Ticket> {
  // From a stale form: only what the user changed, unless a colleague changed it too (stale.ts).
  patch = mergeStale(ticket, patch);
  const changed = TRACKED_FIELDS.filter((f) => f in patch && show(patch[f]) !== show(ticket[f]));
  if (changed.length === 0) return ticket;

  const version = ticket.version + 1;
  const updatedAt = new Date();
  // "Waiting for us since" follows the status (awaiting.ts); derived, so no history row of its own.
  const awaitingSince = patch.status ? awaitingAfterStatus(ticket, patch.status, updatedAt) : undefined;
  const derived = awaitingSince === undefined ? {} : { awaitingSince };
  const { count } = await tx.ticket.updateMany({
    where: { id: ticket.id, version: ticket.version },
    data: { ...patch, ...extra, ...derived, version, updatedAt },
  });
  if (count === 0) {
    throw new ConflictError(`Ticket ${ticket.reference} was changed by someone else meanwhile.`);
  }

  const rows = [];
  for (const field of changed) {
    const before = ticket[field];
    const after = patch[field];
    if (REFERENCE_FIELDS.has(field)) {
      const ids = [before, after].filter((v): v is number => typeof v === 'number');
      const labels = await referenceLabels(tx, field, ids);
      rows.push({
        field,
        oldRefId: before as number | null,
        newRefId: (after ?? null) as number | null,
        oldValue: typeof before === 'number' ? (labels.get(before) ?? null) : null,
        newValue: typeof after === 'number' ? (labels.get(after) ?? null) : null,
      });
    } else {
      rows.push({ field, oldValue: show(before), newValue: show(after) });
    }
  }
  await tx.ticketHistory.createMany({
    data: rows.map((r) => ({
      ...r,
      action: 'CHANGED' as const,
      ticketId: ticket.id,
      ...historyActorColumns(actor),
      ticketVersion: version,
      createdAt: updatedAt,
    })),
  });
  const after = { ...ticket, ...patch, ...extra, ...derived, version, updatedAt };
  // Who is told (the new owner, the followers), in this same transaction.
  await notifyTicketChanged(tx, actor, ticket, after, rows);
  // Rules and the SLA clock act on it before the transaction commits (events.ts).
  recordTicketEvent(tx, { kind: 'changed', ticketId: ticket.id, actor, fields: changed, before: ticket, after });
  return after;
}
