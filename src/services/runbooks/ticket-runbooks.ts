// Run books on a ticket: attached (by hand, by a rule, from a suggestion) with the version
// published at that moment, which the ticket keeps; worked step by step, in order. A step done is
// a record (who, when, the value checked, the fix's outcome), with an attempted-fix entry in the
// work log when the step is a fix, and a history row; a step with an automation queues its
// request in the same transaction (automation.ts).
import type { Tx } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { Ticket, TicketRunbook } from '../../generated/prisma/client.js';
import type { FixOutcome, RunbookAttachedHow } from '../../generated/prisma/enums.js';
import { historyActorColumns, isCustomerActor, isSystemActor, type HistoryActor, type ServiceContext } from '../context.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { assertCan } from '../policy.js';
import { mutateTicket } from '../tickets/mutate.js';
import { appendWorkLog } from '../tickets/add-work-log.js';
import { queueAutomation } from './automation.js';

/**
 * Attaches run book `runbookId` (its current published version) to the ticket, in the caller's
 * transaction, with its history row; attaching one that is attached already changes nothing.
 * For automation rules: `actor` may be a system actor (how: BY_RULE). Free of web concerns.
 */
export async function attachRunbookInTx(tx: Tx, actor: HistoryActor, ticket: Ticket, runbookId: number, how: RunbookAttachedHow): Promise<TicketRunbook> {
  if (isCustomerActor(actor)) throw new ForbiddenError();
  const rb = await tx.runbook.findUnique({ where: { id: runbookId }, include: { currentVersion: { select: { id: true, number: true } } } });
  if (!rb || rb.status !== 'PUBLISHED' || !rb.currentVersion) {
    throw new ValidationError('Choose a published run book.', { runbookId: 'Choose a published run book.' });
  }
  const existing = await tx.ticketRunbook.findUnique({ where: { ticketId_runbookId: { ticketId: ticket.id, runbookId } } });
  if (existing) return existing;
  const attached = await tx.ticketRunbook.create({
    data: {
      ticketId: ticket.id,
      runbookId,
      versionId: rb.currentVersion.id,
      how,
      attachedById: isSystemActor(actor) ? null : actor.id,
      attachedBySystem: isSystemActor(actor) ? actor.system : null,
    },
  });
  await tx.ticketHistory.create({
    data: {
      ticketId: ticket.id,
      ...historyActorColumns(actor),
      action: 'RUNBOOK_ATTACHED',
      field: how,
      newRefId: attached.id,
      newValue: `${rb.title} (version ${rb.currentVersion.number})`,
      ticketVersion: ticket.version,
      createdAt: attached.createdAt,
    },
  });
  return attached;
}

/** Attach a published run book to a ticket by hand, or from the ticket page's suggestions. */
export function attachRunbook(ctx: ServiceContext, reference: string, runbookId: number, how: 'BY_HAND' | 'SUGGESTED' = 'BY_HAND') {
  assertCan(ctx.actor, 'runbook.read');
  return mutateTicket(ctx, 'ticket.update', { reference }, (tx, ticket) => attachRunbookInTx(tx, ctx.actor, ticket, runbookId, how));
}

export interface StepDone {
  /** VALUE: the text recorded; YES_NO: 'yes' or 'no'. */
  value?: string | null;
  /** For a fix: how it went. */
  outcome?: FixOutcome | null;
  note?: string | null;
}

const NOTE_MAX = 10_000;

async function attachedOf(tx: Tx, ticket: Ticket, ticketRunbookId: number) {
  const tr = await tx.ticketRunbook.findFirst({
    where: { id: ticketRunbookId, ticketId: ticket.id },
    include: {
      runbook: { select: { title: true } },
      version: { select: { number: true, steps: { orderBy: { position: 'asc' } } } },
      steps: { select: { stepId: true } },
    },
  });
  if (!tr) throw new NotFoundError('That run book is not attached to this ticket.');
  return tr;
}

/**
 * Marks a step of an attached run book done, in order (the next step not done yet), once. A fix
 * step writes its attempted-fix entry; a step with an automation queues its request.
 */
