import type { Ticket } from '../../generated/prisma/client.js';
import type { Channel, Urgency } from '../../domain/enums.js';
import { generateReference } from '../../domain/reference.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { ServiceContext } from '../context.js';
import { assertCan } from '../policy.js';
import { requireText } from './rules.js';
import { invalidateQueueCounts } from './queue.js';

export interface NewTicket {
  title: string;
  description: string;
  channel: Channel;
  urgency: Urgency;
  environment?: string | null;
  occurrence?: string | null;
  workaround?: string | null;
  customer: { name: string; email: string; phone?: string | null; organization?: string | null };
  /** The creator takes the ticket at once. */
  assignToMe?: boolean;
}

const MAX_ATTEMPTS = 5;

/**
 * Log a new ticket: the customer is found by email or created, the ticket gets a fresh random
 * reference (retried on the rare collision), and its creation is the first history row.
 */
export async function createTicket(ctx: ServiceContext, input: NewTicket): Promise<Ticket> {
  assertCan(ctx.actor, 'ticket.create');
  const title = requireText(input.title, 'title', 'A title');
  const description = requireText(input.description, 'description', 'A description');
  const email = requireText(input.customer.email, 'customerEmail', "The customer's email").toLowerCase();
  const customerName = requireText(input.customer.name, 'customerName', "The customer's name");
  const assigneeId = input.assignToMe ? ctx.actor.id : null;

  for (let attempt = 1; ; attempt++) {
    try {
      const ticket = await ctx.db.$transaction(async (tx) => {
        const customer = await tx.customer.upsert({
          where: { email },
          create: {
            email,
            name: customerName,
            phone: input.customer.phone ?? null,
            organization: input.customer.organization ?? null,
          },
          update: {},
          select: { id: true, name: true },
        });
        const created = await tx.ticket.create({
          data: {
            reference: generateReference(),
            title,
            description,
            channel: input.channel,
            urgency: input.urgency,
            environment: input.environment ?? null,
            occurrence: input.occurrence ?? null,
            workaround: input.workaround ?? null,
            customerId: customer.id,
            createdById: ctx.actor.id,
            assigneeId,
          },
        });
        await tx.ticketHistory.create({
          data: {
            ticketId: created.id,
            actorId: ctx.actor.id,
            action: 'CREATED',
            // What the ticket was at birth; later rows hold each change from there.
            newValue: JSON.stringify({
              title,
              urgency: created.urgency,
              status: created.status,
              channel: created.channel,
              customer: customer.name,
              assignee: assigneeId === null ? null : ctx.actor.name,
            }),
            newRefId: assigneeId,
            ticketVersion: created.version,
            createdAt: created.createdAt,
          },
        });
        return created;
      });
      invalidateQueueCounts();
      return ticket;
    } catch (err) {
      // A reference collision, or two first tickets of one new customer at once: try again.
      if (isUniqueViolation(err) && attempt < MAX_ATTEMPTS) continue;
      throw err;
    }
  }
}
