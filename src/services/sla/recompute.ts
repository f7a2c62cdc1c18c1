// A ticket's SLA due times, recomputed from its history in the transaction of every change that
// can move them (the ticket events of src/services/tickets/events.ts), and stored on the ticket so
// the queue sorts and filters by them with an index. Nothing here is a counter: the clock is
// src/domain/sla-clock.ts over the ticket's status changes, replies and customer messages, with the
// policy its urgency, team, organization and channel choose now. recomputeSla() gives the same
// answer at any later time (tests compare stored and recomputed values).
import { sql, type Db, type Tx } from '../../db/client.js';
import type { Channel, TicketStatus, Urgency } from '../../domain/enums.js';
import { computeSla, type ClockEvent, type SlaComputation, type SlaTargetKind } from '../../domain/sla-clock.js';
import type { TicketEvent, TicketEventHandler } from '../tickets/events.js';
import { choosePolicy, slaSettings, targetsFor, warningTargets, type ActivePolicy } from './policies.js';

/** The stored SLA columns of a ticket. */
export interface StoredSla {
  slaPolicyId: number | null;
  slaFirstResponseDueAt: Date | null;
  slaNextResponseDueAt: Date | null;
  slaResolutionDueAt: Date | null;
  slaDueAt: Date | null;
  slaNextCheckAt: Date | null;
}

/** What the clock reads of a ticket, in one statement for any number of tickets. */
interface ClockRow {
  id: number;
  urgency: Urgency;
  channel: Channel;
  status: TicketStatus;
  teamId: number;
  organizationId: number | null;
  slaPolicyId: number | null;
  slaFirstResponseDueAt: number | null;
  slaNextResponseDueAt: number | null;
  slaResolutionDueAt: number | null;
  slaDueAt: number | null;
  slaNextCheckAt: number | null;
  /** The history rows the clock needs, oldest first: a action, f field, v new value, k actor kind (s staff, c customer, r rule), t epoch ms. */
  history: { a: string; f: string | null; v: string | null; k: 's' | 'c' | 'r'; t: number }[];
  /** Warnings and breaches already acted on: "TARGET:cycle:phase". */
  done: string[];
}

const ms = (column: string) => `(extract(epoch FROM t."${column}") * 1000)::float8 AS "${column}"`;

const CLOCK_ROWS = `
SELECT t.id, t.urgency::text AS urgency, t.channel::text AS channel, t.status::text AS status, t."teamId",
       c."organizationId", t."slaPolicyId",
       ${ms('slaFirstResponseDueAt')}, ${ms('slaNextResponseDueAt')}, ${ms('slaResolutionDueAt')}, ${ms('slaDueAt')}, ${ms('slaNextCheckAt')},
       (SELECT coalesce(json_agg(json_build_object(
                 'a', h.action, 'f', h.field, 'v', h."newValue",
                 'k', CASE WHEN h."actorId" IS NOT NULL THEN 's' WHEN h."actorCustomerId" IS NOT NULL THEN 'c' ELSE 'r' END,
                 't', (extract(epoch FROM h."createdAt") * 1000)::float8) ORDER BY h."createdAt", h.id), '[]')
          FROM "TicketHistory" h
         WHERE h."ticketId" = t.id
           AND (h.action = 'CREATED' OR (h.action = 'CHANGED' AND h.field = 'status')
                OR (h.action = 'WORKLOG_ADDED' AND h.field IN ('REPLY', 'CUSTOMER_REPLY')))) AS history,
       (SELECT coalesce(json_agg(e.target || ':' || e.cycle || ':' || e.phase), '[]')
          FROM "SlaEvent" e WHERE e."ticketId" = t.id) AS done
FROM "Ticket" t JOIN "Customer" c ON c.id = t."customerId"
WHERE t.id = ANY($1::int[])`;

/**
 * The clock's events from the history rows: the creation (its status, and whether staff logged
 * it), every status change, every reply to the customer by a person (a rule's automatic reply is
 * no response), every message from the customer.
 */
