import {
  CHANNEL_LABEL,
  OUTCOME_LABEL,
  RESOLUTION_LABEL,
  STATUS_LABEL,
  URGENCY_LABEL,
  type Channel,
  type FixOutcome,
  type ResolutionCode,
  type TicketStatus,
  type Urgency,
} from '../../domain/enums.js';
import { FIELD_LABEL, LONG_FIELDS } from '../../domain/ticket-fields.js';
import type { TicketHistory } from '../../generated/prisma/client.js';
import { ago, when } from './time.js';

type HistoryRow = TicketHistory & { actor: { name: string; customer: boolean; system?: boolean; ruleId?: number; token?: { name: string } } };



function valueLabel(field: string | null, value: string | null): string {
  if (value === null) return '—';
  switch (field) {
    case 'urgency':
      return URGENCY_LABEL[value as Urgency] ?? value;
    case 'status':
      return STATUS_LABEL[value as TicketStatus] ?? value;
    case 'channel':
      return CHANNEL_LABEL[value as Channel] ?? value;
    case 'resolutionCode':
      return RESOLUTION_LABEL[value as ResolutionCode] ?? value;
    default:
      return value;
  }
}

export interface TimelineEntry {
  id: number;
  actor: string;
  /** Done by a rule, not a person (styled apart); an automation rule's page when ruleId is set. */
  system: boolean;
  ruleId: number | null;
  /** Done through the REST API: "API token “deploy script”" (null: in the browser). */
  via: string | null;
  /** What happened, as a sentence without its subject: "changed urgency from Normal to High". */
  summary: string;
  /** For long texts: the old and new text, shown on demand. */
  before?: string | null;
  after?: string | null;
  at: string;
  ago: string;
  iso: string;
  version: number;
}

function summarize(row: HistoryRow): Pick<TimelineEntry, 'summary' | 'before' | 'after'> {
  if (row.action === 'CREATED') {
    const born = row.newValue ? (JSON.parse(row.newValue) as Record<string, string | null>) : {};
    const parts = [
      born.urgency && `${URGENCY_LABEL[born.urgency as Urgency]} urgency`,
      born.channel && `via ${CHANNEL_LABEL[born.channel as Channel]}`,
      born.customer && `for ${born.customer}`,
    ].filter(Boolean);
    // Created with an owner (older rows have no status): it was born Open, already taken.
    const taken = born.assignee ? ` and took it${born.status === 'OPEN' ? ' (Open)' : ''}` : '';
    return { summary: `created the ticket${parts.length ? ` (${parts.join(', ')})` : ''}${taken}` };
  }
  if (row.action === 'LINKED') return { summary: `linked the article “${row.newValue ?? ''}”` };
  if (row.action === 'UNLINKED') return { summary: `unlinked the article “${row.oldValue ?? ''}”` };
  if (row.action === 'WORKLOG_ADDED') {
    if (row.field === 'ATTEMPTED_FIX') return { summary: `logged an attempted fix: ${OUTCOME_LABEL[row.newValue as FixOutcome] ?? ''}` };
    if (row.field === 'REPLY') return { summary: 'replied to the customer' };
    if (row.field === 'CUSTOMER_REPLY') return { summary: 'replied' };
    return { summary: 'added a note' };
  }
  if (row.action === 'ACCESS_REVOKED') return { summary: `revoked the customer's access links (${row.newValue ?? ''})` };
  if (row.action === 'ATTACHMENT_ADDED') return { summary: `attached the file “${row.newValue ?? ''}”` };
  if (row.action === 'ATTACHMENT_REDACTED') return { summary: `redacted the file “${row.oldValue ?? ''}”` };
  if (row.action === 'MACRO_APPLIED') return { summary: `applied the macro “${row.newValue ?? ''}”` };
  if (row.action === 'RUNBOOK_ATTACHED') {
    const how = row.field === 'BY_RULE' ? ' (by a rule)' : row.field === 'SUGGESTED' ? ' (suggested)' : '';
    return { summary: `attached the run book “${row.newValue ?? ''}”${how}` };
  }
  if (row.action === 'RUNBOOK_STEP_DONE') return { summary: `did the run book step ${row.newValue ?? ''}` };
  if (row.action === 'AUTOMATION_QUEUED') return { summary: `ran the automation of ${row.newValue ?? ''}` };
  if (row.action === 'AUTOMATION_ANSWERED') return { summary: `recorded: ${row.newValue ?? ''}` };
  if (row.action === 'MAIL_ATTACHED') return { summary: `attached a quarantined mail${row.newValue ? ` from ${row.newValue}` : ''}` };
  const field = row.field ?? '';
  const label = FIELD_LABEL[field] ?? field;
  if (field === 'assigneeId') {
    if (row.newRefId === null) return { summary: `unassigned the ticket (was ${row.oldValue ?? '—'})` };
    if (row.newRefId === row.actorId) return { summary: row.oldRefId === null ? 'took the ticket' : `took the ticket from ${row.oldValue}` };
    return { summary: `handed the ticket to ${row.newValue}${row.oldValue ? ` (from ${row.oldValue})` : ''}` };
  }
  if (field === 'resolutionArticleId') {
    return { summary: row.newValue ? `resolved it with the article “${row.newValue}”` : 'removed the resolving article' };
  }
  if (field === 'teamId') {
    return { summary: `moved it from team ${row.oldValue ?? '—'} to ${row.newValue ?? '—'}` };
  }
  if (field === 'customerId') {
    return { summary: `moved it from customer ${row.oldValue ?? '—'} to ${row.newValue ?? '—'}` };
  }
  if (field === 'duplicateOfId') {
    return { summary: row.newValue ? `marked it a duplicate of ${row.newValue}` : `unmarked it as a duplicate of ${row.oldValue ?? '—'}` };
  }
  if (LONG_FIELDS.has(field)) {
    const verb = row.oldValue === null ? 'wrote' : row.newValue === null ? 'removed' : 'edited';
    return { summary: `${verb} the ${label}`, before: row.oldValue, after: row.newValue };
  }
  return {
    summary: `changed ${label} from ${valueLabel(field, row.oldValue)} to ${valueLabel(field, row.newValue)}`,
  };
}

export function timeline(rows: HistoryRow[], now = new Date(), zone?: string): TimelineEntry[] {
  // A literal with every key (no `...summarize(row)` amid them: slow in Node 20, bench-spread.ts).
  return rows.map((row) => {
    const { summary, before, after } = summarize(row);
    return {
      id: row.id,
      actor: row.actor.customer
        ? `${row.actor.name} (customer)`
        : row.actor.system && row.actor.ruleId === undefined ? `${row.actor.name} (rule)` : row.actor.name,
      system: row.actor.system === true,
      ruleId: row.actor.ruleId ?? null,
      via: tokenLabel(row.actor.token),
      summary,
      before,
      after,
      at: when(row.createdAt, zone),
      ago: ago(row.createdAt, now),
      iso: row.createdAt.toISOString(),
      version: row.ticketVersion,
    };
  });
}

/** How a change made through the REST API names its token: API token “deploy script”. */
export function tokenLabel(token: { name: string } | undefined): string | null {
  return token ? `API token \u201c${token.name}\u201d` : null;
}
