// Event rules: run inside the transaction of the change that triggered them (a ticket event
// handler, events.ts), before it commits. Per round: the active rules (kept in memory) whose event
// happened are evaluated against one snapshot of each touched ticket (one query for all of them);
// a matching rule applies its actions as the rule (history rows say "Rule: <name>"), and what it
// changes is an event of the next round.
//
// Loop guard: a rule fires at most once per ticket per transaction (a rule matching again is
// logged as stopped by the guard), and the rounds are bounded (MAX_EVENT_ROUNDS): two rules that
// would flip a field back and forth stop after one flip each.
import type { Db, Tx } from '../../db/client.js';
import type { Ticket } from '../../generated/prisma/client.js';
import type { RuleEvent } from '../../generated/prisma/enums.js';
import { ruleActor } from '../context.js';
import { MAX_EVENT_ROUNDS, type TicketEvent, type TicketEventHandler } from '../tickets/events.js';
import { couldMatchNew, evaluateConditions, needsCalendars, needsCustomer, needsLatestMessage, type ConditionResult, type TicketSnapshot } from './conditions.js';
import { businessCalendars, openAt } from '../sla/policies.js';
import { executeActions, type ActionResult } from './actions.js';
import { activeRules, type ParsedRule } from './rules.js';

/** The rule event a ticket event is, if any. */
export function ruleEventOf(e: TicketEvent): RuleEvent | null {
  switch (e.kind) {
    case 'created':
      return 'CREATED';
    case 'changed':
      return 'UPDATED';
    case 'worklog':
      return e.entryKind === 'CUSTOMER_REPLY' ? 'CUSTOMER_REPLIED' : null;
    case 'sla':
      return e.phase === 'warning' ? 'SLA_WARNING' : 'SLA_BREACH';
  }
}

type SnapshotRow = Ticket & { customerName: string; customerEmail: string; organizationId: number | null; latestMessage: string | null };

/**
 * Lets the snapshots answer "is this business calendar open now?" when a rule asks (calendars are
 * read once and kept for seconds: src/services/sla/policies.ts).
 */
export async function withCalendars(db: Tx | Db, snapshots: Iterable<TicketSnapshot>, needed: boolean, now = new Date()): Promise<void> {
  if (!needed) return;
  const calendars = await businessCalendars(db);
  const openNow = (id: number) => {
    const cal = calendars.get(id);
    return cal ? openAt(cal, now) : null;
  };
  for (const s of snapshots) s.openNow = openNow;
}

/** Snapshots of the tickets (their customer and, when asked, latest customer message) in one statement. */
export async function loadSnapshots(tx: Tx | Db, ids: readonly number[], latestMessage: boolean): Promise<Map<number, TicketSnapshot>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.$queryRawUnsafe<SnapshotRow[]>(
    `SELECT t.id, t.reference, t.title, t.description, t.channel::text AS channel, t.environment, t.occurrence, t.workaround,
            t.urgency::text AS urgency, t.status::text AS status, t."resolutionCode"::text AS "resolutionCode", t."resolutionNote",
            t."internalResolutionNote", t.version, t."createdAt", t."updatedAt", t."resolvedAt", t."awaitingSince",
            t."lastCustomerReplyAt", t.tags, t."customerId", t."assigneeId", t."createdById", t."duplicateOfId",
            t."resolutionArticleId", t."teamId",
            c.name AS "customerName", c.email AS "customerEmail", c."organizationId",
            ${
              latestMessage
                ? `(SELECT w.body FROM "WorkLogEntry" w WHERE w."ticketId" = t.id AND w.kind = 'CUSTOMER_REPLY'
                     ORDER BY w."createdAt" DESC, w.id DESC LIMIT 1)`
                : 'NULL::text'
            } AS "latestMessage"
       FROM "Ticket" t JOIN "Customer" c ON c.id = t."customerId"
      WHERE t.id = ANY($1::int[])`,
    [...ids],
  );
  return new Map(
    rows.map(({ customerName, customerEmail, organizationId, latestMessage: latest, ...ticket }) => [
      ticket.id,
      { ticket: ticket as Ticket, customer: { name: customerName, email: customerEmail, organizationId }, latestMessage: latest },
    ]),
  );
}

export interface Firing {
  ruleId: number;
  ticketId: number;
  event: string;
  matched: boolean;
  conditions: ConditionResult[];
  actions: ActionResult[];
  note: string | null;
}

