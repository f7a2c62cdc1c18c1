// The condition language of automation rules: small, typed with zod, evaluated in memory against a
// snapshot of the ticket (its customer and latest customer message read once per batch of events).
//
// Why not json-rules-engine (7.3.1, Node ≥ 18): it would fit the shape (all/any groups of facts and
// operators), but its conditions are open-ended JSON (fact paths through JSONPath, custom operators)
// that would need a zod schema of their own anyway to be safe to store from a form; it evaluates
// asynchronously per rule with an almanac per run (cost on every ticket change, where the bench
// allows 15%); and it brings four dependencies (jsonpath-plus among them) for what is here ~150
// lines with per-condition results built in. The language stays small: no user regex (ReDoS), bounded
// texts and lists, groups two deep.
import { z } from 'zod';
import { CHANNELS, STATUSES, URGENCIES, CHANNEL_LABEL, STATUS_LABEL, URGENCY_LABEL } from '../../domain/enums.js';
import type { Ticket } from '../../generated/prisma/client.js';
import type { CreationPreview } from '../tickets/events.js';

export const TEXT_MAX = 200;
export const VALUES_MAX = 20;
export const CONDITIONS_MAX = 20;

const text = z.string().trim().min(1, 'Enter a text.').max(TEXT_MAX, `At most ${TEXT_MAX} characters.`);

/** Field equals / is one of (negate: is none of). Team and owner are ids; owner 'unassigned' is none. */
export const FieldCondition = z.discriminatedUnion('field', [
  z.object({ type: z.literal('field'), field: z.literal('urgency'), values: z.array(z.enum(URGENCIES as [string, ...string[]])).min(1).max(VALUES_MAX), negate: z.boolean().default(false) }),
  z.object({ type: z.literal('field'), field: z.literal('status'), values: z.array(z.enum(STATUSES as [string, ...string[]])).min(1).max(VALUES_MAX), negate: z.boolean().default(false) }),
  z.object({ type: z.literal('field'), field: z.literal('channel'), values: z.array(z.enum(CHANNELS as [string, ...string[]])).min(1).max(VALUES_MAX), negate: z.boolean().default(false) }),
  z.object({ type: z.literal('field'), field: z.literal('team'), values: z.array(z.number().int().min(1)).min(1).max(VALUES_MAX), negate: z.boolean().default(false) }),
  z.object({
    type: z.literal('field'),
    field: z.literal('owner'),
    values: z.array(z.union([z.number().int().min(1), z.literal('unassigned')])).min(1).max(VALUES_MAX),
    negate: z.boolean().default(false),
  }),
]);

export const LeafCondition = z.union([
  FieldCondition,
  /** The customer's address equals (lower-case), or its domain is. */
  z.object({ type: z.literal('customer'), match: z.enum(['email', 'domain']), value: z.string().trim().toLowerCase().min(1).max(254) }),
  /** The customer's organization is (null: has none). */
  z.object({ type: z.literal('organization'), organizationId: z.number().int().min(1).nullable(), negate: z.boolean().default(false) }),
  /** A case-insensitive substring (never a pattern). */
  z.object({ type: z.literal('text'), where: z.enum(['title', 'description', 'latestMessage', 'any']), value: text }),
  z.object({ type: z.literal('tag'), value: z.string().trim().toLowerCase().min(1).max(40), negate: z.boolean().default(false) }),
  /** When the event happens: inside (or outside) a business calendar's working hours (src/services/sla). */
  z.object({ type: z.literal('businessHours'), calendarId: z.number().int().min(1), calendarName: z.string().max(80), inside: z.boolean() }),
]);
export type LeafCondition = z.infer<typeof LeafCondition>;

const InnerGroup = z.object({ type: z.enum(['all', 'any']), conditions: z.array(LeafCondition).max(CONDITIONS_MAX) });
/** The rule's conditions: all/any of leaves and of groups of leaves (two levels at most). */
export const ConditionGroup = z.object({
  type: z.enum(['all', 'any']),
  conditions: z.array(z.union([LeafCondition, InnerGroup])).max(CONDITIONS_MAX, `At most ${CONDITIONS_MAX} conditions.`),
});
export type ConditionGroup = z.infer<typeof ConditionGroup>;
type InnerGroup = z.infer<typeof InnerGroup>;

