// The ticket-event handler that writes webhook deliveries (the outbox) in the transaction of the
// change: a rolled-back change sends nothing, a committed one always has its deliveries (their
// trigger queues the sending jobs in the same transaction). It runs last on each round, after the
// automation rules and the SLA clock, and costs nothing when no endpoint is active.
import { randomUUID } from 'node:crypto';
import { sql, type Tx } from '../../db/client.js';
import { isCustomerActor, isSystemActor, type HistoryActor } from '../context.js';
import type { TicketEvent, TicketEventHandler } from '../tickets/events.js';
import { activeEndpoints } from './endpoints.js';
import { webhookEventsOf, type WebhookEvent } from './events.js';

/** Longest entry body sent (characters); a longer one is cut and marked `truncated`. */
export const ENTRY_BODY_MAX = 16_000;
/** Longest value of a changed field sent (characters). */
export const CHANGE_VALUE_MAX = 2_000;

let publicUrl: string | null = null;
/** The address tickets' links in payloads are built from (PUBLIC_URL); unset: `url` is null. */
export function configureWebhookLinks(url: string | undefined): void {
  publicUrl = url ? url.replace(/\/+$/, '') : null;
}

const cut = (s: string, max: number) => (s.length > max ? `${s.slice(0, max)}…` : s);

function shown(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string') return cut(v, CHANGE_VALUE_MAX);
  return v ?? null;
}

function actorOf(a: HistoryActor): { type: 'user' | 'customer' | 'system'; name: string } {
  if (isSystemActor(a)) return { type: 'system', name: a.name };
  if (isCustomerActor(a)) return { type: 'customer', name: a.name };
  return { type: 'user', name: a.name };
}

interface TicketRow {
  id: number;
  reference: string;
  title: string;
  status: string;
  urgency: string;
  channel: string;
  tags: string[];
  version: number;
  createdAt: Date;
  updatedAt: Date;
  ownerName: string | null;
  teamName: string | null;
  customerName: string;
  customerEmail: string;
}

interface Planned {
  eventId: string;
  type: WebhookEvent;
  event: TicketEvent;
  endpoints: number[];
}

export const webhookEventHandler: TicketEventHandler = {
  name: 'webhooks',
  async active(db) {
    return (await activeEndpoints(db)).some((e) => e.events.includes('ticket.created'));
  },
  async handle(tx, events) {
    const endpoints = await activeEndpoints(tx);
    if (endpoints.length === 0) return;
    const planned: Planned[] = [];
    for (const event of events) {
      for (const type of webhookEventsOf(event)) {
        const to = endpoints.filter((e) => e.events.includes(type)).map((e) => e.id);
        if (to.length) planned.push({ eventId: randomUUID(), type, event, endpoints: to });
      }
    }
    if (planned.length === 0) return;
    await writeDeliveries(tx, planned);
  },
};

async function writeDeliveries(tx: Tx, planned: Planned[]): Promise<void> {
  const ticketIds = [...new Set(planned.map((p) => p.event.ticketId))];
  const entryIds = [...new Set(planned.flatMap((p) => (p.event.kind === 'worklog' ? [p.event.entryId] : [])))];
  // One statement for the tickets with the names the payload shows (this runs in the change's transaction).
  const [tickets, entries] = await Promise.all([
    sql<TicketRow>(
      tx,
      `SELECT t.id, t.reference, t.title, t.status::text AS status, t.urgency::text AS urgency, t.channel::text AS channel, t.tags, t.version,
              t."createdAt", t."updatedAt", u.name AS "ownerName", tm.name AS "teamName", c.name AS "customerName", c.email AS "customerEmail"
         FROM "Ticket" t
         JOIN "Customer" c ON c.id = t."customerId"
         LEFT JOIN "User" u ON u.id = t."assigneeId"
         LEFT JOIN "Team" tm ON tm.id = t."teamId"
        WHERE t.id = ANY($1::int[])`,
      [ticketIds],
    ),
    entryIds.length
      ? tx.workLogEntry.findMany({ where: { id: { in: entryIds } }, select: { id: true, kind: true, body: true, outcome: true, createdAt: true } })
      : [],
  ]);
  const byTicket = new Map(tickets.map((t) => [t.id, t]));
  const byEntry = new Map(entries.map((e) => [e.id, e]));
  const occurredAt = new Date().toISOString();
  const rows: { eventId: string; eventType: string; body: string; ticketId: number; endpointId: number }[] = [];
  for (const p of planned) {
    const t = byTicket.get(p.event.ticketId);
    if (!t) continue;
    const e = p.event;
    const body: Record<string, unknown> = {
      id: p.eventId,
      type: p.type,
      occurredAt: e.kind === 'worklog' ? e.at.toISOString() : occurredAt,
      ticket: {
        reference: t.reference,
        title: t.title,
        status: t.status,
        urgency: t.urgency,
        channel: t.channel,
        tags: t.tags,
        version: t.version,
        owner: t.ownerName !== null ? { name: t.ownerName } : null,
        team: t.teamName !== null ? { name: t.teamName } : null,
        customer: { name: t.customerName, email: t.customerEmail },
        createdAt: new Date(t.createdAt).toISOString(),
        updatedAt: new Date(t.updatedAt).toISOString(),
        url: publicUrl ? `${publicUrl}/tickets/${encodeURIComponent(t.reference)}` : null,
      },
      actor: actorOf(e.actor),
    };
    if (e.kind === 'changed') {
      body.changes = e.fields.map((f) => ({ field: f, from: shown(e.before[f]), to: shown(e.after[f]) }));
    } else if (e.kind === 'worklog') {
      const entry = byEntry.get(e.entryId);
      if (entry) {
        body.entry = {
          id: entry.id,
          kind: entry.kind,
          body: cut(entry.body, ENTRY_BODY_MAX),
          truncated: entry.body.length > ENTRY_BODY_MAX,
          outcome: entry.outcome,
          createdAt: entry.createdAt.toISOString(),
        };
      }
    } else if (e.kind === 'sla') {
      body.sla = { phase: e.phase, target: e.target };
    }
    const json = JSON.stringify(body);
    for (const endpointId of p.endpoints) rows.push({ eventId: p.eventId, eventType: p.type, body: json, ticketId: t.id, endpointId });
  }
  // One statement (raw: Prisma's createMany costs several times more CPU per call here).
  if (rows.length) {
    await sql(
      tx,
      `INSERT INTO "WebhookDelivery" ("eventId", "eventType", body, "ticketId", "endpointId")
       SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::text[], $4::int[], $5::int[])`,
      [rows.map((r) => r.eventId), rows.map((r) => r.eventType), rows.map((r) => r.body), rows.map((r) => r.ticketId), rows.map((r) => r.endpointId)],
    );
  }
}