/** Writes firings to the rules' log (one statement). */
export async function logFirings(tx: Tx, firings: readonly Firing[]): Promise<void> {
  if (firings.length === 0) return;
  await tx.automationRuleLog.createMany({
    data: firings.map((f) => ({
      ruleId: f.ruleId,
      ticketId: f.ticketId,
      event: f.event,
      matched: f.matched,
      conditions: f.conditions as object[],
      actions: f.actions as object[],
      note: f.note,
    })),
  });
}

/** Applies one matching rule to a ticket as the rule; what it did, for the log. */
export async function fireRule(tx: Tx, rule: ParsedRule, ticket: Ticket): Promise<{ ticket: Ticket; results: ActionResult[] }> {
  return executeActions(tx, ruleActor(rule), ticket, rule.actions);
}

/** Which rule fired on which ticket in a transaction (the loop guard), and which were stopped. */
const firedIn = new WeakMap<object, Set<string>>();

export const automationHandler: TicketEventHandler = {
  name: 'automation rules',
  /** A new ticket needs a transaction only when a rule listens to creations. */
  async active(db, preview) {
    // Only rules on creation that could match what was typed (conditions.ts couldMatchNew).
    return (await activeRules(db as Db)).rules.some((r) => r.event === 'CREATED' && (!preview || couldMatchNew(r.conditions, preview)));
  },
  async handle(tx, events, round) {
    const { rules, names } = await activeRules(tx);
    if (rules.length === 0) return;
    // Which rule events happened to which tickets this round (in the order first seen), and each
    // ticket as the latest event carrying it left it.
    const happened = new Map<number, Set<RuleEvent>>();
    const carried = new Map<number, Ticket>();
    for (const e of events) {
      if (e.kind === 'changed') carried.set(e.ticketId, e.after);
      else if (e.kind === 'created' && e.ticket) carried.set(e.ticketId, e.ticket);
      else carried.delete(e.ticketId);
      const ev = ruleEventOf(e);
      if (!ev || !rules.some((r) => r.event === ev)) continue;
      const set = happened.get(e.ticketId);
      if (set) set.add(ev);
      else happened.set(e.ticketId, new Set([ev]));
    }
    if (happened.size === 0) return;
    const listening = rules.filter((r) => [...happened.values()].some((evs) => evs.has(r.event)));
    // The tickets as the events carry them, when no listening rule reads the customer or the
    // latest message (the common case: no query at all); or else read, in one statement.
    const ids = [...happened.keys()];
    const fromEvents = !listening.some((r) => needsCustomer(r.conditions) || needsLatestMessage(r.conditions)) && ids.every((id) => carried.has(id));
    const snapshots = fromEvents
      ? new Map(ids.map((id): [number, TicketSnapshot] => [id, { ticket: carried.get(id)!, customer: { name: '', email: '', organizationId: null }, latestMessage: null }]))
      : await loadSnapshots(tx, ids, listening.some((r) => needsLatestMessage(r.conditions)));
    await withCalendars(tx, snapshots.values(), listening.some((r) => needsCalendars(r.conditions)));
    let fired = firedIn.get(tx);
    if (!fired) firedIn.set(tx, (fired = new Set()));
    const firings: Firing[] = [];
    for (const [ticketId, evs] of happened) {
      const snapshot = snapshots.get(ticketId);
      if (!snapshot) continue;
      for (const rule of rules) {
        if (!evs.has(rule.event)) continue;
        // Closed tickets are final: no rule changes them.
        if (snapshot.ticket.status === 'CLOSED') continue;
        const evaluation = evaluateConditions(rule.conditions, snapshot, names);
        if (!evaluation.matched) continue;
        const key = `${rule.id}:${ticketId}`;
        if (fired.has(key)) {
          const stopKey = `stop:${key}`;
          if (!fired.has(stopKey)) {
            fired.add(stopKey);
            firings.push({
              ruleId: rule.id, ticketId, event: rule.event, matched: true, conditions: evaluation.results, actions: [],
              note: 'Loop guard: this rule already fired on this ticket in this change; not applied again.',
            });
          }
          continue;
        }
        fired.add(key);
        const { ticket, results } = await fireRule(tx, rule, snapshot.ticket);
        // The next rule of this round sees the ticket as this one left it.
        snapshot.ticket = ticket;
        const changedSomething = results.some((r) => r.ok);
        firings.push({
          ruleId: rule.id, ticketId, event: rule.event, matched: true, conditions: evaluation.results, actions: results,
          note: round >= MAX_EVENT_ROUNDS && changedSomething
            ? `Loop guard: depth limit (${MAX_EVENT_ROUNDS} rounds) reached; these changes trigger no further rules.`
            : null,
        });
      }
    }
    await logFirings(tx, firings);
  },
};
