// Tickets through the API: the same service functions the ticket pages call (so the same rules,
// events and history rows), with the token's user as the actor. Changes name the version they
// were based on (If-Match) and are refused when it is not the current one (412).
import type { Ticket } from '../../../generated/prisma/client.js';
import { settleTicketEvents } from '../../../services/tickets/events.js';
import { createTicket } from '../../../services/tickets/create-ticket.js';
import { listQueue } from '../../../services/tickets/queue.js';
import { getTicketView } from '../../../services/tickets/ticket-view.js';
import { updateTicketDetails } from '../../../services/tickets/update-details.js';
import { assignTicket, takeTicket } from '../../../services/tickets/assign-ticket.js';
import { changeUrgency } from '../../../services/tickets/change-urgency.js';
import { changeStatus } from '../../../services/tickets/change-status.js';
import { resolveTicket } from '../../../services/tickets/resolve-ticket.js';
import { reopenTicket } from '../../../services/tickets/reopen-ticket.js';
import { addWorkLog } from '../../../services/tickets/add-work-log.js';
import { teamIdsOf } from '../../../services/teams/teams.js';
import { normalizeReference } from '../../../domain/reference.js';
import { NotFoundError } from '../../../services/errors.js';
import type { Channel, FixOutcome, ResolutionCode, TicketStatus, Urgency } from '../../../domain/enums.js';
import { encodeCursor, QueueQuery } from '../../schemas/tickets.js';
import {
  apiTicket,
  ApiTicket,
  AssignBody,
  EmptyBody,
  NewTicketBody,
  NewWorkLogBody,
  ReferenceParams,
  ReopenBody,
  ResolveBody,
  StatusBody,
  TicketList,
  TicketListQuery,
  TicketPatchBody,
  UrgencyBody,
  WorkLogEntry,
  WorkLogList,
} from '../../schemas/api.js';
import { InputError, zodErrors } from '../problem.js';
import { operation, type Operation } from '../registry.js';

const tag = 'Tickets';
const present = (t: unknown) => apiTicket(t as Ticket);
const ref = (raw: string): string => {
  const reference = normalizeReference(raw);
  if (!reference) throw new NotFoundError(`No ticket has the reference ${raw}.`);
  return reference;
};
const answer = (t: Ticket) => ({ body: apiTicket(t), version: t.version });
const exact = (reference: string, version: number | undefined) => ({ reference: ref(reference), version, exact: true as const });

/** A change to a ticket: If-Match required, the answer is the ticket as it is after it. */
function change<B extends typeof EmptyBody | typeof AssignBody | typeof UrgencyBody | typeof StatusBody | typeof ResolveBody | typeof ReopenBody>(
  id: string,
  action: string,
  summary: string,
  body: B,
  run: (ctx: Parameters<Operation['handle']>[0], target: ReturnType<typeof exact>, body: import('zod').output<B>) => Promise<Ticket>,
): Operation {
  return operation({
    id,
    method: 'post',
    path: `/tickets/:reference/${action}`,
    summary,
    tag,
    scope: 'tickets:write',
    params: ReferenceParams,
    body,
    response: ApiTicket,
    ifMatch: true,
    present,
    handle: async (ctx, { params, body: b, version }) => answer(await run(ctx, exact(params.reference, version), b as import('zod').output<B>)),
  });
}

