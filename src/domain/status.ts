import { STATUS_LABEL, TicketStatus } from './enums.js';

/** Statuses of tickets that still need work: the queue's default filter. */
export const ACTIVE_STATUSES: readonly TicketStatus[] = ['NEW', 'OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER'];

/**
 * The life of a ticket: NEW → OPEN → IN_PROGRESS ⇄ WAITING_ON_CUSTOMER → RESOLVED → CLOSED.
 * A NEW ticket may go straight to work; any active ticket may be resolved (a duplicate is often
 * spotted at once); a resolved ticket may be reopened or closed; a closed ticket is final.
 * RESOLVED is reached only through resolveTicket (it needs a code and a note).
 */
export const TRANSITIONS: Readonly<Record<TicketStatus, readonly TicketStatus[]>> = {
  NEW: ['OPEN', 'IN_PROGRESS', 'RESOLVED'],
  OPEN: ['IN_PROGRESS', 'RESOLVED'],
  IN_PROGRESS: ['WAITING_ON_CUSTOMER', 'RESOLVED'],
  WAITING_ON_CUSTOMER: ['IN_PROGRESS', 'RESOLVED'],
  RESOLVED: ['OPEN', 'CLOSED'],
  CLOSED: [],
};

export function isActive(status: TicketStatus): boolean {
  return ACTIVE_STATUSES.includes(status);
}

export function canTransition(from: TicketStatus, to: TicketStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** A sentence for a refused transition that says what is allowed instead. */
export function transitionRefusal(from: TicketStatus, to: TicketStatus): string {
  const allowed = TRANSITIONS[from];
  const what = `A ticket cannot go from ${STATUS_LABEL[from]} to ${STATUS_LABEL[to]}.`;
  if (allowed.length === 0) return `${what} ${STATUS_LABEL[from]} tickets are final.`;
  return `${what} From ${STATUS_LABEL[from]} it can go to: ${allowed.map((s) => STATUS_LABEL[s]).join(', ')}.`;
}

/**
 * The moves offered as a plain status change: resolving needs a reason (resolveTicket) and a
 * resolved ticket is opened again with reopenTicket, so those two have their own actions.
 */
export function plainStatusMoves(from: TicketStatus): TicketStatus[] {
  return TRANSITIONS[from].filter((to) => to !== 'RESOLVED' && !(from === 'RESOLVED' && to === 'OPEN'));
}

/**
 * What a customer's reply does to their ticket: a resolved ticket opens again, a ticket waiting
 * on them goes back to work; otherwise it stays as it is. Closed tickets take no replies.
 */
export function statusAfterCustomerReply(from: TicketStatus): TicketStatus {
  if (from === 'RESOLVED') return 'OPEN';
  if (from === 'WAITING_ON_CUSTOMER') return 'IN_PROGRESS';
  return from;
}
