import { z } from 'zod';
import {
  CHANNELS,
  FIX_OUTCOMES,
  RESOLUTION_CODES,
  STATUSES,
  URGENCIES,
  type ResolutionCode,
  type TicketStatus,
} from '../../domain/enums.js';
import { ACTIVE_STATUSES } from '../../domain/status.js';
import { choice, id, optionalText, requiredText, version, searchText } from './common.js';

const LONG = 20_000;

export const NewTicketForm = z.object({
  title: requiredText('A title', 200),
  description: requiredText('A description', LONG),
  urgency: choice('urgency', URGENCIES),
  channel: choice('channel', CHANNELS),
  customerName: requiredText("The customer's name", 120),
  customerEmail: z
    .string({ error: "The customer's email is required." })
    .trim()
    .min(1, "The customer's email is required.")
    .max(254, 'An email can be at most 254 characters.')
    .pipe(z.email({ error: 'Enter a valid email address.' })),
  customerPhone: optionalText('A phone number', 40),
  customerOrganization: optionalText('An organization', 120),
  environment: optionalText("The customer's environment", LONG),
  occurrence: optionalText('When and how it happens', LONG),
  workaround: optionalText('A workaround', LONG),
  assignToMe: z.literal('1').optional(),
  /** "Do not email the customer" (e.g. an internal ticket); by default they get the reference. */
  quiet: z.literal('1').optional(),
  /** Set by "Log it as a duplicate of …" among the suggestions. */
  duplicateOf: optionalText('The original reference', 40),
});

/** An action with no fields but its CSRF token (which the middleware checks). */
export const EmptyForm = z.object({});

export const DetailsForm = z.object({
  version,
  title: requiredText('A title', 200),
  description: requiredText('A description', LONG),
  channel: choice('channel', CHANNELS),
  environment: optionalText("The customer's environment", LONG),
  occurrence: optionalText('When and how it happens', LONG),
  workaround: optionalText('A workaround', LONG),
});

export const VersionForm = z.object({ version });
export const UrgencyForm = z.object({ version, urgency: choice('urgency', URGENCIES) });
export const StatusForm = z.object({ version, status: choice('status', STATUSES) });
export const AssignForm = z.object({
  version,
  assigneeId: z.union([z.literal('').transform(() => null), id], { error: 'Choose someone from the list.' }),
});
export const ResolveForm = z.object({
  version,
  resolutionCode: z.enum(RESOLUTION_CODES as [ResolutionCode, ...ResolutionCode[]], {
    error: (issue) => (issue.input === '' || issue.input === undefined ? 'Choose a resolution.' : 'Choose a valid resolution.'),
  }),
  resolutionNote: requiredText('A resolution note', LONG),
  duplicateOf: optionalText('The original reference', 40),
  resolutionArticleId: z
    .union([z.literal('').transform(() => null), id], { error: 'Choose a linked article.' })
    .optional()
    .transform((v) => v ?? null),
});
export const ReopenForm = z.object({ version, reason: optionalText('A reason', LONG) });
export const WorkLogForm = z.object({
  kind: choice('kind of entry', ['NOTE', 'ATTEMPTED_FIX', 'REPLY'] as const),
  // Required unless files come with it (the service decides: it sees the files).
  body: z.string().trim().max(LONG, `The text can be at most ${LONG} characters.`).optional().transform((v) => v ?? ''),
  outcome: z
    .union([z.literal('').transform(() => null), choice('outcome', FIX_OUTCOMES)], { error: 'Choose a valid outcome.' })
    .optional()
    .transform((v) => v ?? null),
  // The reply form's checkbox: the ticket then waits on the customer (the service checks the rest).
  waitForCustomer: z
    .literal('1', { error: 'Tick the box or leave it empty.' })
    .optional()
    .transform((v) => v === '1'),
});

/** The queue's filters, as they appear in its URL. */
export const QueueQuery = z.object({
  status: z
    .union([z.literal('active'), z.literal('all'), choice('status', STATUSES)], { error: 'Choose a valid status.' })
    .default('active')
    .transform((s): TicketStatus[] => (s === 'active' ? [...ACTIVE_STATUSES] : s === 'all' ? [...STATUSES] : [s])),
  urgency: z
    .union([z.literal('').transform(() => undefined), choice('urgency', URGENCIES)], { error: 'Choose a valid urgency.' })
    .optional(),
  assignee: z
    .union([z.enum(['anyone', 'me', 'unassigned']), id, z.literal('').transform(() => 'anyone' as const)], {
      error: 'Choose a valid owner.',
    })
    .default('anyone'),
  q: searchText().optional(),
  after: z
    .string()
    .regex(/^[A-Z]+\.\d{13}\.\d{1,10}$/, 'That page link is not valid.')
    .optional()
    .transform((s) => {
      if (!s) return undefined;
      const [urgency, ms, tid] = s.split('.');
      return { urgency: urgency as (typeof URGENCIES)[number], createdAt: new Date(Number(ms)), id: Number(tid) };
    })
    .refine((c) => !c || URGENCIES.includes(c.urgency), 'That page link is not valid.'),
});

export function encodeCursor(c: { urgency: string; createdAt: Date; id: number }): string {
  return `${c.urgency}.${String(c.createdAt.getTime()).padStart(13, '0')}.${c.id}`;
}

/** A file's id in a URL, or null when it cannot be one (then there is no such file). */
export const FileId = z.coerce.number().int().min(1).max(2_147_483_647).catch(() => null as unknown as number).nullable();

export const RedactForm = z.object({
  /** "1": every attachment with the same bytes, on every ticket. */
  everywhere: z.enum(['1']).optional(),
});

/** "I am writing a reply / a note" beats from the ticket page (public/js/live.js); empty: stopped. */
export const TypingForm = z.object({
  kind: z.enum(['REPLY', 'NOTE', ''], { error: 'kind must be REPLY, NOTE or empty.' }).transform((k) => (k === '' ? null : k)),
});
