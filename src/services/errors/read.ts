// What the pages show of reported errors: a project's problems, and a ticket's "Error reports"
// panel (read in one query, only for tickets that are automatic reports).
import type { Db, Tx } from '../../db/client.js';
import { sql } from '../../db/client.js';
import type { TicketStatus } from '../../domain/enums.js';
import type { ServiceContext } from '../context.js';
import { assertCan } from '../policy.js';
import type { EventData } from './event.js';

export interface ProblemListRow {
  id: number;
  type: string;
  message: string;
  culprit: string | null;
  count: string;
  firstSeen: Date;
  lastSeen: Date;
  releases: string[];
  environments: string[];
  fixedInRelease: string | null;
  reference: string;
  status: TicketStatus;
}

/** A project's problems, the most recently seen first (the newest 200). */
export async function listProblems(ctx: ServiceContext, projectId: number): Promise<ProblemListRow[]> {
  assertCan(ctx.actor, 'errors.read');
  return sql<ProblemListRow>(
    ctx.db,
    `SELECT p.id, p.type, p.message, p.culprit, p.count::text AS count, p."firstSeen", p."lastSeen", p.releases, p.environments,
            p."fixedInRelease", t.reference, t.status::text AS status
     FROM "ErrorProblem" p JOIN "Ticket" t ON t.id = p."ticketId"
     WHERE p."projectId" = $1 ORDER BY p."lastSeen" DESC, p.id DESC LIMIT 200`,
    [projectId],
  );
}

export interface ProblemPanel {
  project: string;
  count: string;
  firstSeen: Date;
  lastSeen: Date;
  releases: string[];
  environments: string[];
  fixedInRelease: string | null;
  events: { eventId: string; receivedAt: Date; release: string | null; environment: string | null; data: EventData }[];
}

/** The ticket's problem with its kept events, newest first (null: not an error report). */
export async function problemPanel(db: Db | Tx, ticketId: number): Promise<ProblemPanel | null> {
  const [row] = await sql<ProblemPanel & { events: (ProblemPanel['events'][number] & { receivedAt: string })[] | null }>(
    db,
    `SELECT pr.name AS project, p.count::text AS count, p."firstSeen", p."lastSeen", p.releases, p.environments, p."fixedInRelease",
            (SELECT json_agg(json_build_object('eventId', e."eventId", 'receivedAt', e."receivedAt", 'release', e.release,
                                               'environment', e.environment, 'data', e.data) ORDER BY e.id DESC)
             FROM "ErrorEvent" e WHERE e."problemId" = p.id) AS events
     FROM "ErrorProblem" p JOIN "ErrorProject" pr ON pr.id = p."projectId"
     WHERE p."ticketId" = $1`,
    [ticketId],
  );
  if (!row) return null;
  return { ...row, events: (row.events ?? []).map((e) => ({ ...e, receivedAt: new Date(e.receivedAt) })) };
}
