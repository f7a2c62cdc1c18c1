// Run book automations: a step with an automation queues a signed HTTPS POST to the tool behind
// it (Rundeck, StackStorm, a script's webhook) when it is done. The request is an
// AutomationDelivery row written in the step's transaction; its trigger queues the job (pg-boss)
// in that transaction too, so a rolled-back step sends nothing and a committed one is sent even if
// the process dies right after. The worker (src/jobs/automation-worker.ts) sends it with no
// transaction open, retries network failures, timeouts, 5xx, 408 and 429 with exponential backoff,
// and records the answer — status and the first 4 KB of its body — on the delivery and in the
// ticket's history, written by the "Run book automation" system actor. (No work-log entry: an
// entry needs a person or the customer as its author; the checklist shows each delivery's answer.)
import type { Database, Tx } from '../../db/client.js';
import type { RunbookStep, Ticket, TicketRunbookStep } from '../../generated/prisma/client.js';
import { historyActorColumns, systemActor, type Actor } from '../context.js';
import { OutgoingRefused, sendSignedRequest, type OutgoingPolicy, outgoingPolicy } from '../outgoing/signed-request.js';
import { logError } from '../../log.js';

/** What the request says, fixed when the step is done (the delivery id is added when it is sent). */
export interface AutomationPayload {
  event: 'runbook.step';
  ticket: { reference: string; title: string; urgency: string; status: string; customer: { name: string; email: string; organization: string | null } };
  runbook: { id: number; title: string; version: number };
  step: { position: number; title: string; value: string | null; outcome: string | null };
  requestedBy: { name: string };
  requestedAt: string;
}

/** Queues the step's automation request and its history row, in the caller's transaction. */
export async function queueAutomation(
  tx: Tx,
  actor: Actor,
  ticket: Ticket,
  tr: { id: number; runbookId: number; runbook: { title: string }; version: { number: number } },
  step: Pick<RunbookStep, 'id' | 'position' | 'title' | 'automationUrl'>,
  done: Pick<TicketRunbookStep, 'id' | 'value' | 'outcome'>,
) {
  if (!step.automationUrl) throw new Error('the step has no automation');
  const customer = await tx.customer.findUniqueOrThrow({
    where: { id: ticket.customerId },
    select: { name: true, email: true, organization: { select: { name: true } } },
  });
  const payload: AutomationPayload = {
    event: 'runbook.step',
    ticket: {
      reference: ticket.reference,
      title: ticket.title,
      urgency: ticket.urgency,
      status: ticket.status,
      customer: { name: customer.name, email: customer.email, organization: customer.organization?.name ?? null },
    },
    runbook: { id: tr.runbookId, title: tr.runbook.title, version: tr.version.number },
    step: { position: step.position, title: step.title, value: done.value, outcome: done.outcome },
    requestedBy: { name: actor.name },
    requestedAt: new Date().toISOString(),
  };
  const delivery = await tx.automationDelivery.create({
    data: { ticketId: ticket.id, stepId: step.id, ticketStepId: done.id, url: step.automationUrl, payload: payload as object },
  });
  await tx.ticketHistory.create({
    data: {
      ticketId: ticket.id,
      ...historyActorColumns(actor),
      action: 'AUTOMATION_QUEUED',
      field: 'automation',
      newRefId: delivery.id,
      newValue: `${tr.runbook.title} — step ${step.position}: ${step.title}`,
      ticketVersion: ticket.version,
      createdAt: delivery.createdAt,
    },
  });
  return delivery;
}

/** Statuses worth another try: the receiver is busy or broken for now. */
const retryable = (status: number) => status >= 500 || status === 408 || status === 429;

/** What the history says of an answer (the excerpt shortened: the checklist shows the 4 KB). */
function summary(stepTitle: string, status: number | null, text: string): string {
  const short = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return status === null ? `Automation “${stepTitle}” failed: ${short}` : `Automation “${stepTitle}” answered ${status}${short ? `: ${short}` : ''}`;
}

export type DeliveryResult = 'succeeded' | 'failed' | 'retry' | 'skipped';

/**
 * Sends delivery `id` unless it was finished already, and records what came back. Throws (so
 * that the job queue retries it later) on a failure worth retrying, unless `lastAttempt`.
 */
export async function deliverAutomation(db: Database, id: number, lastAttempt = false, policy: OutgoingPolicy = outgoingPolicy()): Promise<DeliveryResult> {
  const d = await db.prisma.automationDelivery.findUnique({
    where: { id },
    include: { step: { select: { title: true, automationSecret: { select: { secret: true } } } } },
  });
  if (!d || d.state !== 'QUEUED') return 'skipped';
  const secret = d.step.automationSecret?.secret;
  const body = JSON.stringify({ deliveryId: d.id, ...(d.payload as object) });

  let status: number | null = null;
  let text = '';
  let final = lastAttempt;
  let ok = false;
  try {
    if (!secret) throw new OutgoingRefused('the step has no signing secret');
    const res = await sendSignedRequest({ url: d.url, secret, body, deliveryId: d.id }, policy);
    status = res.status;
    text = res.excerpt;
    ok = status >= 200 && status < 300;
    if (!ok && !retryable(status)) final = true;
  } catch (err) {
    text = (err as Error).message;
    if (err instanceof OutgoingRefused) final = true;
  }

  const now = new Date();
  if (!ok && !final) {
    // Recorded, then thrown: the queue tries again after its backoff.
    await db.prisma.automationDelivery.updateMany({
      where: { id: d.id, state: 'QUEUED' },
      data: { attempts: { increment: 1 }, lastAttemptAt: now, responseStatus: status, responseExcerpt: status === null ? null : text, lastError: (status === null ? text : `HTTP ${status}`).slice(0, 1000) },
    });
    // Never the URL's query nor the secret in the log: the delivery id and what went wrong.
    logError(`[automation] delivery ${d.id} attempt failed (will retry): ${status === null ? text : `HTTP ${status}`}`);
    throw new Error(`automation delivery ${d.id} failed; retrying`);
  }
  await db.prisma.$transaction(async (tx) => {
    const { count } = await tx.automationDelivery.updateMany({
      where: { id: d.id, state: 'QUEUED' },
      data: {
        state: ok ? 'SUCCEEDED' : 'FAILED',
        attempts: { increment: 1 },
        lastAttemptAt: now,
        finishedAt: now,
        responseStatus: status,
        responseExcerpt: status === null ? null : text,
        lastError: ok ? null : (status === null ? text : `HTTP ${status}`).slice(0, 1000),
      },
    });
    if (count === 0) return; // another worker finished it meanwhile
    const ticket = await tx.ticket.findUniqueOrThrow({ where: { id: d.ticketId }, select: { version: true } });
    await tx.ticketHistory.create({
      data: {
        ticketId: d.ticketId,
        ...historyActorColumns(systemActor('automation')),
        action: 'AUTOMATION_ANSWERED',
        field: ok ? 'succeeded' : 'failed',
        newRefId: d.id,
        newValue: summary(d.step.title, status, text),
        ticketVersion: ticket.version,
        createdAt: now,
      },
    });
  });
  return ok ? 'succeeded' : 'failed';
}
