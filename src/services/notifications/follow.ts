// Following a ticket: any staff member may follow or stop following any ticket (owners and
// mentioned people are made followers automatically: notify.ts). Following is the person's own
// setting, not a change to the ticket: no version, no history row, and a closed ticket may be
// unfollowed like any other.
import type { ServiceContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import { assertCan } from '../policy.js';

async function ticketIdOf(ctx: ServiceContext, reference: string): Promise<number> {
  const ticket = await ctx.db.ticket.findUnique({ where: { reference }, select: { id: true } });
  if (!ticket) throw new NotFoundError(`No ticket has the reference ${reference}.`);
  return ticket.id;
}

/** The acting user follows the ticket (already following: nothing changes). */
export async function followTicket(ctx: ServiceContext, reference: string): Promise<void> {
  assertCan(ctx.actor, 'ticket.read');
  const ticketId = await ticketIdOf(ctx, reference);
  await ctx.db.$executeRaw`
    INSERT INTO "TicketFollower" ("ticketId", "userId") VALUES (${ticketId}::int, ${ctx.actor.id}::int)
    ON CONFLICT DO NOTHING`;
}

/** The acting user stops following the ticket (not following: nothing changes). */
export async function unfollowTicket(ctx: ServiceContext, reference: string): Promise<void> {
  assertCan(ctx.actor, 'ticket.read');
  const ticketId = await ticketIdOf(ctx, reference);
  await ctx.db.ticketFollower.deleteMany({ where: { ticketId, userId: ctx.actor.id } });
}