export async function completeRunbookStep(ctx: ServiceContext, reference: string, ticketRunbookId: number, stepId: number, input: StepDone) {
  try {
    return await mutateTicket(ctx, 'ticket.worklog', { reference }, async (tx, ticket) => {
      // One step at a time per attached run book: a second person doing it meanwhile waits here.
      await tx.$executeRaw`SELECT 1 FROM "TicketRunbook" WHERE id = ${ticketRunbookId} AND "ticketId" = ${ticket.id} FOR UPDATE`;
      const tr = await attachedOf(tx, ticket, ticketRunbookId);
      const step = tr.version.steps.find((s) => s.id === stepId);
      if (!step) throw new NotFoundError('That step is not in this run book’s version.');
      const done = new Set(tr.steps.map((s) => s.stepId));
      if (done.has(step.id)) throw new ValidationError(`Step ${step.position} is done already.`);
      const next = tr.version.steps.find((s) => !done.has(s.id));
      if (next && next.id !== step.id) throw new ValidationError(`Do the steps in order: step ${next.position} (“${next.title}”) comes first.`);

      const errors: Record<string, string> = {};
      let value: string | null = null;
      if (step.checkKind === 'VALUE') {
        value = input.value?.trim() ?? '';
        if (!value) errors.value = `Record ${step.checkLabel ?? 'the value'}.`;
        else if (value.length > 500) errors.value = 'At most 500 characters.';
      } else if (step.checkKind === 'YES_NO') {
        value = input.value === 'yes' || input.value === 'no' ? input.value : null;
        if (!value) errors.value = 'Answer yes or no.';
      }
      const outcome = step.isFix ? (input.outcome ?? null) : null;
      if (step.isFix && !outcome) errors.outcome = 'Say how the fix went.';
      const note = input.note?.trim() || null;
      if (note && note.length > NOTE_MAX) errors.note = `At most ${NOTE_MAX.toLocaleString('en')} characters.`;
      if (Object.keys(errors).length) throw new ValidationError(Object.values(errors).join(' '), errors);

      const label = `Run book “${tr.runbook.title}” (version ${tr.version.number}), step ${step.position}: ${step.title}`;
      const checked = value !== null ? `${step.checkLabel}: ${value}` : null;
      const entry = step.isFix
        ? await appendWorkLog(tx, ctx.actor, ticket, { kind: 'ATTEMPTED_FIX', body: [label, checked, note].filter(Boolean).join('\n\n'), outcome }, { mentions: true })
        : null;
      const row = await tx.ticketRunbookStep.create({
        data: { ticketRunbookId: tr.id, stepId: step.id, completedById: ctx.actor.id, value, outcome, note, workLogEntryId: entry?.id ?? null },
      });
      await tx.ticketHistory.create({
        data: {
          ticketId: ticket.id,
          ...historyActorColumns(ctx.actor),
          action: 'RUNBOOK_STEP_DONE',
          field: 'step',
          newRefId: row.id,
          newValue: `${tr.runbook.title} — step ${step.position}: ${step.title}${checked ? ` (${checked})` : ''}`,
          ticketVersion: ticket.version,
          createdAt: row.createdAt,
        },
      });
      if (step.automationUrl) await queueAutomation(tx, ctx.actor, ticket, { ...tr, version: tr.version }, step, row);
      return row;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError('Someone else did this step meanwhile.');
    throw err;
  }
}

/** Sends a done step's automation again (after a failure, or to run it once more); not while one is on its way. */
export function runAutomationAgain(ctx: ServiceContext, reference: string, ticketRunbookId: number, stepId: number) {
  return mutateTicket(ctx, 'ticket.worklog', { reference }, async (tx, ticket) => {
    await tx.$executeRaw`SELECT 1 FROM "TicketRunbook" WHERE id = ${ticketRunbookId} AND "ticketId" = ${ticket.id} FOR UPDATE`;
    const tr = await attachedOf(tx, ticket, ticketRunbookId);
    const step = tr.version.steps.find((s) => s.id === stepId);
    if (!step) throw new NotFoundError('That step is not in this run book’s version.');
    if (!step.automationUrl) throw new ValidationError('This step has no automation.');
    const row = await tx.ticketRunbookStep.findUnique({ where: { ticketRunbookId_stepId: { ticketRunbookId: tr.id, stepId } } });
    if (!row) throw new ValidationError('Do the step first: its automation runs when it is done.');
    const pending = await tx.automationDelivery.count({ where: { ticketStepId: row.id, state: 'QUEUED' } });
    if (pending) throw new ValidationError('This automation is still on its way: wait for its answer.');
    return queueAutomation(tx, ctx.actor, ticket, tr, step, row);
  });
}

/** The run books attached to a ticket, as its page shows them: steps, what was done, the automations' answers. */
export async function ticketRunbooks(ctx: ServiceContext, ticketId: number) {
  assertCan(ctx.actor, 'ticket.read');
  return ctx.db.ticketRunbook.findMany({
    where: { ticketId },
    orderBy: { id: 'asc' },
    include: {
      runbook: { select: { id: true, title: true, status: true, currentVersion: { select: { number: true } } } },
      attachedBy: { select: { name: true } },
      version: {
        select: {
          number: true,
          steps: { orderBy: { position: 'asc' }, omit: { automationSecretId: true }, include: { article: { select: { id: true, title: true } } } },
        },
      },
      steps: {
        include: {
          completedBy: { select: { name: true } },
          deliveries: { orderBy: { id: 'asc' }, omit: { payload: true } },
        },
      },
    },
  });
}