export function clockEvents(history: ClockRow['history']): ClockEvent[] {
  const events: ClockEvent[] = [];
  // Rows come in (createdAt, id) order; several app instances' clocks may disagree by a few ms,
  // so a row's time never goes back before the previous one's (the clock refuses disorder).
  let last = -Infinity;
  for (const h of history) {
    last = Math.max(last, h.t);
    const at = new Date(last);
    if (h.a === 'CREATED') {
      let status: TicketStatus = 'NEW';
      try {
        status = (JSON.parse(h.v ?? '{}') as { status?: TicketStatus }).status ?? 'NEW';
      } catch {
        // an old creation row without the JSON: a ticket was born New
      }
      events.push({ kind: 'created', at, status, byStaff: h.k === 's' });
    } else if (h.a === 'CHANGED') {
      events.push({ kind: 'status', at, to: h.v as TicketStatus });
    } else if (h.f === 'REPLY') {
      if (h.k === 's') events.push({ kind: 'staff-reply', at });
    } else if (h.f === 'CUSTOMER_REPLY') {
      events.push({ kind: 'customer-message', at });
    }
  }
  return events;
}

export interface SlaResult {
  policy: ActivePolicy | null;
  computation: SlaComputation | null;
  /** The warning moments: the same clock with the targets scaled to the policy's warning share. */
  warnings: SlaComputation | null;
  stored: StoredSla;
}

const NONE: StoredSla = {
  slaPolicyId: null,
  slaFirstResponseDueAt: null,
  slaNextResponseDueAt: null,
  slaResolutionDueAt: null,
  slaDueAt: null,
  slaNextCheckAt: null,
};

const key = (kind: SlaTargetKind, cycle: number, phase: 'warning' | 'breach') => `${kind}:${cycle}:${phase}`;

/** The clock of one ticket as its row and history say, with the policy that applies now. */
function evaluate(row: ClockRow, policies: Awaited<ReturnType<typeof slaSettings>>): SlaResult {
  const policy = choosePolicy(policies, { urgency: row.urgency, channel: row.channel, teamId: row.teamId, organizationId: row.organizationId });
  return evaluateEvents(policy, row.urgency, clockEvents(row.history), new Set(row.done));
}

function evaluateEvents(policy: ActivePolicy | null, urgency: Urgency, events: ClockEvent[], done: ReadonlySet<string>): SlaResult {
  if (!policy || events[0]?.kind !== 'created') return { policy: null, computation: null, warnings: null, stored: NONE };
  const targets = targetsFor(policy, urgency);
  const computation = computeSla(events, targets, policy.calendar);
  const warnings = computeSla(events, warningTargets(targets, policy.warnPercent), policy.calendar);
  // The next moment the SLA job must look: the earliest warning or breach of a running clock
  // not yet acted on (possibly past: a raised urgency can make a target overdue at once).
  let next: number | null = null;
  const consider = (at: Date | null) => {
    if (at && (next === null || at.getTime() < next)) next = at.getTime();
  };
  for (const clock of computation.clocks) {
    if (clock.state !== 'running' || !clock.dueAt) continue;
    if (!done.has(key(clock.kind, clock.cycle, 'breach'))) consider(clock.dueAt);
    const warn = warnings.clocks.find((w) => w.kind === clock.kind && w.cycle === clock.cycle);
    if (warn?.state === 'running' && warn.dueAt && warn.dueAt < clock.dueAt && !done.has(key(clock.kind, clock.cycle, 'warning'))) consider(warn.dueAt);
  }
  return {
    policy,
    computation,
    warnings,
    stored: {
      slaPolicyId: policy.id,
      slaFirstResponseDueAt: computation.firstResponseDueAt,
      slaNextResponseDueAt: computation.nextResponseDueAt,
      slaResolutionDueAt: computation.resolutionDueAt,
      slaDueAt: computation.dueAt,
      slaNextCheckAt: next === null ? null : new Date(next),
    },
  };
}

const COLUMNS = ['slaPolicyId', 'slaFirstResponseDueAt', 'slaNextResponseDueAt', 'slaResolutionDueAt', 'slaDueAt', 'slaNextCheckAt'] as const;

function storedOf(row: ClockRow): StoredSla {
  const date = (v: number | null) => (v === null ? null : new Date(v));
  return {
    slaPolicyId: row.slaPolicyId,
    slaFirstResponseDueAt: date(row.slaFirstResponseDueAt),
    slaNextResponseDueAt: date(row.slaNextResponseDueAt),
    slaResolutionDueAt: date(row.slaResolutionDueAt),
    slaDueAt: date(row.slaDueAt),
    slaNextCheckAt: date(row.slaNextCheckAt),
  };
}

