// Small named checks for organization records. Each throws a typed error whose message says what to do.
import type { Tx } from '../../db/client.js';
import { asciiDomain } from '../../domain/email-address.js';
import type { Organization } from '../../generated/prisma/client.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';

/** Longest values the columns hold (schema.prisma); long texts get the forms' limit. */
export const LIMITS = { name: 120, environment: 20_000, contract: 20_000, domain: 253, domains: 50 } as const;

/**
 * Domains of public mail services: anyone can have an address there, so a new customer with one
 * says nothing about where they work. Exact domains, and families whose every country domain is
 * one service (yahoo.de, gmx.at, ...): their first label followed by a country or generic suffix.
 */
const PUBLIC_DOMAINS = new Set([
  'gmail.com', 'googlemail.com', 'icloud.com', 'me.com', 'mac.com', 'msn.com', 'aol.com', 'mail.com',
  'proton.me', 'protonmail.com', 'pm.me', 'tutanota.com', 'tuta.io', 'fastmail.com', 'zoho.com', 'yandex.com',
  'yandex.ru', 'mail.ru', 'web.de', 't-online.de', 'freenet.de', 'posteo.de', 'qq.com', '163.com', '126.com',
  'orange.fr', 'free.fr', 'laposte.net', 'libero.it', 'seznam.cz', 'wp.pl', 'o2.pl', 'rediffmail.com',
]);
const PUBLIC_FAMILIES = new Set(['yahoo', 'ymail', 'gmx', 'hotmail', 'outlook', 'live', 'windowslive', 'aol']);

/** A public mail service's domain (or a subdomain of one): it cannot be an organization's. */
export function isPublicMailDomain(domain: string): boolean {
  const labels = domain.split('.');
  for (let i = 0; i < labels.length - 1; i++) {
    if (PUBLIC_DOMAINS.has(labels.slice(i).join('.'))) return true;
  }
  // yahoo.com, yahoo.co.uk, gmx.net, hotmail.fr: the family's label and at most two more.
  return labels.length <= 3 && PUBLIC_FAMILIES.has(labels[0]!);
}

/** A domain as it is stored: lower-case, internationalised labels in punycode, no "@" or trailing dot. */
export function normalizeDomain(raw: string): string {
  const typed = raw.trim().replace(/^@/, '').replace(/\.$/, '');
  const refuse = (why: string): never => {
    const msg = `“${typed.slice(0, 80)}” ${why}`;
    throw new ValidationError(msg, { domains: msg });
  };
  let domain: string;
  try {
    domain = asciiDomain(typed).toLowerCase();
  } catch {
    return refuse('is not a domain name.');
  }
  if (domain.length > LIMITS.domain) return refuse(`is longer than ${LIMITS.domain} characters.`);
  const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => label.test(l)) || /^\d+$/.test(labels.at(-1)!)) {
    return refuse('is not a domain name (like example.com).');
  }
  if (isPublicMailDomain(domain)) {
    return refuse(
      'is a public mail service: anyone can have an address there, so it cannot make its customers members of an organization.',
    );
  }
  return domain;
}

/** The domains field: one a line, or separated by commas or spaces; each once, in the order given. */
export function normalizeDomains(raw: string | readonly string[] | null | undefined): string[] {
  const parts = (typeof raw === 'string' ? raw.split(/[\s,;]+/) : [...(raw ?? [])]).filter((p) => p.trim() !== '');
  const domains = [...new Set(parts.map(normalizeDomain))];
  if (domains.length > LIMITS.domains) {
    const msg = `An organization can have at most ${LIMITS.domains} domains.`;
    throw new ValidationError(msg, { domains: msg });
  }
  return domains;
}

const LABELS = { name: 'A name', environment: 'The environment notes', contract: 'The contract notes' } as const;

function text(field: keyof typeof LABELS, value: string | null | undefined, required: boolean): string | null {
  const trimmed = value?.replace(/\r\n/g, '\n').trim() ?? '';
  if (trimmed === '') {
    if (!required) return null;
    const msg = `${LABELS[field]} is required.`;
    throw new ValidationError(msg, { [field]: msg });
  }
  if (trimmed.length > LIMITS[field]) {
    const msg = `${LABELS[field]} can be at most ${LIMITS[field]} characters.`;
    throw new ValidationError(msg, { [field]: msg });
  }
  return trimmed;
}

