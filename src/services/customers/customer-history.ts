import type { Tx } from '../../db/client.js';
import { emailSkeleton } from '../../domain/email-address.js';
import type { Customer } from '../../generated/prisma/client.js';
import type { Actor } from '../context.js';
import { ConflictError } from '../errors.js';
import { recordOrganizationEvents } from '../organizations/organization-history.js';

/**
 * Customer fields whose every change is written to the customer's history. The organization's
 * row is written as field 'organization', the names as values and the records as ref ids.
 */
export const CUSTOMER_FIELDS = ['name', 'email', 'phone', 'organizationId', 'environment', 'notes'] as const;
export type CustomerField = (typeof CUSTOMER_FIELDS)[number];
export type CustomerPatch = Partial<Pick<Customer, CustomerField>>;

/** One row of a customer's history, before its customer, actor and time are added. */
interface HistoryRow {
  action: 'CHANGED' | 'MERGED';
  field: string;
  oldValue?: string | null;
  newValue?: string | null;
  oldRefId?: number | null;
  newRefId?: number | null;
}

/** A history row that is not a field change: a merge, recorded on both records. */
export interface CustomerEvent {
  action: 'MERGED';
  field: string;
  oldValue?: string | null;
  newValue?: string | null;
  oldRefId?: number | null;
  newRefId?: number | null;
}

export interface CustomerChange {
  /** Set when the record is merged into another. */
  mergedIntoId?: number;
  events?: CustomerEvent[];
  /** One time for every row of a larger change (a merge). */
  at?: Date;
}

/**
 * The only way a customer record changes: applies `patch` (and a merge mark) if the record is
 * still at `customer.version`, bumps the version, and writes one history row per changed field
 * plus the given events, all in the caller's transaction. A concurrent change in between makes
 * the UPDATE match nothing: ConflictError. A change of organization is also written to the
 * history of both organizations (the customer left one, joined the other).
 */
export async function changeCustomer(
  tx: Tx,
  actor: Actor,
  customer: Customer,
  patch: CustomerPatch,
  change: CustomerChange = {},
): Promise<Customer> {
  const changed = CUSTOMER_FIELDS.filter((f) => f in patch && (patch[f] ?? null) !== (customer[f] ?? null));
  const events = change.events ?? [];
  if (changed.length === 0 && events.length === 0 && change.mergedIntoId === undefined) return customer;

  const values: CustomerPatch = Object.fromEntries(changed.map((f) => [f, patch[f] ?? null]));
  const version = customer.version + 1;
  const updatedAt = change.at ?? new Date();
  const merged = change.mergedIntoId === undefined ? {} : { mergedIntoId: change.mergedIntoId };
  // A new address gets its skeleton with it (look-alike addresses share one).
  const skeleton = values.email ? { emailSkeleton: emailSkeleton(values.email) } : {};
  const { count } = await tx.customer.updateMany({
    where: { id: customer.id, version: customer.version },
    data: { ...values, ...skeleton, ...merged, version, updatedAt },
  });
  if (count === 0) throw new ConflictError(`The record of ${customer.name} was changed by someone else meanwhile.`);

  const orgs = changed.includes('organizationId') ? await organizationMove(tx, actor, customer, values.organizationId ?? null, updatedAt) : [];
  await tx.customerHistory.createMany({
    data: [
      ...changed.flatMap((field): HistoryRow[] =>
        field === 'organizationId'
          ? orgs
          : [{ action: 'CHANGED', field, oldValue: (customer[field] as string | null) ?? null, newValue: (values[field] as string | null) ?? null }],
      ),
      ...events,
    ].map((row) => ({ ...row, customerId: customer.id, actorId: actor.id, createdAt: updatedAt })),
  });
  return { ...customer, ...values, ...skeleton, ...merged, version, updatedAt };
}

/**
 * The customer moves from one organization (or none) to another (or none): a row in each
 * organization's history, and the customer's own row with both names (the records as ref ids).
 */
async function organizationMove(tx: Tx, actor: Actor, customer: Customer, to: number | null, at: Date): Promise<HistoryRow[]> {
  const from = customer.organizationId;
  const ids = [from, to].filter((x): x is number => x !== null);
  const names = new Map((await tx.organization.findMany({ where: { id: { in: ids } }, select: { id: true, name: true } })).map((o) => [o.id, o.name]));
  if (from !== null) {
    await recordOrganizationEvents(tx, from, actor.id, [{ action: 'UNLINKED', field: 'customer', oldValue: customer.email, oldRefId: customer.id }], at);
  }
  if (to !== null) {
    await recordOrganizationEvents(tx, to, actor.id, [{ action: 'LINKED', field: 'customer', newValue: customer.email, newRefId: customer.id }], at);
  }
  return [
    {
      action: 'CHANGED',
      field: 'organization',
      oldValue: from === null ? null : (names.get(from) ?? null),
      newValue: to === null ? null : (names.get(to) ?? null),
      oldRefId: from,
      newRefId: to,
    },
  ];
}
