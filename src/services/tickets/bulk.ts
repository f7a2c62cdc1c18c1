// Bulk actions from the queue: the same change to several tickets at once. Each ticket goes
// through the very service function of the single change (assignTicket, changeUrgency,
// changeStatus, resolveTicket), in its own transaction, with the version the queue showed it at:
// the per-field conflict rules (stale.ts) and every rule of the single change apply, and each
// ticket gets its own history rows. One ticket refused does not stop the others; the result says
// which were skipped and why. Input that is wrong for all of them (too many tickets, an owner who
// cannot be given tickets, an original that does not exist) is refused before anything changes.
import type { TicketStatus, Urgency } from '../../domain/enums.js';
import { normalizeReference } from '../../domain/reference.js';
import type { Ticket } from '../../generated/prisma/client.js';
import type { ServiceContext } from '../context.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { assertCan, type Permission } from '../policy.js';
import { assignTicket } from './assign-ticket.js';
import { changeStatus } from './change-status.js';
import { changeUrgency } from './change-urgency.js';
import { resolveTicket } from './resolve-ticket.js';
import { findActiveUser } from './rules.js';
import { findTeamOrThrow } from '../teams/teams.js';
import { moveTicketToTeam } from './move-team.js';
import { applyMacro, getMacro } from '../automation/macros.js';

/** The most tickets one request changes (the queue shows 50 a page). */
export const BULK_LIMIT = 100;

/** A ticket as the queue showed it: its reference and the version it had then. */
export interface BulkItem {
  reference: string;
  version: number;
}

export type BulkAction =
  | { kind: 'assign'; assignee: 'me' | 'nobody' | number }
  | { kind: 'urgency'; urgency: Urgency }
  | { kind: 'status'; status: TicketStatus }
  | { kind: 'duplicate'; original: string; note?: string | null }
  | { kind: 'team'; teamId: number }
  /** A macro (services/automation/macros.ts) the user may apply. */
  | { kind: 'macro'; macroId: number };

export interface BulkSkip {
  reference: string;
  /** Why, for people: "changed meanwhile by Ann Lee", "not allowed: …", "no such ticket". */
  reason: string;
}

export interface BulkResult {
  changed: string[];
  /** Already as asked: nothing to change. */
  unchanged: string[];
  skipped: BulkSkip[];
}

const PERMISSION: Record<BulkAction['kind'], Permission> = {
  assign: 'ticket.assign',
  urgency: 'ticket.update',
  status: 'ticket.update',
  duplicate: 'ticket.resolve',
  team: 'ticket.update',
  macro: 'ticket.update',
};

/** The checks that hold for every ticket alike, before any is changed. */
async function prepare(ctx: ServiceContext, items: readonly BulkItem[], action: BulkAction) {
  assertCan(ctx.actor, PERMISSION[action.kind]);
  if (items.length === 0) throw new ValidationError('Select at least one ticket.', { tickets: 'Select at least one ticket.' });
  const seen = new Set<string>();
  const unique: BulkItem[] = [];
  for (const item of items) {
    const reference = normalizeReference(item.reference);
    if (!reference || !Number.isInteger(item.version) || item.version < 1 || item.version > 2_147_483_647) {
      throw new ValidationError('A selected ticket is not valid: reload the queue.', { tickets: 'Reload the queue and select again.' });
    }
    if (!seen.has(reference)) unique.push({ reference, version: item.version });
    seen.add(reference);
  }
  if (unique.length > BULK_LIMIT) {
    throw new ValidationError(`Select at most ${BULK_LIMIT} tickets at a time.`, { tickets: `At most ${BULK_LIMIT}.` });
  }
  let run: (item: BulkItem) => Promise<Ticket>;
  switch (action.kind) {
    case 'assign': {
      const assigneeId = action.assignee === 'nobody' ? null : action.assignee === 'me' ? ctx.actor.id : action.assignee;
      // A person who cannot be given tickets at all is refused once, for all of them; one who is
      // not in a ticket's team skips that ticket, with the reason (assignTicket checks it).
      if (assigneeId !== null) await findActiveUser(ctx.db, assigneeId);
      run = (item) => assignTicket(ctx, item, assigneeId);
      break;
    }
    case 'urgency':
      run = (item) => changeUrgency(ctx, item, action.urgency);
      break;
    case 'status':
      if (action.status === 'RESOLVED') {
        throw new ValidationError('Resolving needs a reason: use "Close as duplicate", or resolve each ticket on its page.', {
          status: 'Not in bulk.',
        });
      }
      run = (item) => changeStatus(ctx, item, action.status);
      break;
    case 'team': {
      const team = await findTeamOrThrow(ctx.db, action.teamId);
      run = (item) => moveTicketToTeam(ctx, item, team.id);
      break;
    }
    case 'macro': {
      // A macro the user cannot see is refused once, for all of them.
      const { macro } = await getMacro(ctx, action.macroId);
      run = (item) => applyMacro(ctx, item, macro.id);
      break;
    }
    case 'duplicate': {
      const typed = action.original.trim();
      const reference = normalizeReference(typed);
      const original = reference ? await ctx.db.ticket.findUnique({ where: { reference }, select: { reference: true } }) : null;
      if (!original) {
        throw new ValidationError(typed ? `No ticket has the reference ${typed}.` : 'Enter the reference of the original ticket.', {
          original: 'Enter the reference of the original ticket, e.g. CB-7K2M9QX.',
        });
      }
      const note = action.note?.trim() || `Duplicate of ${original.reference}.`;
      run = (item) => resolveTicket(ctx, item, { code: 'DUPLICATE', note, duplicateOf: original.reference });
      break;
    }
  }
  return { items: unique, run };
}

