import { Prisma } from '../../generated/prisma/client.js';
import type { Customer } from '../../generated/prisma/client.js';
import type { Tx } from '../../db/client.js';
import type { ServiceContext } from '../context.js';
import { assertCan } from '../policy.js';
import { invalidateQueueCounts } from '../tickets/queue.js';
import { changeCustomer, type CustomerPatch } from './customer-history.js';
import {
  assertCustomerVersion,
  assertDifferentRecords,
  assertLookalikeConfirmed,
  assertNotMerged,
  customerLabel,
  findCustomerOrThrow,
} from './rules.js';
import { looksAlike } from '../../domain/email-address.js';

/** What the kept record takes from the merged one where it has nothing itself. */
export const FILLED_FIELDS = ['phone', 'organizationId', 'environment', 'notes'] as const;
type FilledField = (typeof FILLED_FIELDS)[number];

export interface MergeInput {
  /** The record that stays and gets the tickets. */
  keepId: number;
  /** The duplicate: its tickets move, and it is marked merged. */
  mergeId: number;
  keepVersion: number;
  mergeVersion: number;
  /**
   * The admin confirmed that two addresses that look alike but differ ("ann@cust.test" and
   * "ann@cust.tеst") are the same person's: without it such a merge is refused.
   */
  confirmLookalike?: boolean;
}

export interface MergeResult {
  kept: Customer;
  merged: Customer;
  ticketsMoved: number;
}

export interface MergeSide {
  customer: Customer;
  tickets: number;
  /** The organization's name. */
  organization: string | null;
}

export interface MergePreview {
  keep: MergeSide;
  merge: MergeSide | null;
  /** The kept record's empty fields the merged one would fill. */
  filled: FilledField[];
  /** The two addresses differ but look alike: the duplicate may be an impostor (the merge needs confirmLookalike). */
  lookalike: boolean;
}

const isEmpty = (v: string | number | null) => v === null || (typeof v === 'string' && v.trim() === '');

function fillFrom(keep: Customer, merge: Customer): CustomerPatch {
  const patch: CustomerPatch = {};
  for (const f of FILLED_FIELDS) if (isEmpty(keep[f]) && !isEmpty(merge[f])) Object.assign(patch, { [f]: merge[f] });
  return patch;
}

/**
 * The merge page: the record to keep, checked, and (once chosen) the duplicate beside it with
 * what the merge would do. Both are checked as the merge itself checks them.
 */
export async function prepareMerge(ctx: ServiceContext, keepId: number, mergeId?: number): Promise<MergePreview> {
  assertCan(ctx.actor, 'customer.merge');
  const db = ctx.db;
  const keep = await findCustomerOrThrow(db, keepId);
  await assertNotMerged(db, keep);
  const side = async (c: Customer): Promise<MergeSide> => ({
    customer: c,
    tickets: await db.ticket.count({ where: { customerId: c.id } }),
    organization: c.organizationId === null
      ? null
      : ((await db.organization.findUnique({ where: { id: c.organizationId }, select: { name: true } }))?.name ?? null),
  });
  if (mergeId === undefined) return { keep: await side(keep), merge: null, filled: [], lookalike: false };
  assertDifferentRecords(keepId, mergeId);
  const merge = await findCustomerOrThrow(db, mergeId);
  await assertNotMerged(db, merge);
  const [k, m] = await Promise.all([side(keep), side(merge)]);
  return { keep: k, merge: m, filled: Object.keys(fillFrom(keep, merge)) as FilledField[], lookalike: looksAlike(keep.email, merge.email) };
}

/** Both records, locked (in id order, so two merges cannot wait on each other). */
async function lockBoth(tx: Tx, keepId: number, mergeId: number): Promise<[Customer, Customer]> {
  await tx.$queryRaw`SELECT id FROM "Customer" WHERE id IN (${keepId}, ${mergeId}) ORDER BY id FOR UPDATE`;
  return [await findCustomerOrThrow(tx, keepId), await findCustomerOrThrow(tx, mergeId)];
}

/**
 * Every ticket of `from` moves to `to` in one statement, each with its version bumped and a
 * history row saying so (as changeTicket would write it): a customer may have thousands.
 */
async function moveTickets(tx: Tx, actorId: number, from: Customer, to: Customer, at: Date): Promise<number> {
  const [row] = await tx.$queryRaw<{ n: number }[]>(Prisma.sql`
    WITH moved AS (
      UPDATE "Ticket" SET "customerId" = ${to.id}, version = version + 1, "updatedAt" = ${at}
      WHERE "customerId" = ${from.id}
      RETURNING id, version
    ), logged AS (
      INSERT INTO "TicketHistory" ("ticketId", "actorId", action, field, "oldValue", "newValue", "oldRefId", "newRefId",
                                   "ticketVersion", "createdAt")
      SELECT moved.id, ${actorId}, 'CHANGED', 'customerId', ${from.name}, ${to.name}, ${from.id}, ${to.id}, moved.version, ${at}
      FROM moved
      RETURNING 1
    )
    SELECT count(*)::int AS n FROM logged`);
  return row?.n ?? 0;
}

/**
 * Merge a duplicate customer record into the one to keep, all in one transaction: its tickets
 * move (each with a history row), the kept record takes the phone, organization and notes it
 * lacks, the duplicate is marked merged, and both records' histories say so.
 */
export async function mergeCustomers(ctx: ServiceContext, input: MergeInput): Promise<MergeResult> {
  assertCan(ctx.actor, 'customer.merge');
  assertDifferentRecords(input.keepId, input.mergeId);
  const result = await ctx.db.$transaction(async (tx) => {
    const [keep, merge] = await lockBoth(tx, input.keepId, input.mergeId);
    await assertNotMerged(tx, keep);
    await assertNotMerged(tx, merge);
    assertCustomerVersion(keep, input.keepVersion);
    assertCustomerVersion(merge, input.mergeVersion);
    assertLookalikeConfirmed(keep, merge, input.confirmLookalike === true);

    const at = new Date();
    const ticketsMoved = await moveTickets(tx, ctx.actor.id, merge, keep, at);
    const refs = { oldRefId: merge.id, newRefId: keep.id, newValue: String(ticketsMoved) };
    const kept = await changeCustomer(tx, ctx.actor, keep, fillFrom(keep, merge), {
      at,
      events: [{ action: 'MERGED', field: 'mergedFrom', oldValue: customerLabel(merge), ...refs }],
    });
    const merged = await changeCustomer(tx, ctx.actor, merge, {}, {
      at,
      mergedIntoId: keep.id,
      events: [{ action: 'MERGED', field: 'mergedInto', oldValue: customerLabel(keep), ...refs }],
    });
    return { kept, merged, ticketsMoved };
  });
  invalidateQueueCounts();
  return result;
}

