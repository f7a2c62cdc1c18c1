// The handlers of ticket events (events.ts), in the order they run on each round: the automation
// rules first (their changes are events of the next round), then the SLA clock, then error
// reports (a resolved automatic report's problem is marked fixed in the newest release seen), then webhooks.
import { slaEventHandler } from '../sla/recompute.js';
import type { TicketEventHandler } from './events.js';
import { automationHandler } from '../automation/engine.js';
import { errorReportsHandler } from '../errors/record.js';
import { webhookEventHandler } from '../webhooks/handler.js';

// Webhooks last: their deliveries (the outbox) carry the ticket as the rules and the clock left it.
export const TICKET_EVENT_HANDLERS: readonly TicketEventHandler[] = [automationHandler, slaEventHandler, errorReportsHandler, webhookEventHandler];
