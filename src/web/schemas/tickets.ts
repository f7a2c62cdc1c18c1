import { z } from 'zod';
import {
  CHANNELS,
  FIX_OUTCOMES,
  RESOLUTION_CODES,
  STATUSES,
  URGENCIES,
  type ResolutionCode,
  type TicketStatus,
  type Urgency,
} from '../../domain/enums.js';
import { QUEUE_SORTS, type QueueCursor, type QueueSort } from '../../services/tickets/queue.js';
import { BULK_LIMIT, type BulkAction } from '../../services/tickets/bulk.js';
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
  teamId: z.union([z.literal('').transform(() => undefined), id], { error: 'Choose a team from the list.' }).optional(),
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
/** A tag to add or remove (services/tickets/tags.ts normalizes and checks it). */
export const TagForm = z.object({ tag: requiredText('A tag', 40) });
/** A macro to apply, from the page of `version`. */
export const MacroForm = z.object({ version, macroId: id.or(z.literal('').transform(() => 0)).pipe(z.number().int().min(1, 'Choose a macro.')) });
export const UrgencyForm = z.object({ version, urgency: choice('urgency', URGENCIES) });
export const StatusForm = z.object({ version, status: choice('status', STATUSES) });
export const AssignForm = z.object({
  version,
  assigneeId: z.union([z.literal('').transform(() => null), id], { error: 'Choose someone from the list.' }),
});
export const TeamForm = z.object({ version, teamId: id });
export const ResolveForm = z.object({
  version,
  resolutionCode: z.enum(RESOLUTION_CODES as [ResolutionCode, ...ResolutionCode[]], {
    error: (issue) => (issue.input === '' || issue.input === undefined ? 'Choose a resolution.' : 'Choose a valid resolution.'),
  }),
  resolutionNote: requiredText('A resolution note', LONG),
  internalResolutionNote: optionalText('An internal resolution note', LONG),
  duplicateOf: optionalText('The original reference', 40),
  resolutionArticleId: z
    .union([z.literal('').transform(() => null), id], { error: 'Choose a linked article.' })
    .optional()
    .transform((v) => v ?? null),
});
export const ReopenForm = z.object({ version, reason: optionalText('A reason', LONG) });
/** An error report's "fixed in release" (the Error reports panel). */
export const FixedInForm = z.object({ release: requiredText('A release', 200) });
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

/** The queue's filters and sort, as they appear in its URL (and in a saved view). */
const QueueFilters = z.object({
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
  team: z
    .union([z.literal('mine'), id, z.literal('').transform(() => undefined)], { error: 'Choose a valid team.' })
    .optional(),
  q: searchText().optional(),
  sort: z
    .union([z.literal('').transform(() => 'urgency' as const), choice('sort', QUEUE_SORTS)], { error: 'Choose a valid order.' })
    .default('urgency'),
});

/**
 * Where the previous page ended, one shape per sort: `URGENCY.ms.id` (urgency, as before sorts
 * existed), `ms.id` (last update, age, waiting since), `N.id` (waiting: past the waiting tickets).
 * Checked against the sort it came with: a link of one sort given another is not valid.
 */
function parseCursor(sort: QueueSort, raw: string): QueueCursor | null {
  const parts = raw.split('.');
  const ms = (s: string | undefined) => (s && /^\d{13}$/.test(s) ? new Date(Number(s)) : null);
  const tid = (s: string | undefined) => (s && /^\d{1,10}$/.test(s) && Number(s) <= 2_147_483_647 ? Number(s) : null);
  if (sort === 'urgency') {
    const [urgency, at, n] = parts;
    const createdAt = ms(at), i = tid(n);
    if (parts.length !== 3 || !URGENCIES.includes(urgency as Urgency) || !createdAt || i === null) return null;
    return { urgency: urgency as Urgency, createdAt, id: i };
  }
  if (parts.length !== 2) return null;
  const i = tid(parts[1]);
  if (i === null) return null;
  if (sort === 'waiting' && parts[0] === 'N') return { sort, awaitingSince: null, id: i };
  if (sort === 'due' && parts[0] === 'N') return { sort, slaDueAt: null, id: i };
  const at = ms(parts[0]);
  if (!at) return null;
  if (sort === 'updated') return { sort, updatedAt: at, id: i };
  if (sort === 'age') return { sort, createdAt: at, id: i };
  if (sort === 'due') return { sort, slaDueAt: at, id: i };
  return { sort, awaitingSince: at, id: i };
}

/** A saved view's filters read back (the same rules as the URL's; no page cursor). */
export const SavedViewFilters = QueueFilters;

export const QueueQuery = QueueFilters.extend({
  after: z.string().max(40, 'That page link is not valid.').optional(),
}).transform((q, ctx) => {
  const { after, ...rest } = q;
  if (!after) return { ...rest, after: undefined };
  const cursor = parseCursor(rest.sort, after);
  if (!cursor) {
    ctx.addIssue({ code: 'custom', path: ['after'], message: 'That page link is not valid.' });
    return z.NEVER;
  }
  return { ...rest, after: cursor };
});