export interface OrganizationEdit {
  name: string;
  /** One a line (or separated by commas or spaces), or a list. */
  domains?: string | readonly string[] | null;
  environment?: string | null;
  contract?: string | null;
  shareTickets?: boolean;
}

export interface NormalizedOrganization {
  name: string;
  domains: string[];
  environment: string | null;
  contract: string | null;
  shareTickets: boolean;
}

/** An edit as it is stored: trimmed, empty texts as none, domains checked, lengths within limits. */
export function normalizeOrganization(edit: OrganizationEdit): NormalizedOrganization {
  return {
    name: text('name', edit.name, true)!,
    domains: normalizeDomains(edit.domains),
    environment: text('environment', edit.environment, false),
    contract: text('contract', edit.contract, false),
    shareTickets: edit.shareTickets ?? false,
  };
}

/**
 * The key that makes a name unique whatever its case, as sent with a write. A trigger sets the
 * stored key with PostgreSQL's lower() (JavaScript's differs on a few letters), so records are
 * looked up by name through lower() in SQL (byNameKey), never by this.
 */
export const nameKey = (name: string) => name.toLowerCase();

/** The record whose name is this one in any case (lower() as the trigger computes the stored key). */
async function byNameKey(tx: Tx, name: string): Promise<Pick<Organization, 'id' | 'name'> | null> {
  const [row] = await tx.$queryRaw<Pick<Organization, 'id' | 'name'>[]>`
    SELECT id, name FROM "Organization" WHERE "nameKey" = lower(${name}::varchar)`;
  return row ?? null;
}

export async function findOrganizationOrThrow(tx: Tx, id: number): Promise<Organization> {
  const org = await tx.organization.findUnique({ where: { id } });
  if (!org) throw new NotFoundError(`There is no organization number ${id}.`);
  return org;
}

/** The form was filled in from this version; someone may have changed the record since. */
export function assertOrganizationVersion(org: Organization, formVersion: number): void {
  if (org.version !== formVersion) {
    throw new ConflictError(`The record of ${org.name} was changed by someone else meanwhile.`, org.version);
  }
}

export function nameTaken(name: string, other?: Pick<Organization, 'name'>): ValidationError {
  const msg = `There is already an organization named ${other?.name ?? name}: use that record instead.`;
  return new ValidationError(msg, { name: 'Another organization has this name.' });
}

/** No other record has the name, whatever its case. */
export async function assertNameFree(tx: Tx, name: string, id: number | null): Promise<void> {
  const other = await byNameKey(tx, name);
  if (other && other.id !== id) throw nameTaken(name, other);
}

/** Each domain belongs to at most one organization: none of these is another's. */
export async function assertDomainsFree(tx: Tx, domains: readonly string[], id: number | null): Promise<void> {
  if (domains.length === 0) return;
  const taken = await tx.organizationDomain.findMany({
    where: { domain: { in: [...domains] }, ...(id === null ? {} : { organizationId: { not: id } }) },
    select: { domain: true, organization: { select: { name: true } } },
    orderBy: { domain: 'asc' },
  });
  if (taken.length === 0) return;
  const list = taken.map((t) => `${t.domain} (${t.organization.name})`).join(', ');
  const msg = `A domain belongs to one organization only, and ${list} already ${taken.length === 1 ? 'has' : 'have'} one.`;
  throw new ValidationError(msg, { domains: msg });
}

/**
 * The organization a form names, found by its name whatever the case; none for an empty name.
 * An unknown name is refused (records are made on the organizations page, by an admin), so a
 * typo never makes a second record of the same organization.
 */
export async function organizationByName(
  tx: Tx,
  name: string | null | undefined,
  field = 'organization',
): Promise<Pick<Organization, 'id' | 'name'> | null> {
  const trimmed = name?.trim() ?? '';
  if (trimmed === '') return null;
  // No stored name holds a NUL (PostgreSQL text cannot): such a name is unknown, without asking.
  const org = trimmed.includes('\u0000') ? null : await byNameKey(tx, trimmed);
  if (!org) {
    const msg = `There is no organization named “${trimmed.slice(0, 120)}”. Choose one from the list, or ask an admin to add it.`;
    throw new ValidationError(msg, { [field]: msg });
  }
  return org;
}
