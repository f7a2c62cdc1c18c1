import type { ServiceContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import { assertCan } from '../policy.js';

const person = { select: { id: true, name: true } } as const;

/** Everything the ticket page shows: the ticket, its people, its work log and its whole history. */
export async function getTicketView(ctx: ServiceContext, reference: string) {
  assertCan(ctx.actor, 'ticket.read');
  const ticket = await ctx.db.ticket.findUnique({
    where: { reference },
    include: {
      customer: true,
      assignee: person,
      createdBy: person,
      duplicateOf: { select: { reference: true, title: true } },
    },
  });
  if (!ticket) throw new NotFoundError(`No ticket has the reference ${reference}.`);
  const [workLog, history] = await Promise.all([
    ctx.db.workLogEntry.findMany({
      where: { ticketId: ticket.id },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      include: { author: person },
    }),
    ctx.db.ticketHistory.findMany({
      where: { ticketId: ticket.id },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      include: { actor: person },
    }),
  ]);
  return { ticket, workLog, history };
}

export type TicketView = Awaited<ReturnType<typeof getTicketView>>;

/** What changed on a ticket after the given version: shown when a stale form is refused. */
export async function getChangesSince(ctx: ServiceContext, reference: string, version: number) {
  assertCan(ctx.actor, 'ticket.read');
  return ctx.db.ticketHistory.findMany({
    where: { ticket: { reference }, ticketVersion: { gt: version }, action: 'CHANGED' },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    include: { actor: person },
  });
}