export function encodeCursor(c: QueueCursor): string {
  const ms = (d: Date) => String(d.getTime()).padStart(13, '0');
  switch (c.sort) {
    case undefined:
    case 'urgency':
      return `${c.urgency}.${ms(c.createdAt)}.${c.id}`;
    case 'updated':
      return `${ms(c.updatedAt)}.${c.id}`;
    case 'age':
      return `${ms(c.createdAt)}.${c.id}`;
    case 'waiting':
      return `${c.awaitingSince === null ? 'N' : ms(c.awaitingSince)}.${c.id}`;
    case 'due':
      return `${c.slaDueAt === null ? 'N' : ms(c.slaDueAt)}.${c.id}`;
  }
}

/** A file's id in a URL, or null when it cannot be one (then there is no such file). */
export const FileId = z.coerce.number().int().min(1).max(2_147_483_647).catch(() => null as unknown as number).nullable();

export const RedactForm = z.object({
  /** "1": every attachment with the same bytes, on every ticket. */
  everywhere: z.enum(['1']).optional(),
});

/** "Save as a view": a name, shared or not, and the queue's filters and sort (hidden fields). */
export const SaveViewForm = z.object({
  name: requiredText('A name', 60),
  /** Who sees it: only its owner (''), everyone ('all'), or one team (`team-<id>`). */
  share: z
    .union([z.literal(''), z.literal('all'), z.string().regex(/^team-\d{1,10}$/)], { error: 'Choose who sees the view.' })
    .optional()
    .transform((v) => ({ shared: v === 'all', teamId: v?.startsWith('team-') ? Number(v.slice(5)) : null })),
  status: z.string().max(40).optional(),
  urgency: z.string().max(40).optional(),
  assignee: z.string().max(40).optional(),
  team: z.string().max(40).optional(),
  q: z.string().max(400).optional(),
  sort: z
    .union([z.literal('').transform(() => 'urgency' as const), choice('sort', QUEUE_SORTS)], { error: 'Choose a valid order.' })
    .default('urgency'),
});

/** A selected queue row: its reference and the version the queue showed ("CB-7K2M9QX:3"). */
const BulkTicket = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,20}:\d{1,10}$/, 'A selected ticket is not valid: reload the queue.')
  .transform((s) => {
    const [reference = '', v = ''] = s.split(':');
    return { reference, version: Number(v) };
  })
  .refine((t) => t.version >= 1 && t.version <= 2_147_483_647, 'A selected ticket is not valid: reload the queue.');

/**
 * The queue's bulk form: the selected rows, and one action (the button pressed) with its field.
 * The fields of the other actions come too (every select is in the form) and are ignored.
 */
export const BulkForm = z
  .object({
    t: z
      .union([BulkTicket.transform((t) => [t]), z.array(BulkTicket)], { error: 'Select at least one ticket.' })
      .pipe(z.array(z.object({ reference: z.string(), version: z.number() })).max(BULK_LIMIT, `Select at most ${BULK_LIMIT} tickets at a time.`)),
    action: choice('action', ['assign', 'urgency', 'status', 'duplicate', 'team', 'macro'] as const),
    macroId: z.union([id, z.literal('')], { error: 'Choose a macro from the list.' }).optional(),
    teamId: z.union([id, z.literal('')], { error: 'Choose a team from the list.' }).optional(),
    assignee: z.union([z.enum(['me', 'nobody']), id, z.literal('')], { error: 'Choose someone from the list.' }).optional(),
    urgency: z.union([z.literal(''), choice('urgency', URGENCIES)]).optional(),
    status: z.union([z.literal(''), choice('status', STATUSES)]).optional(),
    original: optionalText('The original reference', 40),
    note: optionalText('A note', 2000),
    /** The queue's query string, to go back to the same filters and page. */
    back: z.string().max(2000).optional(),
  })
  .transform((f, ctx): { items: { reference: string; version: number }[]; action: BulkAction; back: string } => {
    const missing = (field: string, message: string) => {
      ctx.addIssue({ code: 'custom', path: [field], message });
      return z.NEVER;
    };
    let action: BulkAction;
    if (f.action === 'assign') {
      if (f.assignee === undefined || f.assignee === '') return missing('assignee', 'Choose whom to give the tickets to.');
      action = { kind: 'assign', assignee: f.assignee };
    } else if (f.action === 'urgency') {
      if (!f.urgency) return missing('urgency', 'Choose an urgency.');
      action = { kind: 'urgency', urgency: f.urgency };
    } else if (f.action === 'status') {
      if (!f.status) return missing('status', 'Choose a status.');
      action = { kind: 'status', status: f.status };
    } else if (f.action === 'macro') {
      if (f.macroId === undefined || f.macroId === '') return missing('macroId', 'Choose the macro to apply.');
      action = { kind: 'macro', macroId: f.macroId };
    } else if (f.action === 'team') {
      if (f.teamId === undefined || f.teamId === '') return missing('teamId', 'Choose the team to move the tickets to.');
      action = { kind: 'team', teamId: f.teamId };
    } else {
      if (!f.original) return missing('original', 'Enter the reference of the original ticket.');
      action = { kind: 'duplicate', original: f.original, note: f.note };
    }
    // Only a queue query string goes back into the redirect (never another site or path).
    const back = f.back && /^[A-Za-z0-9=&%+._~-]*$/.test(f.back) ? f.back : '';
    return { items: f.t, action, back };
  });

/** "I am writing a reply / a note" beats from the ticket page (public/js/live.js); empty: stopped. */
export const TypingForm = z.object({
  kind: z.enum(['REPLY', 'NOTE', ''], { error: 'kind must be REPLY, NOTE or empty.' }).transform((k) => (k === '' ? null : k)),
});
