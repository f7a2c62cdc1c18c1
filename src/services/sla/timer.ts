// The SLA job: at a ticket's next check time (queued by a trigger when the time is set or moves),
// it looks at the ticket's clocks as its history gives them now and acts on every warning and
// breach that has come: once per target cycle (SlaEvent's unique key; several instances or a
// retried job never act twice), notifying the owner — or the team's members while nobody owns it —
// and, on a breach, escalating as the policy says (urgency one step up; the ticket handed to the
// team's lead). The escalation is a tracked change done by "SLA"; the automation rules hear of the
// warning or breach as a ticket event of the same transaction.
import type { Database, Db, Tx } from '../../db/client.js';
import { URGENCIES, type Urgency } from '../../domain/enums.js';
import type { SlaTargetKind, TargetClock } from '../../domain/sla-clock.js';
import type { Ticket } from '../../generated/prisma/client.js';
import { SLA_QUEUE, startWorker, type JobRunner } from '../../jobs/queue.js';
import { systemActor } from '../context.js';
import { notifyUsers } from '../notifications/notify.js';
import { recordTicketEvent, ticketTransaction } from '../tickets/events.js';
import { changeTicket, type TicketPatch } from '../tickets/history.js';
import { invalidateQueueCounts } from '../tickets/queue.js';
import type { ActivePolicy } from './policies.js';
import { readSla, recomputeSla } from './recompute.js';
import { runSlaSweepJob } from './sweep.js';
import { countSlaActions } from '../../observability/metrics.js';

export const TARGET_LABEL: Record<SlaTargetKind, string> = {
  FIRST_RESPONSE: 'First response',
  NEXT_RESPONSE: 'Next response',
  RESOLUTION: 'Resolution',
};

type Phase = 'warning' | 'breach';

/** Records that the phase of this clock cycle was acted on; false when it already was. */
async function claim(tx: Tx, ticketId: number, clock: TargetClock, phase: Phase, dueAt: Date): Promise<boolean> {
  const rows = await tx.$queryRaw<{ id: number }[]>`
    INSERT INTO "SlaEvent" ("ticketId", target, cycle, phase, "dueAt")
    VALUES (${ticketId}, ${clock.kind}, ${clock.cycle}, ${phase}, ${dueAt})
    ON CONFLICT ("ticketId", target, cycle, phase) DO NOTHING RETURNING id`;
  return rows.length > 0;
}

/** Who is told: the owner, or the team's active members while the ticket has none. */
async function recipients(tx: Tx, ticket: Ticket): Promise<number[]> {
  if (ticket.assigneeId !== null) return [ticket.assigneeId];
  const members = await tx.teamMember.findMany({ where: { teamId: ticket.teamId, user: { active: true } }, select: { userId: true } });
  return members.map((m) => m.userId);
}

const SLA = systemActor('sla');

/** A breach's escalation: the urgency one step up, the ticket to the team's lead (as the policy says). */
async function escalate(tx: Tx, ticket: Ticket, policy: ActivePolicy): Promise<Ticket> {
  const patch: TicketPatch = {};
  if (policy.escalateUrgency) {
    const i = URGENCIES.indexOf(ticket.urgency);
    if (i > 0) patch.urgency = URGENCIES[i - 1] as Urgency; // URGENCIES runs from CRITICAL down
  }
  if (policy.escalateToLead) {
    const team = await tx.team.findUnique({
      where: { id: ticket.teamId },
      select: { leadId: true, lead: { select: { active: true, teams: { where: { teamId: ticket.teamId }, select: { teamId: true } } } } },
    });
    // The lead must still be an active member of the team (an owner always is).
    if (team?.leadId && team.leadId !== ticket.assigneeId && team.lead?.active && team.lead.teams.length > 0) {
      patch.assigneeId = team.leadId;
      if (ticket.status === 'NEW') patch.status = 'OPEN';
    }
  }
  return Object.keys(patch).length ? changeTicket(tx, SLA, ticket, patch) : ticket;
}

/**
 * Looks at one ticket's clocks at `now` and acts on what has come. Returns what was acted on
 * ("FIRST_RESPONSE:1:breach", …), for the tests and the log.
 */
export async function checkSlaTicket(db: Db, ticketId: number, now = new Date()): Promise<string[]> {
  const acted: string[] = [];
  await ticketTransaction(db, async (tx) => {
    // One check at a time per ticket, and none while someone changes it.
    const locked = await tx.$queryRaw<{ id: number }[]>`SELECT id FROM "Ticket" WHERE id = ${ticketId} FOR NO KEY UPDATE`;
    if (locked.length === 0) return;
    const result = (await readSla(tx, [ticketId])).get(ticketId);
    if (result?.computation && result.policy) {
      let ticket = await tx.ticket.findUniqueOrThrow({ where: { id: ticketId } });
      for (const clock of result.computation.clocks) {
        if (clock.state !== 'running' || !clock.dueAt) continue;
        const warn = result.warnings?.clocks.find((w) => w.kind === clock.kind && w.cycle === clock.cycle);
        let phase: Phase | null = null;
        let at = clock.dueAt;
        if (clock.dueAt <= now) phase = 'breach';
        else if (warn?.state === 'running' && warn.dueAt && warn.dueAt <= now) {
          phase = 'warning';
          at = warn.dueAt;
        }
        if (!phase || !(await claim(tx, ticketId, clock, phase, phase === 'breach' ? clock.dueAt : at))) continue;
        acted.push(`${clock.kind}:${clock.cycle}:${phase}`);
        const what = TARGET_LABEL[clock.kind].toLowerCase();
        const minutes = Math.round(clock.targetMs / 60_000);
        await notifyUsers(tx, SLA, ticketId, await recipients(tx, ticket), {
          kind: phase === 'breach' ? 'SLA_BREACH' : 'SLA_WARNING',
          summary:
            phase === 'breach'
              ? `missed the ${what} target (${minutes} business minutes, policy ${result.policy.name})`
              : `${what} is due soon: ${result.policy.warnPercent}% of its ${minutes} business minutes used (policy ${result.policy.name})`,
          ticketVersion: ticket.version,
        });
        if (phase === 'breach') ticket = await escalate(tx, ticket, result.policy);
        // Automation rules listening for SLA warnings and breaches run in this transaction too.
        recordTicketEvent(tx, { kind: 'sla', ticketId, actor: SLA, phase, target: clock.kind });
      }
    }
    // The next check (or none), with what was just acted on left out; queued by the trigger.
    await recomputeSla(tx, [ticketId]);
  });
  if (acted.length) invalidateQueueCounts();
  countSlaActions(acted); // after the commit: a rolled-back breach is not counted
  return acted;
}

/** Runs the SLA jobs in this process until stop(). */
export function startSlaTimer(db: Database, opts: { pollInterval: number }): Promise<JobRunner> {
  return startWorker(
    db.pool,
    SLA_QUEUE,
    async (data) => {
      const job = data as { ticketId?: number; sweepAfter?: number };
      if (typeof job.sweepAfter === 'number') await runSlaSweepJob(db.prisma, job.sweepAfter);
      else if (typeof job.ticketId === 'number') await checkSlaTicket(db.prisma, job.ticketId);
    },
    { concurrency: 1, pollInterval: opts.pollInterval },
  );
}