/** What a condition is matched against: the ticket, its customer, its latest customer message. */
export interface TicketSnapshot {
  ticket: Ticket;
  customer: { name: string; email: string; organizationId: number | null };
  latestMessage: string | null;
  /** Whether a business calendar is open now (null: no such calendar); set when a condition asks. */
  openNow?: (calendarId: number) => boolean | null;
}

/** One condition's outcome, in words: the log and the dry run show them. */
export interface ConditionResult {
  condition: string;
  ok: boolean;
  /** What the ticket has instead (for a failed one). */
  actual?: string;
}

export interface Evaluation {
  matched: boolean;
  results: ConditionResult[];
}

/** Names for ids in the words of a condition (teams, people, organizations). */
export interface Names {
  team(id: number): string;
  user(id: number): string;
  organization(id: number): string;
}
export const idNames: Names = { team: (id) => `team #${id}`, user: (id) => `person #${id}`, organization: (id) => `organization #${id}` };

const LABELS: Record<string, Record<string, string>> = { urgency: URGENCY_LABEL, status: STATUS_LABEL, channel: CHANNEL_LABEL };

function valueWord(field: string, value: string | number, names: Names): string {
  if (field === 'team') return names.team(value as number);
  if (field === 'owner') return value === 'unassigned' ? 'nobody' : names.user(value as number);
  return LABELS[field]?.[value as string] ?? String(value);
}

/** A condition in words: "urgency is High or Critical". */
export function describeCondition(c: LeafCondition, names: Names = idNames): string {
  switch (c.type) {
    case 'field':
      return `${c.field} ${c.negate ? 'is not' : 'is'} ${(c.values as (string | number)[]).map((v) => valueWord(c.field, v, names)).join(' or ')}`;
    case 'customer':
      return c.match === 'email' ? `customer's address is ${c.value}` : `customer's domain is ${c.value}`;
    case 'organization':
      return `organization ${c.negate ? 'is not' : 'is'} ${c.organizationId === null ? 'none' : names.organization(c.organizationId)}`;
    case 'text':
      return `${{ title: 'title', description: 'description', latestMessage: 'latest customer message', any: 'title, description or latest message' }[c.where]} contains “${c.value}”`;
    case 'tag':
      return `${c.negate ? 'has no' : 'has the'} tag ${c.value}`;
    case 'businessHours':
      return `${c.inside ? 'inside' : 'outside'} the business hours of ${c.calendarName}`;
  }
}

const contains = (haystack: string | null, needle: string) => (haystack ?? '').toLowerCase().includes(needle.toLowerCase());

function evaluateLeaf(c: LeafCondition, s: TicketSnapshot, names: Names): ConditionResult {
  const t = s.ticket;
  const condition = describeCondition(c, names);
  switch (c.type) {
    case 'field': {
      const actual: string | number =
        c.field === 'team' ? t.teamId : c.field === 'owner' ? (t.assigneeId ?? 'unassigned') : (t[c.field] as string);
      const hit = (c.values as (string | number)[]).includes(actual);
      return { condition, ok: hit !== c.negate, actual: valueWord(c.field, actual, names) };
    }
    case 'customer': {
      const email = s.customer.email.toLowerCase();
      const actual = c.match === 'email' ? email : email.slice(email.lastIndexOf('@') + 1);
      return { condition, ok: actual === c.value, actual };
    }
    case 'organization': {
      const hit = s.customer.organizationId === c.organizationId;
      const id = s.customer.organizationId;
      return { condition, ok: hit !== c.negate, actual: id === null ? 'none' : names.organization(id) };
    }
    case 'text': {
      const fields = c.where === 'any' ? [t.title, t.description, s.latestMessage] : [c.where === 'latestMessage' ? s.latestMessage : t[c.where]];
      return { condition, ok: fields.some((f) => contains(f, c.value)) };
    }
    case 'tag': {
      const hit = (t.tags ?? []).includes(c.value);
      return { condition, ok: hit !== c.negate, actual: (t.tags ?? []).join(', ') || 'no tags' };
    }
    case 'businessHours': {
      const open = s.openNow?.(c.calendarId) ?? null;
      if (open === null) return { condition, ok: false, actual: 'that calendar no longer exists' };
      return { condition, ok: open === c.inside, actual: open ? 'inside business hours' : 'outside business hours' };
    }
  }
}

