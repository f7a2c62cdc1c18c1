// Small named checks. Each throws a typed error whose message tells the user what to do.
import type { Tx } from '../../db/client.js';
import type { Ticket, User } from '../../generated/prisma/client.js';
import { STATUS_LABEL } from '../../domain/enums.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';

export async function findTicketOrThrow(tx: Tx, reference: string): Promise<Ticket> {
  const ticket = await tx.ticket.findUnique({ where: { reference } });
  if (!ticket) throw new NotFoundError(`No ticket has the reference ${reference}.`);
  return ticket;
}

/** The form was filled in from this version; someone may have changed the ticket since. */
export function assertVersion(ticket: Ticket, formVersion: number): void {
  if (ticket.version !== formVersion) {
    throw new ConflictError(`Ticket ${ticket.reference} was changed by someone else meanwhile.`, ticket.version);
  }
}

export function assertNotClosed(ticket: Ticket): void {
  if (ticket.status === 'CLOSED') {
    throw new ValidationError(`Ticket ${ticket.reference} is ${STATUS_LABEL.CLOSED.toLowerCase()}: closed tickets are final.`);
  }
}

/** Someone who can be given tickets at all: an existing, active technician or admin. */
export async function findActiveUser(tx: Tx, userId: number, field = 'assigneeId'): Promise<User> {
  const user = await tx.user.findUnique({ where: { id: userId } });
  if (!user) throw new ValidationError('That person does not exist.', { [field]: 'Choose someone from the list.' });
  if (!user.active) {
    throw new ValidationError(`${user.name} is deactivated and cannot be given tickets.`, { [field]: 'Choose an active technician.' });
  }
  return user;
}

/** An owner must be an active technician or admin, and a member of the ticket's team. */
export async function findAssignableUser(tx: Tx, userId: number, teamId: number, field = 'assigneeId'): Promise<User> {
  const user = await tx.user.findUnique({
    where: { id: userId },
    include: { teams: { where: { teamId }, select: { teamId: true } } },
  });
  if (!user) throw new ValidationError('That person does not exist.', { [field]: 'Choose someone from the list.' });
  if (!user.active) {
    throw new ValidationError(`${user.name} is deactivated and cannot be given tickets.`, {
      [field]: 'Choose an active technician.',
    });
  }
  if (user.teams.length === 0) {
    const team = await tx.team.findUnique({ where: { id: teamId }, select: { name: true } });
    throw new ValidationError(
      `${user.name} is not in the team ${team?.name ?? ''}: move the ticket to one of their teams, or ask an admin to add them.`,
      { [field]: 'Choose a member of the ticket’s team.' },
    );
  }
  const { teams: _teams, ...rest } = user;
  return rest;
}

export function requireText(value: string | null | undefined, field: string, what: string): string {
  const text = value?.trim() ?? '';
  if (text === '') throw new ValidationError(`${what} is required.`, { [field]: `${what} is required.` });
  return text;
}
