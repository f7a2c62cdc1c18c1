// After the faults: is every acknowledged write in the database, and is nothing half-written?
import pg from 'pg';
import type { Ledger } from './writers.js';

export interface Verification {
  found: { creates: number; urgencies: number; worklogs: number; total: number };
  /** Acknowledged writes not in the database (each one a lost write). */
  missing: string[];
  /** Rows that break the invariants: half-written changes. */
  problems: string[];
  /** How many of each, before the lists above were cut short. */
  missingCount: number;
  problemCount: number;
  /** Creates that got no answer (app killed meanwhile) but were committed: allowed, shown for interest. */
  unansweredCommitted: number;
  rows: { tickets: number; history: number; worklog: number; customers: number };
}

interface TicketRow {
  id: number;
  reference: string;
  title: string;
  version: number;
  urgency: string;
  customerId: number;
}
interface HistoryRow {
  id: number;
  ticketId: number;
  action: string;
  field: string | null;
  newValue: string | null;
  newRefId: number | null;
  ticketVersion: number;
}
interface WorklogRow {
  id: number;
  ticketId: number;
  body: string;
}

const LIMIT = 20;

export async function verify(databaseUrl: string, ledger: Ledger): Promise<Verification> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tickets = (
      await client.query<TicketRow>(
        `SELECT id, reference, title, version, urgency::text AS urgency, "customerId" FROM "Ticket"`,
      )
    ).rows;
    const history = (
      await client.query<HistoryRow>(
        `SELECT id, "ticketId", action::text AS action, field, "newValue", "newRefId", "ticketVersion"
           FROM "TicketHistory" ORDER BY id`,
      )
    ).rows;
    const worklog = (await client.query<WorklogRow>(`SELECT id, "ticketId", body FROM "WorkLogEntry"`)).rows;
    const customers = (await client.query<{ id: number }>(`SELECT id FROM "Customer"`)).rows;

    const byRef = new Map(tickets.map((t) => [t.reference, t]));
    const byId = new Map(tickets.map((t) => [t.id, t]));
    const byTitle = new Set(tickets.map((t) => t.title));
    const historyOf = new Map<number, HistoryRow[]>();
    for (const h of history) {
      const list = historyOf.get(h.ticketId) ?? [];
      list.push(h);
      historyOf.set(h.ticketId, list);
    }
    const entryByBody = new Map(worklog.map((w) => [w.body, w]));
    const entryById = new Map(worklog.map((w) => [w.id, w]));

    const missing: string[] = [];
    const miss = (text: string) => missing.push(text);

    // 1. Every acknowledged write is there.
    let creates = 0;
    for (const ack of ledger.creates) {
      const t = byRef.get(ack.reference);
      if (!t) {
        miss(`ticket ${ack.reference} ("${ack.title}") was acknowledged but does not exist`);
        continue;
      }
      if (t.title !== ack.title) miss(`ticket ${ack.reference} has title "${t.title}", acknowledged "${ack.title}"`);
      else if (!(historyOf.get(t.id) ?? []).some((h) => h.action === 'CREATED')) miss(`ticket ${ack.reference} has no CREATED history row`);
      else creates++;
    }
    let urgencies = 0;
    for (const ack of ledger.urgencies) {
      const t = byRef.get(ack.reference);
      const row = t
        ? (historyOf.get(t.id) ?? []).find(
            (h) => h.action === 'CHANGED' && h.field === 'urgency' && h.ticketVersion === ack.fromVersion + 1,
          )
        : undefined;
      if (!row) miss(`urgency change of ${ack.reference} to ${ack.urgency} (version ${ack.fromVersion} → ${ack.fromVersion + 1}) was acknowledged but has no history row`);
      else if (row.newValue !== ack.urgency) miss(`urgency change of ${ack.reference} at version ${ack.fromVersion + 1} is ${row.newValue}, acknowledged ${ack.urgency}`);
      else urgencies++;
    }
    let worklogs = 0;
    for (const ack of ledger.worklogs) {
      const entry = entryByBody.get(ack.body);
      const t = byRef.get(ack.reference);
      if (!entry || !t || entry.ticketId !== t.id) {
        miss(`work-log entry "${ack.body}" on ${ack.reference} was acknowledged but does not exist`);
        continue;
      }
      if (!(historyOf.get(t.id) ?? []).some((h) => h.action === 'WORKLOG_ADDED' && h.newRefId === entry.id)) {
        miss(`work-log entry "${ack.body}" on ${ack.reference} has no WORKLOG_ADDED history row`);
        continue;
      }
      worklogs++;
    }

    // 2. Nothing is half-written.
    const problems: string[] = [];
    const problem = (text: string) => problems.push(text);
    for (const t of tickets) {
      const rows = historyOf.get(t.id) ?? [];
      const created = rows.filter((h) => h.action === 'CREATED');
      if (created.length !== 1) problem(`ticket ${t.reference} has ${created.length} CREATED history rows`);
      else if (created[0]!.ticketVersion !== 1) problem(`ticket ${t.reference}'s CREATED row has version ${created[0]!.ticketVersion}`);
      const ahead = rows.filter((h) => h.ticketVersion > t.version);
      if (ahead.length) problem(`ticket ${t.reference} is at version ${t.version} but has history rows for version ${ahead[0]!.ticketVersion}`);
      // Every version after the first came with its history rows, and no history row without its version.
      const changedVersions = new Set(rows.filter((h) => h.action === 'CHANGED').map((h) => h.ticketVersion));
      for (let v = 2; v <= t.version; v++) {
        if (!changedVersions.has(v)) {
          problem(`ticket ${t.reference} reached version ${v} without a history row for it`);
          break;
        }
      }
      // The ticket's urgency is what its history says it became last.
      const lastUrgency = rows
        .filter((h) => h.action === 'CHANGED' && h.field === 'urgency')
        .sort((a, b) => a.ticketVersion - b.ticketVersion)
        .at(-1)?.newValue;
      let expected = lastUrgency;
      if (expected === undefined && created[0]?.newValue) {
        try {
          expected = (JSON.parse(created[0].newValue) as { urgency?: string }).urgency;
        } catch {
          problem(`ticket ${t.reference}'s CREATED row holds no JSON: ${created[0].newValue}`);
        }
      }
      if (expected !== undefined && expected !== t.urgency) problem(`ticket ${t.reference} has urgency ${t.urgency}, its history says ${expected}`);
    }
    for (const h of history) {
      if (!byId.has(h.ticketId)) problem(`history row ${h.id} belongs to no ticket`);
      if (h.action === 'WORKLOG_ADDED') {
        const entry = h.newRefId === null ? undefined : entryById.get(h.newRefId);
        if (!entry || entry.ticketId !== h.ticketId) problem(`history row ${h.id} records work-log entry ${h.newRefId}, which does not exist on its ticket`);
      }
    }
    const recorded = new Map<number, number>();
    for (const h of history) if (h.action === 'WORKLOG_ADDED' && h.newRefId !== null) recorded.set(h.newRefId, (recorded.get(h.newRefId) ?? 0) + 1);
    for (const w of worklog) {
      const n = recorded.get(w.id) ?? 0;
      if (n !== 1) problem(`work-log entry ${w.id} has ${n} WORKLOG_ADDED history rows`);
    }
    const customerIds = new Set(customers.map((c) => c.id));
    const withTickets = new Set(tickets.map((t) => t.customerId));
    for (const t of tickets) if (!customerIds.has(t.customerId)) problem(`ticket ${t.reference} has no customer (${t.customerId})`);
    // Customers come only with a ticket here: one without any is a creation half done.
    for (const c of customers) if (!withTickets.has(c.id)) problem(`customer ${c.id} has no ticket`);

    return {
      found: { creates, urgencies, worklogs, total: creates + urgencies + worklogs },
      missing: cap(missing),
      problems: cap(problems),
      missingCount: missing.length,
      problemCount: problems.length,
      unansweredCommitted: ledger.unansweredTitles.filter((t) => byTitle.has(t)).length,
      rows: { tickets: tickets.length, history: history.length, worklog: worklog.length, customers: customers.length },
    };
  } finally {
    await client.end();
  }
}

function cap(list: string[]): string[] {
  return list.length > LIMIT ? [...list.slice(0, LIMIT), `… and ${list.length - LIMIT} more`] : list;
}