export const ticketOperations: Operation[] = [
  operation({
    id: 'listTickets',
    method: 'get',
    path: '/tickets',
    summary: "The queue: the same filters and order as the queue page, 50 a page (keyset: pass nextCursor as 'after')",
    tag,
    scope: 'tickets:read',
    query: TicketListQuery,
    response: TicketList,
    handle: async (ctx, { query }) => {
      const parsed = QueueQuery.safeParse(Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined)));
      if (!parsed.success) throw new InputError(zodErrors(parsed.error));
      const q = parsed.data;
      const teams = q.team === 'mine' ? await teamIdsOf(ctx) : q.team === undefined ? undefined : [q.team];
      const page = await listQueue(ctx, { statuses: q.status, urgency: q.urgency, assignee: q.assignee, teams, text: q.q, sort: q.sort, after: q.after });
      const iso = (d: Date | null) => (d ? d.toISOString() : null);
      return {
        body: {
          items: page.rows.map((r) => ({
            reference: r.reference,
            title: r.title,
            urgency: r.urgency,
            status: r.status,
            version: r.version,
            customerName: r.customerName,
            assigneeId: r.assigneeId,
            assigneeName: r.assigneeName,
            teamId: r.teamId,
            createdAt: r.createdAt.toISOString(),
            updatedAt: r.updatedAt.toISOString(),
            slaDueAt: iso(r.slaDueAt),
          })),
          nextCursor: page.next ? encodeCursor(page.next) : null,
          total: page.total,
          totalCapped: page.countsCapped,
        },
      };
    },
  }),
  operation({
    id: 'createTicket',
    method: 'post',
    path: '/tickets',
    summary: 'Log a new ticket (the customer is found by email or added)',
    description: 'Send an Idempotency-Key header to make a retry safe: the same key and body return the first answer; the same key with another body is refused (422).',
    tag,
    scope: 'tickets:write',
    body: NewTicketBody,
    response: ApiTicket,
    status: 201,
    idempotent: true,
    handle: async (ctx, { body, tx }) => {
      const input = {
        title: body.title,
        description: body.description,
        urgency: body.urgency as Urgency,
        channel: body.channel as Channel,
        environment: body.environment ?? null,
        occurrence: body.occurrence ?? null,
        workaround: body.workaround ?? null,
        customer: { name: body.customer.name, email: body.customer.email, phone: body.customer.phone ?? null, organization: body.customer.organization ?? null },
        teamId: body.teamId ?? null,
        assignToMe: body.assignToMe,
        notifyCustomer: body.notifyCustomer,
      };
      let t: Ticket;
      if (tx) {
        t = await createTicket(ctx, input, { tx });
        await settleTicketEvents(tx);
      } else {
        t = await createTicket(ctx, input);
      }
      return { ...answer(t), location: `/api/v1/tickets/${t.reference}` };
    },
  }),
  operation({
    id: 'getTicket',
    method: 'get',
    path: '/tickets/:reference',
    summary: 'One ticket (its ETag is its version)',
    tag,
    scope: 'tickets:read',
    params: ReferenceParams,
    response: ApiTicket,
    handle: async (ctx, { params }) => answer((await getTicketView(ctx, ref(params.reference))).ticket),
  }),
  operation({
    id: 'updateTicket',
    method: 'patch',
    path: '/tickets/:reference',
    summary: "Change what is known about the problem (title, description, channel, environment, occurrence, workaround)",
    tag,
    scope: 'tickets:write',
    params: ReferenceParams,
    body: TicketPatchBody,
    response: ApiTicket,
    ifMatch: true,
    present,
    handle: async (ctx, { params, body, version }) => {
      const { ticket } = await getTicketView(ctx, ref(params.reference));
      const merged = {
        title: body.title ?? ticket.title,
        description: body.description ?? ticket.description,
        channel: (body.channel ?? ticket.channel) as Channel,
        environment: body.environment === undefined ? ticket.environment : body.environment,
        occurrence: body.occurrence === undefined ? ticket.occurrence : body.occurrence,
        workaround: body.workaround === undefined ? ticket.workaround : body.workaround,
      };
      return answer(await updateTicketDetails(ctx, exact(params.reference, version), merged));
    },
  }),
  change('assignTicket', 'assign', 'Give the ticket to an active technician of its team, or to nobody (null)', AssignBody, (c, t, b) => assignTicket(c, t, b.assigneeId)),
  change('takeTicket', 'take', 'Take an unowned ticket', EmptyBody, (c, t) => takeTicket(c, t)),
  change('changeUrgency', 'urgency', 'Change the urgency', UrgencyBody, (c, t, b) => changeUrgency(c, t, b.urgency as Urgency)),
  change('changeStatus', 'status', 'Change the status (the same transitions as the page allows)', StatusBody, (c, t, b) => changeStatus(c, t, b.status as TicketStatus)),
  change('resolveTicket', 'resolve', 'Resolve with a code and a note (the customer is mailed)', ResolveBody, (c, t, b) =>
    resolveTicket(c, t, { code: b.code as ResolutionCode, note: b.note, internalNote: b.internalNote ?? null, duplicateOf: b.duplicateOf ?? null, articleId: b.articleId ?? null }),
  ),
  change('reopenTicket', 'reopen', 'Reopen a resolved ticket', ReopenBody, (c, t, b) => reopenTicket(c, t, b.reason ?? null)),
  operation({
    id: 'listWorkLog',
    method: 'get',
    path: '/tickets/:reference/worklog',
    summary: "The ticket's work log, oldest first",
    tag,
    scope: 'tickets:read',
    params: ReferenceParams,
    response: WorkLogList,
    handle: async (ctx, { params }) => {
      const view = await getTicketView(ctx, ref(params.reference));
      return {
        body: {
          items: view.workLog.map((e) => ({
            id: e.id,
            kind: e.kind,
            body: e.body,
            outcome: e.outcome,
            createdAt: e.createdAt.toISOString(),
            author: { id: e.author.system ? null : e.author.id, name: e.author.name, customer: e.author.customer, system: e.author.system === true },
            apiTokenId: e.apiTokenId,
          })),
        },
        version: view.ticket.version,
      };
    },
  }),
  operation({
    id: 'addWorkLog',
    method: 'post',
    path: '/tickets/:reference/worklog',
    summary: 'Add a note, an attempted fix (with its outcome) or a reply to the customer (mailed)',
    description: 'Entries only add: no If-Match is needed. An Idempotency-Key makes a retry safe.',
    tag,
    scope: 'tickets:write',
    params: ReferenceParams,
    body: NewWorkLogBody,
    response: WorkLogEntry,
    status: 201,
    idempotent: true,
    handle: async (ctx, { params, body, tx }) => {
      const e = await addWorkLog(
        ctx,
        ref(params.reference),
        { kind: body.kind, body: body.body, outcome: (body.outcome ?? null) as FixOutcome | null },
        { waitForCustomer: body.waitForCustomer, ...(tx ? { tx } : {}) },
      );
      return {
        body: {
          id: e.id,
          kind: e.kind,
          body: e.body,
          outcome: e.outcome,
          createdAt: e.createdAt.toISOString(),
          author: { id: ctx.actor.id, name: ctx.actor.name, customer: false, system: false },
          apiTokenId: e.apiTokenId,
        },
      };
    },
  }),
];
