// Forms filled in from an older version of a ticket. A stale form is refused only when a field it
// changes was changed by someone else meanwhile: an urgency change goes through after a colleague
// took the ticket. The details form sends every field, edited or not: a field it sends as it was
// at its version is not the user's change and is left out (withoutUntouched), so that editing the
// environment does not put back the title a colleague changed since.
//
// What the form was based on comes from the history: a field changed after the form's version
// had, at that version, the old value of its first change since (TicketHistory holds one row per
// changed field with its old value, and the reference's id for people and tickets).
import type { Tx } from '../../db/client.js';
import { FIELD_LABEL } from '../../domain/ticket-fields.js';
import type { Ticket } from '../../generated/prisma/client.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { ServiceContext } from '../context.js';
import { assertCan } from '../policy.js';
import type { TicketPatch, TrackedField } from './history.js';

/** A field's value at the form's version (refId for people, tickets, articles and customers). */
export interface BaseValue {
  value: string | null;
  refId: number | null;
}

export type ChangedSince = Map<TrackedField, BaseValue>;

/** The fields changed after `version`, each with its value at `version`. One indexed query. */
export async function changedSince(tx: Tx, ticketId: number, version: number): Promise<ChangedSince> {
  const rows = await tx.$queryRaw<{ field: TrackedField; oldValue: string | null; oldRefId: number | null }[]>`
    SELECT DISTINCT ON (field) field, "oldValue", "oldRefId"
      FROM "TicketHistory"
     WHERE "ticketId" = ${ticketId}::int AND action = 'CHANGED' AND "ticketVersion" > ${version}::int
     ORDER BY field, "ticketVersion", id`;
  return new Map(rows.map((r) => [r.field, { value: r.oldValue, refId: r.oldRefId }]));
}

/** For the "changed meanwhile" page: the fields changed after the form's version, with their values then. */
export async function getChangedSince(ctx: ServiceContext, reference: string, version: number): Promise<ChangedSince> {
  assertCan(ctx.actor, 'ticket.read');
  const ticket = await ctx.db.ticket.findUnique({ where: { reference }, select: { id: true } });
  if (!ticket) throw new NotFoundError(`No ticket has the reference ${reference}.`);
  return changedSince(ctx.db, ticket.id, version);
}

/** Whether a form's value of `field` is the one it was based on (not the user's change). */
export function isBaseValue(field: TrackedField, sent: unknown, base: BaseValue): boolean {
  return REFS.has(field) ? (sent === null || sent === undefined || sent === '' ? null : Number(sent)) === base.refId : norm(sent) === norm(base.value);
}

const BASE = Symbol('the stale form this ticket is changed from');
type Marked = Ticket & { [BASE]?: ChangedSince };

/** Marks a freshly loaded ticket as being changed from a stale form (see mutateTicket). */
export function markStale(ticket: Ticket, since: ChangedSince): void {
  Object.defineProperty(ticket, BASE, { value: since, enumerable: false });
}

const norm = (v: unknown): string | null => (v === null || v === undefined ? null : String(v).replace(/\r\n?/g, '\n').trim());
const REFS = new Set<TrackedField>(['assigneeId', 'duplicateOfId', 'resolutionArticleId', 'customerId', 'teamId']);
// The conflict message's words: the timeline's, where a form's own label reads better.
const LABEL: Partial<Record<TrackedField, string>> = { ...FIELD_LABEL, duplicateOfId: 'original ticket', environment: "customer's environment" };

/**
 * For a form that sends every field whether the user edited it or not (the details form): the
 * fields it sends as they were at its version were not the user's change, and are left out, so
 * that a colleague's change of them since stays. A current form's patch is returned as it is.
 */
export function withoutUntouched<P extends TicketPatch>(ticket: Ticket, patch: P): P {
  const since = (ticket as Marked)[BASE];
  if (!since) return patch;
  const edited: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    const base = since.get(key as TrackedField);
    if (!base || !isBaseValue(key as TrackedField, value, base)) edited[key] = value;
  }
  return edited as P;
}

/**
 * The patch a stale form may apply: a field a colleague changed meanwhile is refused (a
 * conflict, named in the error) unless the form sets it to what it is now (then it is left out).
 * Every other field is applied. A current form's patch is returned as it is.
 */
export function mergeStale(ticket: Ticket, patch: TicketPatch): TicketPatch {
  const since = (ticket as Marked)[BASE];
  if (!since) return patch;
  const merged: Record<string, unknown> = {};
  const conflicts: TrackedField[] = [];
  for (const [key, value] of Object.entries(patch)) {
    const field = key as TrackedField;
    if (!since.has(field)) merged[field] = value;
    else if (norm(value) !== norm(ticket[field])) conflicts.push(field);
  }
  if (conflicts.length) {
    const names = conflicts.map((f) => LABEL[f] ?? f);
    throw new ConflictError(`The ${names.join(', ')} of ticket ${ticket.reference} ${names.length === 1 ? 'was' : 'were'} changed by someone else meanwhile.`);
  }
  return merged as TicketPatch;
}
