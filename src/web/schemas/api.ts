// The REST API's JSON shapes (src/web/api): requests are checked with them, answers are built to
// them, and the OpenAPI document is generated from them (src/web/api/openapi.ts).
import { z } from 'zod';
import { CHANNELS, FIX_OUTCOMES, RESOLUTION_CODES, ROLES, STATUSES, URGENCIES } from '../../domain/enums.js';
import { QUEUE_SORTS } from '../../services/tickets/queue.js';
import type { Ticket } from '../../generated/prisma/client.js';

const LONG = 20_000;
const text = (max: number) => z.string().trim().min(1, 'Required.').max(max, `At most ${max} characters.`);
const optText = (max: number) => z.string().trim().max(max, `At most ${max} characters.`).nullable().optional();
const when = z.iso.datetime();
const maybeWhen = when.nullable();
const Id = z.number().int().min(1).max(2_147_483_647);

export const Urgency = z.enum(URGENCIES as [string, ...string[]]).meta({ id: 'Urgency' });
export const Status = z.enum(STATUSES as [string, ...string[]]).meta({ id: 'Status' });
export const Channel = z.enum(CHANNELS as [string, ...string[]]).meta({ id: 'Channel' });

export const ReferenceParams = z.object({ reference: z.string().max(40).meta({ example: 'CB-7K2M9Q' }) });
export const IdParams = z.object({ id: z.coerce.number().int().min(1).max(2_147_483_647) });

export const ApiTicket = z
  .object({
    reference: z.string(),
    title: z.string(),
    description: z.string(),
    status: Status,
    urgency: Urgency,
    channel: Channel,
    environment: z.string().nullable(),
    occurrence: z.string().nullable(),
    workaround: z.string().nullable(),
    tags: z.array(z.string()),
    version: z.number().int(),
    customerId: z.number().int(),
    assigneeId: z.number().int().nullable(),
    teamId: z.number().int(),
    createdById: z.number().int().nullable(),
    resolutionCode: z.enum(RESOLUTION_CODES as [string, ...string[]]).nullable(),
    resolutionNote: z.string().nullable(),
    duplicateOfId: z.number().int().nullable(),
    createdAt: when,
    updatedAt: when,
    resolvedAt: maybeWhen,
    slaDueAt: maybeWhen,
  })
  .meta({ id: 'Ticket' });
export type ApiTicket = z.infer<typeof ApiTicket>;

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

export function apiTicket(t: Ticket): ApiTicket {
  return {
    reference: t.reference,
    title: t.title,
    description: t.description,
    status: t.status,
    urgency: t.urgency,
    channel: t.channel,
    environment: t.environment,
    occurrence: t.occurrence,
    workaround: t.workaround,
    tags: t.tags ?? [],
    version: t.version,
    customerId: t.customerId,
    assigneeId: t.assigneeId,
    teamId: t.teamId,
    createdById: t.createdById,
    resolutionCode: t.resolutionCode,
    resolutionNote: t.resolutionNote,
    duplicateOfId: t.duplicateOfId,
    createdAt: iso(t.createdAt)!,
    updatedAt: iso(t.updatedAt)!,
    resolvedAt: iso(t.resolvedAt),
    slaDueAt: iso(t.slaDueAt),
  };
}

export const TicketListQuery = z.object({
  status: z.string().max(40).optional().meta({ description: "'active' (default), 'all', or one status" }),
  urgency: z.string().max(20).optional(),
  assignee: z.string().max(20).optional().meta({ description: "'anyone' (default), 'me', 'unassigned', or a user id" }),
  team: z.string().max(20).optional().meta({ description: "'mine' or a team id" }),
  q: z.string().max(200).optional().meta({ description: 'Words or a reference, as in the queue search' }),
  sort: z.enum(QUEUE_SORTS).optional(),
  after: z.string().max(40).optional().meta({ description: "The previous page's nextCursor" }),
});

export const TicketSummary = z
  .object({
    reference: z.string(),
    title: z.string(),
    urgency: Urgency,
    status: Status,
    version: z.number().int(),
    customerName: z.string(),
    assigneeId: z.number().int().nullable(),
    assigneeName: z.string().nullable(),
    teamId: z.number().int(),
    createdAt: when,
    updatedAt: when,
    slaDueAt: maybeWhen,
  })
  .meta({ id: 'TicketSummary' });

export const TicketList = z
  .object({
    items: z.array(TicketSummary),
    nextCursor: z.string().nullable(),
    total: z.number().int(),
    totalCapped: z.boolean().meta({ description: 'A text search with more than 1,000 matches stops counting there (as the page says "1,000+ in all"): total is then a lower bound.' }),
  })
  .meta({ id: 'TicketList' });

export const NewTicketBody = z
  .object({
    title: text(200),
    description: text(LONG),
    urgency: Urgency,
    channel: Channel.default('API'),
    customer: z.object({
      name: text(120),
      email: z.string().trim().max(254).pipe(z.email({ error: 'Enter a valid email address.' })),
      phone: optText(40),
      organization: optText(120),
    }),
    environment: optText(LONG),
    occurrence: optText(LONG),
    workaround: optText(LONG),
    teamId: Id.optional(),
    assignToMe: z.boolean().default(false),
    notifyCustomer: z.boolean().default(true),
  })
  .strict()
  .meta({ id: 'NewTicket' });

export const TicketPatchBody = z
  .object({
    title: text(200),
    description: text(LONG),
    channel: Channel,
    environment: optText(LONG),
    occurrence: optText(LONG),
    workaround: optText(LONG),
  })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'Send at least one field to change.')
  .meta({ id: 'TicketPatch' });

export const AssignBody = z.object({ assigneeId: Id.nullable() }).strict();
export const UrgencyBody = z.object({ urgency: Urgency }).strict();
export const StatusBody = z.object({ status: Status }).strict();
export const ResolveBody = z
  .object({
    code: z.enum(RESOLUTION_CODES as [string, ...string[]]),
    note: text(LONG),
    internalNote: optText(LONG),
    duplicateOf: optText(40),
    articleId: Id.nullable().optional(),
  })
  .strict();
export const ReopenBody = z.object({ reason: optText(LONG) }).strict();
export const EmptyBody = z.object({}).strict();

export const WorkLogEntry = z
  .object({
    id: z.number().int(),
    kind: z.enum(['NOTE', 'ATTEMPTED_FIX', 'REPLY', 'CUSTOMER_REPLY']),
    body: z.string(),
    outcome: z.enum(FIX_OUTCOMES as [string, ...string[]]).nullable(),
    createdAt: when,
    author: z.object({ id: z.number().int().nullable(), name: z.string(), customer: z.boolean(), system: z.boolean() }),
    apiTokenId: z.number().int().nullable(),
  })
  .meta({ id: 'WorkLogEntry' });
export const WorkLogList = z.object({ items: z.array(WorkLogEntry) }).meta({ id: 'WorkLogList' });
export const NewWorkLogBody = z
  .object({
    kind: z.enum(['NOTE', 'ATTEMPTED_FIX', 'REPLY']),
    body: text(LONG),
    outcome: z.enum(FIX_OUTCOMES as [string, ...string[]]).nullable().optional(),
    waitForCustomer: z.boolean().default(false),
  })
  .strict()
  .meta({ id: 'NewWorkLogEntry' });

export const Role = z.enum(ROLES as [string, ...string[]]);
