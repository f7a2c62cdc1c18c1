// The webhook event types and how ticket events (../tickets/events.ts) map to them.
import type { TicketEvent } from '../tickets/events.js';

export const WEBHOOK_EVENTS = [
  'ticket.created',
  'ticket.updated',
  'ticket.assigned',
  'ticket.resolved',
  'ticket.reopened',
  'entry.added',
  'customer.replied',
  'sla.warning',
  'sla.breached',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export const WEBHOOK_EVENT_LABEL: Record<WebhookEvent, string> = {
  'ticket.created': 'A ticket is created',
  'ticket.updated': 'A ticket’s fields change (with the changed fields)',
  'ticket.assigned': 'A ticket’s owner changes',
  'ticket.resolved': 'A ticket is resolved',
  'ticket.reopened': 'A resolved or closed ticket is reopened',
  'entry.added': 'An entry is added (note, attempted fix, reply, customer reply — internal notes included)',
  'customer.replied': 'The customer replies',
  'sla.warning': 'An SLA target is near its due time',
  'sla.breached': 'An SLA target is missed',
};

export const isWebhookEvent = (v: string): v is WebhookEvent => (WEBHOOK_EVENTS as readonly string[]).includes(v);

const DONE = new Set(['RESOLVED', 'CLOSED']);

/**
 * The webhook events one ticket event is: every change is `ticket.updated`, and also
 * `ticket.assigned`, `ticket.resolved` or `ticket.reopened` when it is that; every entry is
 * `entry.added`, and a customer's also `customer.replied`.
 */
export function webhookEventsOf(e: TicketEvent): WebhookEvent[] {
  switch (e.kind) {
    case 'created':
      return ['ticket.created'];
    case 'changed': {
      const out: WebhookEvent[] = ['ticket.updated'];
      if (e.fields.includes('assigneeId')) out.push('ticket.assigned');
      if (e.fields.includes('status')) {
        if (e.after.status === 'RESOLVED' && e.before.status !== 'RESOLVED') out.push('ticket.resolved');
        if (DONE.has(e.before.status) && !DONE.has(e.after.status)) out.push('ticket.reopened');
      }
      return out;
    }
    case 'worklog':
      return e.entryKind === 'CUSTOMER_REPLY' ? ['entry.added', 'customer.replied'] : ['entry.added'];
    case 'sla':
      return [e.phase === 'warning' ? 'sla.warning' : 'sla.breached'];
  }
}