/** Who changed the ticket after the queue showed it (the latest change since), for the reason. */
async function changedBy(ctx: ServiceContext, item: BulkItem): Promise<string | null> {
  const [row] = await ctx.db.$queryRaw<{ name: string | null }[]>`
    SELECT coalesce(u.name, c.name, 'Rule: ' || r.name, h."actorSystem") AS name FROM "Ticket" t
      JOIN "TicketHistory" h ON h."ticketId" = t.id AND h."ticketVersion" > ${item.version}::int
      LEFT JOIN "User" u ON u.id = h."actorId" LEFT JOIN "Customer" c ON c.id = h."actorCustomerId"
      LEFT JOIN "AutomationRule" r ON r.id = h."actorRuleId"
     WHERE t.reference = ${item.reference}
     ORDER BY h."ticketVersion" DESC, h.id DESC LIMIT 1`;
  return row?.name ?? null;
}

/**
 * Apply one action to each selected ticket, one transaction each, in the order given. Refused
 * as a whole (ValidationError, nothing changed) when the input is wrong for all of them.
 */
export async function bulkChange(ctx: ServiceContext, items: readonly BulkItem[], action: BulkAction): Promise<BulkResult> {
  const { items: unique, run } = await prepare(ctx, items, action);
  const result: BulkResult = { changed: [], unchanged: [], skipped: [] };
  for (const item of unique) {
    const started = Date.now();
    try {
      const after = await run(item);
      // The services return the ticket as it was when there was nothing to change.
      if (after.updatedAt.getTime() >= started) {
        result.changed.push(item.reference);
        await markOwnChangeSeen(ctx, after);
      } else {
        result.unchanged.push(item.reference);
      }
    } catch (err) {
      if (err instanceof ConflictError) {
        const who = await changedBy(ctx, item);
        result.skipped.push({ reference: item.reference, reason: who ? `changed meanwhile by ${who}` : 'changed meanwhile' });
      } else if (err instanceof ValidationError) {
        result.skipped.push({ reference: item.reference, reason: `not allowed: ${err.message}` });
      } else if (err instanceof NotFoundError) {
        result.skipped.push({ reference: item.reference, reason: 'no such ticket' });
      } else {
        throw err;
      }
    }
  }
  return result;
}

/**
 * The user's own change is not news to them: when they had seen the version just before it, the
 * queue's "updated since you last looked" mark stays off (the single change lands on the ticket
 * page, which records the visit anyway).
 */
async function markOwnChangeSeen(ctx: ServiceContext, ticket: Ticket): Promise<void> {
  await ctx.db.$executeRaw`UPDATE "TicketView" SET "seenVersion" = ${ticket.version}::int
     WHERE "userId" = ${ctx.actor.id}::int AND "ticketId" = ${ticket.id}::int AND "seenVersion" = ${ticket.version - 1}::int`;
}
