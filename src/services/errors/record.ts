// Records a batch of events of one problem in one transaction: the problem (and its ticket, the
// first time, created by the project's service account through the ticket service), its counters
// (count += n: never a read-modify-write of the count), the releases and environments seen, the
// newest events kept (older ones deleted), and a regression: a resolved ticket reopened when the
// problem is seen again in the release it was fixed in or a later one.
//
// Batches of one problem take turns on a transaction-scoped advisory lock on (project,
// fingerprint), on every instance: the first creates the ticket, the others find the problem;
// and of concurrent events that would reopen a ticket, the first reopens it, the next find it open.
import type { Db, Tx } from '../../db/client.js';
import type { TicketEventHandler } from '../tickets/events.js';
import type { ErrorProject, Ticket } from '../../generated/prisma/client.js';
import { createTicket } from '../tickets/create-ticket.js';
import { applyReopen } from '../tickets/reopen-ticket.js';
import { settleTicketEvents } from '../tickets/events.js';
import { invalidateQueueCounts } from '../tickets/queue.js';
import type { ReportedEvent } from './event.js';
import { addLabels, compareReleases, newestRelease } from './releases.js';
import { serviceActor } from './projects.js';

/** Events kept per problem (the newest). */
export const EVENTS_KEPT = 20;

export interface ProblemBatch {
  project: ErrorProject;
  fingerprint: string;
  /** How many events (all counted; only `kept` are stored). */
  count: number;
  firstSeen: Date;
  lastSeen: Date;
  /** In the order first seen in the batch. */
  releases: string[];
  environments: string[];
  /** The newest events of the batch, oldest first, at most EVENTS_KEPT. */
  kept: ReportedEvent[];
}

export interface RecordedProblem {
  problemId: number;
  ticketId: number;
  reference: string;
  created: boolean;
  reopened: boolean;
}

const clip = (s: string, max: number) => (s.length > max ? s.slice(0, max - 1) + '…' : s);

/** The new problem's ticket: what the first event says, where it was thrown. */
function ticketText(project: ErrorProject, event: ReportedEvent): { title: string; description: string } {
  const title = clip(`${event.type}${event.message ? `: ${event.message.split('\n')[0]}` : ''}`, 200);
  const main = event.data.exceptions.at(-1);
  const frames = (main?.frames ?? [])
    .slice(-10)
    .reverse()
    .map((f) => `  at ${f.function ?? '?'} (${f.module ?? f.filename ?? '?'}${f.lineno !== null ? `:${f.lineno}` : ''})`);
  const description = [
    `${project.name} reported ${event.type}${event.message ? `: ${event.message}` : ''}`,
    event.culprit ? `Where: ${event.culprit}` : null,
    event.release ? `Release: ${event.release}` : null,
    event.environment ? `Environment: ${event.environment}` : null,
    frames.length ? `Stack (newest call first):\n${frames.join('\n')}` : null,
    `First event: ${event.eventId}. Later occurrences are counted on this ticket's "Error reports" panel.`,
  ]
    .filter(Boolean)
    .join('\n\n');
  return { title, description };
}

interface ProblemRow {
  id: number;
  ticketId: number;
  releases: string[];
  environments: string[];
  fixedInRelease: string | null;
}

