import type { OrganizationHistory } from '../../generated/prisma/client.js';
import { ago, when } from './time.js';
import type { CustomerTimelineEntry } from './customer.js';

type Row = OrganizationHistory & { actor: { name: string } | null };

const FIELD_LABEL: Record<string, string> = {
  name: 'name',
  environment: 'environment notes',
  contract: 'contract notes',
};
const LONG_FIELDS = new Set(['environment', 'contract']);

/** An organization's timeline reads like a customer's: the same entry shape. */
export type OrganizationTimelineEntry = CustomerTimelineEntry;

function summarize(row: Row): Pick<OrganizationTimelineEntry, 'summary' | 'link' | 'suffix' | 'before' | 'after'> {
  if (row.action === 'CREATED') {
    if (row.field === 'migrated') {
      // The record made from customers' free-text names; oldValue: the spellings it was made of, when several.
      return row.oldValue
        ? { summary: 'made the record from the customers’ organization names', before: row.oldValue, after: row.newValue }
        : { summary: 'made the record from the customers’ organization names' };
    }
    return { summary: `added the organization as ${row.newValue ?? ''}` };
  }
  if (row.field === 'domain') {
    return row.action === 'LINKED' ? { summary: `added the domain ${row.newValue ?? ''}` } : { summary: `removed the domain ${row.oldValue ?? ''}` };
  }
  if (row.field === 'customer') {
    const who = row.action === 'LINKED' ? { id: row.newRefId, text: row.newValue } : { id: row.oldRefId, text: row.oldValue };
    const link = { href: `/customers/${who.id}`, text: who.text ?? '' };
    if (row.action === 'LINKED') {
      return row.actor ? { summary: 'added', link, suffix: ' to the organization' } : { summary: 'joined:', link, suffix: ' (the domain of the address)' };
    }
    return { summary: 'took', link, suffix: ' out of the organization' };
  }
  if (row.field === 'shareTickets') {
    return { summary: row.newValue === 'true' ? 'let its customers see each other’s tickets' : 'stopped sharing tickets between its customers' };
  }
  const field = row.field ?? '';
  const label = FIELD_LABEL[field] ?? field;
  if (LONG_FIELDS.has(field)) {
    const verb = row.oldValue === null ? 'wrote' : row.newValue === null ? 'removed' : 'edited';
    return { summary: `${verb} the ${label}`, before: row.oldValue, after: row.newValue };
  }
  return { summary: `changed the ${label} from ${row.oldValue ?? '—'} to ${row.newValue ?? '—'}` };
}

/** An organization's history as lines for its page: who did what, when. */
export function organizationTimeline(rows: Row[], now = new Date()): OrganizationTimelineEntry[] {
  return rows.map((row) => ({
    id: row.id,
    // No actor: a customer joined by their address's domain, or the organizations' migration made the record.
    actor: row.actor?.name ?? (row.field === 'customer' ? 'A new customer' : 'Caseboard'),
    ...summarize(row),
    at: when(row.createdAt),
    ago: ago(row.createdAt, now),
    iso: row.createdAt.toISOString(),
  }));
}
