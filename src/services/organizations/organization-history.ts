import type { Tx } from '../../db/client.js';
import type { Organization } from '../../generated/prisma/client.js';
import type { Actor } from '../context.js';
import { ConflictError } from '../errors.js';
import { nameKey } from './rules.js';

/** Organization fields whose every change is written to its history. */
export const ORGANIZATION_FIELDS = ['name', 'environment', 'contract', 'shareTickets'] as const;
export type OrganizationField = (typeof ORGANIZATION_FIELDS)[number];
export type OrganizationPatch = Partial<Pick<Organization, OrganizationField>>;

const show = (v: unknown) => (v === null || v === undefined ? null : String(v));

/**
 * A history row that is not a field change: a domain added or removed (field 'domain'), a
 * customer joining or leaving (field 'customer', the customer in newRefId / oldRefId).
 */
export interface OrganizationEvent {
  action: 'CREATED' | 'CHANGED' | 'LINKED' | 'UNLINKED';
  field: string;
  oldValue?: string | null;
  newValue?: string | null;
  oldRefId?: number | null;
  newRefId?: number | null;
}

/** Rows of the organizations' history, in the caller's transaction; a null actor: nobody did it (a join by domain). */
export async function recordOrganizationEvents(
  tx: Tx,
  organizationId: number,
  actorId: number | null,
  events: readonly OrganizationEvent[],
  at = new Date(),
): Promise<void> {
  if (events.length === 0) return;
  await tx.organizationHistory.createMany({
    data: events.map((e) => ({ ...e, organizationId, actorId, createdAt: at })),
  });
}

/**
 * The only way an organization record changes: applies `patch` if the record is still at
 * `org.version`, bumps the version, and writes one history row per changed field plus the given
 * events, all in the caller's transaction. A concurrent change in between makes the UPDATE match
 * nothing: ConflictError. Events alone (a domain added) bump the version too: the form they came
 * from is then out of date.
 */
export async function changeOrganization(
  tx: Tx,
  actor: Actor,
  org: Organization,
  patch: OrganizationPatch,
  events: readonly OrganizationEvent[] = [],
): Promise<Organization> {
  const changed = ORGANIZATION_FIELDS.filter((f) => f in patch && show(patch[f]) !== show(org[f]));
  if (changed.length === 0 && events.length === 0) return org;
  const values: OrganizationPatch = Object.fromEntries(changed.map((f) => [f, patch[f] ?? null]));
  const key = values.name ? { nameKey: nameKey(values.name) } : {};
  const version = org.version + 1;
  const updatedAt = new Date();
  const { count } = await tx.organization.updateMany({
    where: { id: org.id, version: org.version },
    data: { ...values, ...key, version, updatedAt },
  });
  if (count === 0) throw new ConflictError(`The record of ${org.name} was changed by someone else meanwhile.`);
  await recordOrganizationEvents(
    tx,
    org.id,
    actor.id,
    [
      ...changed.map((field) => ({ action: 'CHANGED' as const, field, oldValue: show(org[field]), newValue: show(values[field]) })),
      ...events,
    ],
    updatedAt,
  );
  return { ...org, ...values, ...key, version, updatedAt };
}