export async function recordProblemBatch(db: Db, batch: ProblemBatch): Promise<RecordedProblem> {
  const result = await db.$transaction(
    async (tx) => {
      const { project, fingerprint } = batch;
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('caseboard.error-problem'), hashtext(${`${project.id}:${fingerprint}`}))`;
      const [existing] = await tx.$queryRaw<ProblemRow[]>`
        SELECT id, "ticketId", releases, environments, "fixedInRelease" FROM "ErrorProblem"
        WHERE "projectId" = ${project.id} AND fingerprint = ${fingerprint} FOR NO KEY UPDATE`;
      const releases = addLabels(existing?.releases ?? [], batch.releases);
      const environments = addLabels(existing?.environments ?? [], batch.environments);
      let problem: ProblemRow;
      let ticket: Ticket;
      const actor = await serviceActor(tx, project);
      if (!existing) {
        const first = batch.kept[0]!;
        const customer = await tx.customer.findUniqueOrThrow({ where: { id: project.customerId }, select: { name: true, email: true } });
        ticket = await createTicket(
          { db, actor },
          {
            ...ticketText(project, first),
            channel: 'AUTOMATIC',
            urgency: project.urgency,
            teamId: project.teamId,
            customer: { name: customer.name, email: customer.email },
            notifyCustomer: false,
          },
          { tx },
        );
        problem = await tx.errorProblem.create({
          data: {
            projectId: project.id,
            fingerprint,
            ticketId: ticket.id,
            type: clip(first.type, 200),
            message: clip(first.message, 1000),
            culprit: first.culprit,
            firstSeen: batch.firstSeen,
            lastSeen: batch.lastSeen,
            count: BigInt(batch.count),
            releases,
            environments,
          },
          select: { id: true, ticketId: true, releases: true, environments: true, fixedInRelease: true },
        });
      } else {
        problem = existing;
        await tx.$executeRaw`
          UPDATE "ErrorProblem" SET count = count + ${batch.count}, "lastSeen" = greatest("lastSeen", ${batch.lastSeen}),
                 "firstSeen" = least("firstSeen", ${batch.firstSeen}), releases = ${releases}, environments = ${environments}
          WHERE id = ${existing.id}`;
        ticket = await tx.ticket.findUniqueOrThrow({ where: { id: existing.ticketId } });
      }
      await tx.errorEvent.createMany({
        data: batch.kept.map((e) => ({
          problemId: problem.id,
          eventId: e.eventId,
          receivedAt: e.receivedAt,
          release: e.release,
          environment: e.environment,
          data: e.data as object,
        })),
      });
      // Only the newest EVENTS_KEPT stay (at most EVENTS_KEPT + a batch's are there now).
      await tx.$executeRaw`
        DELETE FROM "ErrorEvent" WHERE "problemId" = ${problem.id} AND id <= (
          SELECT id FROM "ErrorEvent" WHERE "problemId" = ${problem.id} ORDER BY id DESC OFFSET ${EVENTS_KEPT} LIMIT 1)`;

      let reopened = false;
      if (existing && ticket.status === 'RESOLVED') {
        const again = regression(batch, problem.fixedInRelease, releases);
        if (again) {
          const where = again.release ? ` in release ${again.release}` : '';
          ticket = await applyReopen(tx, actor, ticket, `Seen again${where} (event ${again.eventId}).`);
          reopened = true;
        }
      }
      await settleTicketEvents(tx);
      return { problemId: problem.id, ticketId: ticket.id, reference: ticket.reference, created: !existing, reopened };
    },
    { timeout: 30_000, maxWait: 30_000 },
  );
  if (result.created || result.reopened) invalidateQueueCounts();
  return result;
}

/**
 * The event that shows a fixed problem is back: one of a release at or after the one it was
 * fixed in (events of older releases, or without a release, only count). A problem resolved before
 * any release was seen has no such release: any new event shows it back.
 */
function regression(batch: ProblemBatch, fixedIn: string | null, seen: readonly string[]): { release: string | null; eventId: string } | null {
  const newest = [...batch.kept].reverse();
  if (fixedIn === null) return { release: newest[0]?.release ?? null, eventId: newest[0]?.eventId ?? '?' };
  const release = batch.releases.find((r) => compareReleases(r, fixedIn, seen) >= 0);
  if (!release) return null;
  const event = newest.find((e) => e.release === release) ?? newest[0];
  return { release, eventId: event?.eventId ?? '?' };
}

/**
 * A problem's ticket is resolved: the release it is fixed in is the newest seen so far (the
 * ticket events' handler, below, in the resolving transaction). An explicit one may be given.
 */
export async function markFixedIn(tx: Tx, ticketId: number, release?: string | null): Promise<boolean> {
  const [problem] = await tx.$queryRaw<{ id: number; releases: string[]; fixedInRelease: string | null }[]>`
    SELECT id, releases, "fixedInRelease" FROM "ErrorProblem" WHERE "ticketId" = ${ticketId} FOR NO KEY UPDATE`;
  if (!problem) return false;
  // Set by hand (the ticket's Error reports panel) before resolving: kept.
  const fixed = release ?? problem.fixedInRelease ?? newestRelease(problem.releases);
  await tx.$executeRaw`UPDATE "ErrorProblem" SET "fixedInRelease" = ${fixed} WHERE id = ${problem.id}`;
  return true;
}

/**
 * Resolving an automatic report's ticket marks its problem fixed in the newest release seen (unless
 * a release was set by hand); reopening it (by anyone) forgets the release, until the next resolution.
 */
export const errorReportsHandler: TicketEventHandler = {
  name: 'error-reports',
  async handle(tx, events) {
    for (const e of events) {
      if (e.kind !== 'changed' || !e.fields.includes('status') || e.after.channel !== 'AUTOMATIC') continue;
      if (e.after.status === 'RESOLVED') await markFixedIn(tx, e.ticketId);
      else if (e.before.status === 'RESOLVED' && e.after.status !== 'CLOSED') {
        await tx.$executeRaw`UPDATE "ErrorProblem" SET "fixedInRelease" = NULL WHERE "ticketId" = ${e.ticketId}`;
      }
    }
  },
};
