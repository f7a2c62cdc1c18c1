import type { CustomerHistory } from '../../generated/prisma/client.js';
import { ago, when } from './time.js';

type Row = CustomerHistory & { actor: { name: string } | null };

const FIELD_LABEL: Record<string, string> = {
  name: 'name',
  email: 'email',
  phone: 'phone',
  organization: 'organization',
  environment: 'environment notes',
  notes: 'notes',
};
const LONG_FIELDS = new Set(['environment', 'notes']);

export interface CustomerTimelineEntry {
  id: number;
  actor: string;
  /** What happened, as a sentence without its subject; `link` (if any) follows it, then `suffix`. */
  summary: string;
  link?: { href: string; text: string };
  suffix?: string;
  /** For long texts: the old and new text, shown on demand. */
  before?: string | null;
  after?: string | null;
  at: string;
  ago: string;
  iso: string;
}

const tickets = (n: string | null) => (n === '1' ? '1 ticket' : `${n ?? 0} tickets`);

function summarize(row: Row): Pick<CustomerTimelineEntry, 'summary' | 'link' | 'suffix' | 'before' | 'after'> {
  if (row.action === 'MERGED') {
    // Both rows point from the merged record (oldRefId) to the kept one (newRefId); oldValue names the other.
    const moved = `; ${tickets(row.newValue)} moved`;
    if (row.field === 'mergedInto') {
      return { summary: 'merged this record into', link: { href: `/customers/${row.newRefId}`, text: row.oldValue ?? '' }, suffix: moved };
    }
    return {
      summary: 'merged the duplicate record',
      link: { href: `/customers/${row.oldRefId}`, text: row.oldValue ?? '' },
      suffix: ` into this one${moved}`,
    };
  }
  if (row.action === 'CREATED') return { summary: 'added the customer' };
  // A new customer whose address's domain is an organization's joined it (no actor: nobody did).
  if (row.action === 'LINKED' && row.field === 'organization') {
    return {
      summary: 'joined',
      link: { href: `/organizations/${row.newRefId}`, text: row.newValue ?? '' },
      suffix: ': the domain of their address is the organization’s',
    };
  }
  const field = row.field ?? '';
  const label = FIELD_LABEL[field] ?? field;
  if (LONG_FIELDS.has(field)) {
    const verb = row.oldValue === null ? 'wrote' : row.newValue === null ? 'removed' : 'edited';
    return { summary: `${verb} the ${label}`, before: row.oldValue, after: row.newValue };
  }
  if (row.oldValue === null) return { summary: `set the ${label} to ${row.newValue ?? '—'}` };
  if (row.newValue === null) return { summary: `removed the ${label} (was ${row.oldValue})` };
  return { summary: `changed the ${label} from ${row.oldValue} to ${row.newValue}` };
}

/** A customer's history as lines for its page: who did what, when. */
export function customerTimeline(rows: Row[], now = new Date(), zone?: string): CustomerTimelineEntry[] {
  return rows.map((row) => ({
    id: row.id,
    // No actor: the customer joined by their address's domain, or the organizations' migration wrote it.
    actor: row.actor?.name ?? (row.action === 'LINKED' ? 'The customer' : 'Caseboard'),
    ...summarize(row),
    at: when(row.createdAt, zone),
    ago: ago(row.createdAt, now),
    iso: row.createdAt.toISOString(),
  }));
}