function evaluateGroup(g: ConditionGroup | InnerGroup, s: TicketSnapshot, names: Names, depth: number): Evaluation {
  const results: ConditionResult[] = [];
  const oks: boolean[] = [];
  for (const c of g.conditions) {
    if (c.type === 'all' || c.type === 'any') {
      const inner = evaluateGroup(c as InnerGroup, s, names, depth + 1);
      oks.push(inner.matched);
      results.push({ condition: `${c.type === 'all' ? 'all' : 'any'} of (${inner.results.map((r) => r.condition).join('; ')})`, ok: inner.matched });
      for (const r of inner.results) results.push({ ...r, condition: `  · ${r.condition}` });
    } else {
      const r = evaluateLeaf(c as LeafCondition, s, names);
      oks.push(r.ok);
      results.push(r);
    }
  }
  // No conditions: every ticket of the event matches.
  const matched = g.type === 'all' ? oks.every(Boolean) : oks.length === 0 || oks.some(Boolean);
  return { matched, results };
}

/** Whether the ticket matches, with each condition's outcome (all are evaluated, for the log). */
export function evaluateConditions(group: ConditionGroup, s: TicketSnapshot, names: Names = idNames): Evaluation {
  return evaluateGroup(group, s, names, 1);
}

const leaves = (group: ConditionGroup): LeafCondition[] =>
  group.conditions.flatMap((c) => (c.type === 'all' || c.type === 'any' ? (c as InnerGroup).conditions : [c as LeafCondition]));

/** Whether any condition asks about business hours (the calendars are then read, kept for seconds). */
export function needsCalendars(group: ConditionGroup): boolean {
  return leaves(group).some((c) => c.type === 'businessHours');
}

/** Whether any condition reads the customer or their organization (the ticket alone does not say). */
export function needsCustomer(group: ConditionGroup): boolean {
  return leaves(group).some((c) => c.type === 'customer' || c.type === 'organization');
}

/** Whether any condition (at any depth) reads the latest customer message (loaded only then). */
export function needsLatestMessage(group: ConditionGroup): boolean {
  return group.conditions.some((c) =>
    c.type === 'all' || c.type === 'any'
      ? (c as InnerGroup).conditions.some((l) => l.type === 'text' && (l.where === 'latestMessage' || l.where === 'any'))
      : c.type === 'text' && (c.where === 'latestMessage' || c.where === 'any'),
  );
}

/**
 * Whether a ticket about to be created could match, from what was typed (before any statement):
 * false only when it cannot. What the form does not say (organization, business hours, the latest
 * message) counts as "could"; the customer's address is the one typed. Creation then needs no
 * transaction when no rule on creation could match it (the common case).
 */
export function couldMatchNew(group: ConditionGroup, p: CreationPreview): boolean {
  // Three values: true, false, null (unknown).
  const leaf = (c: LeafCondition): boolean | null => {
    switch (c.type) {
      case 'field': {
        const actual = c.field === 'team' ? p.teamId : c.field === 'owner' ? (p.assigneeId ?? 'unassigned') : (p[c.field] as string);
        return (c.values as (string | number)[]).includes(actual) !== c.negate;
      }
      case 'customer': {
        const actual = c.match === 'email' ? p.customerEmail : p.customerEmail.slice(p.customerEmail.lastIndexOf('@') + 1);
        return actual === c.value;
      }
      case 'text': {
        if (c.where === 'latestMessage') return false; // a new ticket has no customer message yet
        const fields = c.where === 'any' ? [p.title, p.description] : [c.where === 'title' ? p.title : p.description];
        return fields.some((f) => contains(f, c.value));
      }
      case 'tag':
        return c.negate; // a new ticket has no tags
      default:
        return null;
    }
  };
  const group3 = (g: ConditionGroup | InnerGroup): boolean | null => {
    const values = g.conditions.map((c) => (c.type === 'all' || c.type === 'any' ? group3(c as InnerGroup) : leaf(c as LeafCondition)));
    if (g.type === 'all') return values.includes(false) ? false : values.includes(null) ? null : true;
    if (values.length === 0) return true;
    return values.includes(true) ? true : values.includes(null) ? null : false;
  };
  return group3(group) !== false;
}