const same = (a: StoredSla, b: StoredSla) =>
  COLUMNS.every((c) => (a[c] instanceof Date ? (a[c] as Date).getTime() : a[c]) === (b[c] instanceof Date ? (b[c] as Date).getTime() : b[c]));

/** The clocks of these tickets, from their history (nothing written). */
export async function readSla(db: Db | Tx, ticketIds: readonly number[]): Promise<Map<number, SlaResult & { current: StoredSla }>> {
  const out = new Map<number, SlaResult & { current: StoredSla }>();
  if (ticketIds.length === 0) return out;
  const [rows, settings] = await Promise.all([sql<ClockRow>(db, CLOCK_ROWS, [[...new Set(ticketIds)]]), slaSettings(db)]);
  for (const row of rows) out.set(row.id, { ...evaluate(row, settings), current: storedOf(row) });
  return out;
}

/**
 * Recomputes and stores the due times of these tickets (in the caller's transaction); a ticket
 * whose values did not move is not written. A new next-check time queues the SLA job (a trigger).
 */
export async function recomputeSla(tx: Db | Tx, ticketIds: readonly number[]): Promise<void> {
  const results = await readSla(tx, ticketIds);
  for (const [id, r] of results) {
    if (same(r.current, r.stored)) continue;
    await tx.ticket.update({ where: { id }, data: r.stored });
  }
}

/**
 * A new ticket's SLA columns, computed before it is written (so its one INSERT carries them and no
 * UPDATE follows): the clock of a ticket with only its creation in its history. 'later' when a
 * policy is chosen by organization (the customer's is known once the statement ran): then the
 * creation's transaction recomputes it.
 */
export async function slaAtCreation(
  db: Db | Tx,
  s: { urgency: Urgency; channel: Channel; teamId: number; status: TicketStatus; byStaff: boolean },
  at: Date,
): Promise<StoredSla | 'later'> {
  const settings = await slaSettings(db);
  if (settings.policies.length === 0) return NONE;
  if (settings.policies.some((p) => p.matchOrganizationId !== null)) return 'later';
  const policy = choosePolicy(settings, { ...s, organizationId: null });
  return evaluateEvents(policy, s.urgency, [{ kind: 'created', at, status: s.status, byStaff: s.byStaff }], new Set()).stored;
}

/** Whether new tickets need their SLA computed after they are written (see slaAtCreation). */
export async function slaNeedsCreationTransaction(db: Db | Tx): Promise<boolean> {
  return (await slaSettings(db)).policies.some((p) => p.matchOrganizationId !== null);
}

/** The changes that can move a clock: what the policy is chosen by, and what the clock reads. */
const CLOCK_FIELDS = new Set(['status', 'urgency', 'teamId', 'customerId', 'channel']);
function movesClock(e: TicketEvent): boolean {
  switch (e.kind) {
    case 'created':
      // Unless its INSERT carried its SLA columns already (slaAtCreation).
      return !e.slaStored;
    case 'changed':
      return e.fields.some((f) => CLOCK_FIELDS.has(f));
    case 'worklog':
      return e.entryKind === 'REPLY' || e.entryKind === 'CUSTOMER_REPLY';
    case 'sla':
      return false;
  }
}

/** The SLA clock follows every ticket event that can move it (events.ts) while any policy is active. */
export const slaEventHandler: TicketEventHandler = {
  name: 'sla',
  async handle(tx: Tx, events: readonly TicketEvent[]) {
    const settings = await slaSettings(tx);
    // No policy: nothing to store, unless one was deactivated since the ticket got its times.
    const ids = events.filter(movesClock).map((e) => e.ticketId);
    if (ids.length === 0) return;
    if (settings.policies.length === 0) {
      const stale = events.some((e) => e.kind === 'changed' && e.after.slaPolicyId !== null);
      if (!stale) return;
    }
    await recomputeSla(tx, ids);
  },
  async active(db) {
    return slaNeedsCreationTransaction(db);
  },
};
