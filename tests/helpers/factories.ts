import { randomBytes } from 'node:crypto';
import type { Database } from '../../src/db/client.js';
import type { Role, Urgency } from '../../src/domain/enums.js';
import type { Actor, ServiceContext } from '../../src/services/context.js';
import { hashPassword } from '../../src/services/passwords.js';
import { sessionUser } from '../../src/services/users/sessions.js';
import { createTicket, type NewTicket } from '../../src/services/tickets/create-ticket.js';

export const PASSWORD = 'correct horse battery staple';

let counter = 0;
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`;

/** A real user row (password PASSWORD), returned as the actor its session would hold. */
export async function buildUser(
  db: Database,
  opts: { role?: Role; active?: boolean; name?: string; email?: string } = {},
): Promise<Actor> {
  const id = unique();
  const user = await db.prisma.user.create({
    data: {
      email: opts.email ?? `tech-${id}@example.test`,
      name: opts.name ?? `Tech ${id}`,
      role: opts.role ?? 'TECHNICIAN',
      active: opts.active ?? true,
      passwordHash: await hashPassword(PASSWORD),
      // In the default team, as createUser puts every new user.
      teams: { create: { team: { connect: { id: await defaultTeam(db) } } } },
    },
  });
  return sessionUser(user);
}

async function defaultTeam(db: Database): Promise<number> {
  const team = await db.prisma.team.findFirstOrThrow({ where: { isDefault: true }, select: { id: true } });
  return team.id;
}

export function as(db: Database, actor: Actor): ServiceContext {
  return { db: db.prisma, actor };
}

/** A real ticket, created through the service (so it has its creation history row). */
export async function buildTicket(db: Database, actor: Actor, overrides: Partial<NewTicket> & { urgency?: Urgency } = {}) {
  return createTicket(as(db, actor), {
    title: 'Printer on floor 3 prints blank pages',
    description: 'Since this morning every job comes out blank.',
    channel: 'PHONE',
    urgency: 'NORMAL',
    customer: { name: 'Dana Customer', email: `dana-${unique()}@customer.test` },
    ...overrides,
  });
}
