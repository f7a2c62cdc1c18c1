import type { Organization } from '../../generated/prisma/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { ServiceContext } from '../context.js';
import { invalidateOrganizationNames } from './read-organizations.js';
import { ValidationError } from '../errors.js';
import { assertCan } from '../policy.js';
import { changeOrganization, recordOrganizationEvents, type OrganizationEvent } from './organization-history.js';
import {
  assertDomainsFree,
  assertNameFree,
  assertOrganizationVersion,
  findOrganizationOrThrow,
  nameKey,
  normalizeOrganization,
  type OrganizationEdit,
} from './rules.js';

export type { OrganizationEdit } from './rules.js';

/**
 * A unique index refused the write: another request took the name or a domain between the check
 * and the write. Said the way the checks say it (they run again, now seeing the other's row).
 */
async function explainUniqueViolation(ctx: ServiceContext, name: string, domains: readonly string[], id: number | null): Promise<ValidationError> {
  try {
    await assertNameFree(ctx.db, name, id);
    await assertDomainsFree(ctx.db, domains, id);
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  return new ValidationError('Another organization took this name or a domain meanwhile: check them and save again.');
}

/** Add an organization with its domains (admins). Its creation and each domain are history rows. */
export async function createOrganization(ctx: ServiceContext, edit: OrganizationEdit): Promise<Organization> {
  assertCan(ctx.actor, 'organization.manage');
  const o = normalizeOrganization(edit);
  try {
    return await ctx.db.$transaction(async (tx) => {
      await assertNameFree(tx, o.name, null);
      await assertDomainsFree(tx, o.domains, null);
      const org = await tx.organization.create({
        data: {
          name: o.name,
          nameKey: nameKey(o.name),
          environment: o.environment,
          contract: o.contract,
          shareTickets: o.shareTickets,
          domains: { create: o.domains.map((domain) => ({ domain })) },
        },
      });
      await recordOrganizationEvents(
        tx,
        org.id,
        ctx.actor.id,
        [
          { action: 'CREATED', field: 'name', newValue: org.name },
          ...o.domains.map((d): OrganizationEvent => ({ action: 'LINKED', field: 'domain', newValue: d })),
          ...(o.shareTickets ? [{ action: 'CHANGED' as const, field: 'shareTickets', oldValue: 'false', newValue: 'true' }] : []),
        ],
        org.createdAt,
      );
      return org;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw await explainUniqueViolation(ctx, o.name, o.domains, null);
    throw err;
  } finally {
    invalidateOrganizationNames(); // the forms' suggestions (other instances: the table's notice)
  }
}

/**
 * Edit an organization (admins): its name, notes, ticket sharing and domains. One history row per
 * changed field and per domain added or removed; a stale form is refused. Customers already in the
 * records stay where they are: domains decide only for customers added from now on.
 */
export async function updateOrganization(ctx: ServiceContext, id: number, version: number, edit: OrganizationEdit): Promise<Organization> {
  assertCan(ctx.actor, 'organization.manage');
  const o = normalizeOrganization(edit);
  try {
    return await ctx.db.$transaction(async (tx) => {
      const org = await findOrganizationOrThrow(tx, id);
      assertOrganizationVersion(org, version);
      await assertNameFree(tx, o.name, org.id);
      await assertDomainsFree(tx, o.domains, org.id);
      const current = (await tx.organizationDomain.findMany({ where: { organizationId: org.id }, select: { domain: true } })).map((d) => d.domain);
      const added = o.domains.filter((d) => !current.includes(d));
      const removed = current.filter((d) => !o.domains.includes(d));
      if (removed.length) await tx.organizationDomain.deleteMany({ where: { organizationId: org.id, domain: { in: removed } } });
      if (added.length) await tx.organizationDomain.createMany({ data: added.map((domain) => ({ domain, organizationId: org.id })) });
      return changeOrganization(
        tx,
        ctx.actor,
        org,
        { name: o.name, environment: o.environment, contract: o.contract, shareTickets: o.shareTickets },
        [
          ...removed.map((d): OrganizationEvent => ({ action: 'UNLINKED', field: 'domain', oldValue: d })),
          ...added.map((d): OrganizationEvent => ({ action: 'LINKED', field: 'domain', newValue: d })),
        ],
      );
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw await explainUniqueViolation(ctx, o.name, o.domains, id);
    throw err;
  } finally {
    invalidateOrganizationNames();
  }
}
