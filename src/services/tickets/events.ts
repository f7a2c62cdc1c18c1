// What happened to tickets in a transaction, and what follows from it before the commit.
//
// changeTicket (a field changed), appendWorkLog (an entry was added) and the creation of a ticket
// record an event on the transaction they run in. The frame that owns the transaction (mutateTicket,
// ticketTransaction, the creation's own transaction, inbound mail, a customer's reply) settles the
// events just before it commits: the automation rules that apply run (their changes are events in
// turn, to a bounded depth), then each touched ticket's SLA due times are recomputed from its
// history. So every rule and every due time is the same whoever acted and whatever the channel,
// and a rolled-back change leaves nothing behind.
import type { Db, Tx } from '../../db/client.js';
import type { Ticket } from '../../generated/prisma/client.js';
import type { WorkLogKind } from '../../domain/enums.js';
import type { HistoryActor } from '../context.js';
import type { TrackedField } from './history.js';

export type TicketEvent =
  /** `ticket`: the row as created (lets a handler skip reading it again); `slaStored`: its SLA columns were written with it. */
  | { kind: 'created'; ticketId: number; actor: HistoryActor; ticket?: Ticket; slaStored?: boolean }
  | { kind: 'changed'; ticketId: number; actor: HistoryActor; fields: readonly TrackedField[]; before: Ticket; after: Ticket }
  | { kind: 'worklog'; ticketId: number; actor: HistoryActor; entryKind: WorkLogKind; entryId: number; at: Date }
  /** The SLA job found a target near its due time (warning) or past it (breach). */
  | { kind: 'sla'; ticketId: number; actor: HistoryActor; phase: 'warning' | 'breach'; target: 'FIRST_RESPONSE' | 'NEXT_RESPONSE' | 'RESOLUTION' };

/**
 * Something that acts on a transaction's events before it commits. `events` are those recorded
 * since the handler last ran (a handler's own changes record new ones, which the handlers see on
 * the next round); `round` counts from 1.
 */
export interface TicketEventHandler {
  name: string;
  handle(tx: Tx, events: readonly TicketEvent[], round: number): Promise<void>;
  /**
   * Whether this handler needs a new ticket's creation to run in a transaction at all (a ticket
   * nobody's rule or SLA applies to is one statement, the fastest create). Cached by the handler.
   * `preview`: the ticket about to be created, as typed (a handler may tell from it that nothing
   * of its own can apply).
   */
  active?(db: Db | Tx, preview?: CreationPreview): Promise<boolean>;
}

/** A ticket about to be created, as its form or message gives it (before any statement ran). */
export interface CreationPreview {
  title: string;
  description: string;
  urgency: Ticket['urgency'];
  channel: Ticket['channel'];
  status: Ticket['status'];
  teamId: number;
  assigneeId: number | null;
  /** The address typed (a merged-away address's ticket goes to the record it was merged into). */
  customerEmail: string;
}

/**
 * The handlers, in order (./event-handlers.ts: the automation rules, then the SLA clock). Loaded
 * on first use: they change tickets themselves, so importing them here would be a cycle.
 */
let loading: Promise<readonly TicketEventHandler[]> | undefined;
const handlers = () => (loading ??= import('./event-handlers.js').then((m) => m.TICKET_EVENT_HANDLERS));

/** Rounds of handlers at most: rules that trigger each other stop here (the loop guard). */
export const MAX_EVENT_ROUNDS = 5;

const pending = new WeakMap<object, TicketEvent[]>();

/** Notes an event on the transaction it happened in (settled before that transaction commits). */
export function recordTicketEvent(tx: Tx, event: TicketEvent): void {
  const list = pending.get(tx);
  if (list) list.push(event);
  else pending.set(tx, [event]);
}

/** The events recorded on `tx` and not yet settled (for the handlers' tests). */
export function pendingTicketEvents(tx: Tx): readonly TicketEvent[] {
  return pending.get(tx) ?? [];
}

/**
 * Runs the handlers over what the transaction recorded, round after round while they record
 * more, at most MAX_EVENT_ROUNDS rounds: what is still recorded after that is dropped (a rule
 * loop ends there; each handler is told the round and may stop earlier).
 */
export async function settleTicketEvents(tx: Tx): Promise<void> {
  for (let round = 1; round <= MAX_EVENT_ROUNDS; round++) {
    const events = pending.get(tx);
    if (!events || events.length === 0) break;
    pending.set(tx, []);
    for (const handler of await handlers()) await handler.handle(tx, events, round);
  }
  pending.delete(tx);
}

/** Whether any handler needs ticket creation in a transaction (see TicketEventHandler.active). */
export async function ticketEventsActive(db: Db | Tx, preview?: CreationPreview): Promise<boolean> {
  for (const handler of await handlers()) if (handler.active && (await handler.active(db, preview))) return true;
  return false;
}

/** A transaction whose ticket events are settled before it commits. */
export function ticketTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>, opts?: { timeout?: number; maxWait?: number }): Promise<T> {
  return db.$transaction(async (tx) => {
    const result = await fn(tx);
    await settleTicketEvents(tx);
    return result;
  }, opts);
}
