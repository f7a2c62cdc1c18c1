// Property-based, model-based tests of the service layer against the real database.
//
// fast-check generates random sequences of operations by random actors (an admin, two
// technicians, a deactivated technician) with random — sometimes stale, sometimes absurd —
// versions and random text (unicode, blanks, control characters, NUL, over-long values). A small
// model of the rules predicts each outcome; after every step the database must agree with it:
//
// - a refused operation (permission, missing record, stale version, broken rule, or a value the
//   database refuses after some rows were written) changes nothing at all: the same row counts in
//   every table, the same count/sum(version)/max(updatedAt) in every mutable table, and the same
//   bytes in every row of the sequence's records;
// - a successful change writes exactly its history: one row per changed field (old and new value,
//   or ids and readable names), all at the new version, which is one more than the old; nothing
//   else is written, and every record of the sequence is exactly as the model says;
// - an operation by someone without the permission (the model's own table, from the README, not
//   policy.ts) is refused as forbidden and writes nothing;
// - a RESOLVED or CLOSED ticket has a resolution code and note; a deactivated user is never made
//   a ticket's owner;
// - history only grows: at the end of each sequence every history, work-log and revision row it
//   saw is still there, byte for byte, and its records are explained by their history
//   (fuzz-support.ts: consistencyViolations); at the end of each property the same for the whole
//   database.
//
// Operations: create a ticket (an existing or new customer, maybe taking it), take, assign (to
// anyone, nobody, a deactivated or missing user), change urgency, change status (any target),
// add a work-log entry (each kind), resolve (any code; a duplicate's original typed exactly,
// loosely, as itself, blank or random; by a published, draft or missing article), reopen (with or
// without a reason), edit details, link and unlink articles; edit and merge customers; write, edit,
// publish and archive articles; edit, deactivate and reactivate a user.
//
// Each sequence works on fresh tickets (customers, articles, a user) in the one database of this
// file. On failure fast-check prints the seed, the path and the shrunk sequence of operations;
// re-run one with PROP_SEED=<seed> PROP_PATH=<path>. PROP_RUNS changes the number of sequences.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import {
  CHANNELS,
  RESOLUTION_CODES,
  STATUSES,
  URGENCIES,
  type Channel,
  type FixOutcome,
  type ResolutionCode,
  type Role,
  type TicketStatus,
  type Urgency,
  type WorkLogKind,
} from '../../src/domain/enums.js';
import { WorkLogKind as WorkLogKindValues } from '../../src/generated/prisma/enums.js';
import { canTransition, isActive } from '../../src/domain/status.js';
import { normalizeReference } from '../../src/domain/reference.js';
import type { Ticket } from '../../src/generated/prisma/client.js';
import type { ArticleStatus, ArticleVisibility } from '../../src/generated/prisma/enums.js';
import type { Actor } from '../../src/services/context.js';
import { AppError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../src/services/errors.js';
import type { Permission } from '../../src/services/policy.js';
import { createTicket } from '../../src/services/tickets/create-ticket.js';
import { assignTicket, takeTicket } from '../../src/services/tickets/assign-ticket.js';
import { changeUrgency } from '../../src/services/tickets/change-urgency.js';
import { changeStatus } from '../../src/services/tickets/change-status.js';
import { addWorkLog } from '../../src/services/tickets/add-work-log.js';
import { resolveTicket } from '../../src/services/tickets/resolve-ticket.js';
import { reopenTicket } from '../../src/services/tickets/reopen-ticket.js';
import { updateTicketDetails } from '../../src/services/tickets/update-details.js';
import { linkArticle, unlinkArticle } from '../../src/services/tickets/link-article.js';
import { updateCustomer } from '../../src/services/customers/update-customer.js';
import { mergeCustomers } from '../../src/services/customers/merge-customers.js';
import { looksAlike } from '../../src/domain/email-address.js';
import { createArticle, setArticleStatus, updateArticle } from '../../src/services/knowledge/manage-articles.js';
import { setUserActive, updateUser } from '../../src/services/users/manage-users.js';
import { PATHOLOGICAL_UNITS, fill } from './pathological-text.js';
import { consistencyViolations, historyPrefix, prefixViolations, snapshot, type Prefix, type Scope } from './fuzz-support.js';

const RUNS = Number(process.env.PROP_RUNS ?? 40);
const SEED = process.env.PROP_SEED === undefined ? undefined : Number(process.env.PROP_SEED);
const PATH = process.env.PROP_PATH;
const params = <T>(numRuns: number): fc.Parameters<T> => ({
  numRuns,
  ...(SEED === undefined ? {} : { seed: SEED }),
  ...(PATH === undefined ? {} : { path: PATH }),
  // Shrinking replays sequences against the database: bounded, so a failure is reported in time.
  interruptAfterTimeLimit: 240_000,
  markInterruptAsFailure: false,
});

let db: TestDatabase;
type Who = 'admin' | 'tech1' | 'tech2' | 'retired';
const WHO: readonly Who[] = ['admin', 'tech1', 'tech2', 'retired'];
const actors = {} as Record<Who, Actor>;
/** Whether each known user is active (the deactivated technician, and per-run target users). */
const activeUsers = new Map<number, boolean>();
/** Every ticket reference in the database, to predict whether a typed original exists. */
const allReferences = new Set<string>();
/** The readable names history rows keep beside ids: users' names, tickets' references, articles' titles. */
const labels = { assigneeId: new Map<number, string>(), duplicateOfId: new Map<number, string>(), resolutionArticleId: new Map<number, string>(), customerId: new Map<number, string>() };
/** Every customer email in the database, to predict whether an address is taken. */
const allEmails = new Set<string>();
/** Articles for linking and "resolved by article": two published, one draft. */
let pub1: number;
let pub2: number;
let draft: number;
const GHOST_ID = 2_000_000_000;
/** Organization records: id → name. */
const PROPERTY_ORGS = ['Prop Org One', 'Prop Org Two'] as const;
const orgNames = new Map<number, string>();
let runCounter = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  actors.admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
  actors.tech1 = await buildUser(db, { name: 'Tia Tech' });
  actors.tech2 = await buildUser(db, { name: 'Tom Tech' });
  actors.retired = await buildUser(db, { name: 'Rex Retired', active: false });
  for (const w of WHO) {
    activeUsers.set(actors[w].id, w !== 'retired');
    labels.assigneeId.set(actors[w].id, actors[w].name);
  }
  const admin = as(db, actors.admin);
  const publish = async (title: string) => {
    const a = await createArticle(admin, { title, body: `How to ${title}.` });
    labels.resolutionArticleId.set(a.id, title);
    return (await setArticleStatus(admin, a.id, a.version, 'PUBLISHED')).id;
  };
  pub1 = await publish('restart the spooler');
  pub2 = await publish('clear the cache');
  draft = (await createArticle(admin, { title: 'unfinished', body: 'draft' })).id;
  // The organizations a customer edit may name (by name, any case); any other name is refused.
  for (const name of PROPERTY_ORGS) {
    const org = await db.prisma.organization.create({ data: { name, nameKey: name.toLowerCase() } });
    orgNames.set(org.id, name);
  }
}, 120_000);
afterAll(() => db?.close());

// ---------------------------------------------------------------------------------------------
// Shared helpers of the model
// ---------------------------------------------------------------------------------------------

type Outcome = 'forbidden' | 'notfound' | 'conflict' | 'validation' | 'db';

function outcomeOf(err: unknown): Outcome {
  if (err instanceof ForbiddenError) return 'forbidden';
  if (err instanceof NotFoundError) return 'notfound';
  if (err instanceof ConflictError) return 'conflict';
  if (err instanceof ValidationError) return 'validation';
  if (err instanceof AppError) throw new Error(`unexpected AppError ${err.status}: ${err.message}`);
  return 'db';
}

/** A refusal the model predicts, with the rule that refuses. */
class Refusal {
  constructor(
    readonly outcome: Outcome,
    readonly why: string,
  ) {}
}
const refuse = (outcome: Outcome, why: string): never => {
  throw new Refusal(outcome, why);
};
/**
 * Who may do what, as the README says — the model's own table, not the app's policy.ts, so that a
 * change to the policy shows: technicians work tickets, keep customer records, read articles and
 * propose drafts; admins also manage users, merge customers and manage articles.
 */
const TECHNICIAN: readonly Permission[] = [
  'ticket.read', 'ticket.create', 'ticket.update', 'ticket.assign', 'ticket.resolve', 'ticket.worklog',
  'customer.read', 'customer.update', 'article.read', 'article.propose',
];
const MAY: Record<Role, readonly Permission[]> = {
  TECHNICIAN,
  ADMIN: [...TECHNICIAN, 'user.manage', 'customer.merge', 'article.manage'],
};
const may = (actor: Actor, permission: Permission) => MAY[actor.role].includes(permission);
const needs = (actor: Actor, permission: Permission) => {
  if (!may(actor, permission)) refuse('forbidden', `${actor.role} lacks ${permission}`);
};
/** What requireText keeps: the trimmed text, or a refusal when nothing is left. */
const required = (value: string, what: string): string => {
  const t = value.trim();
  if (t === '') refuse('validation', `${what} is blank`);
  return t;
};
/** PostgreSQL refuses NUL in text, and values longer than a varchar column (counted in code points). */
const dbRefuses = (value: unknown, max?: number): boolean =>
  typeof value === 'string' && (value.includes('\0') || (max !== undefined && [...value].length > max));
const show = (v: unknown): string | null => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : String(v));

type VersionPick = { kind: 'current' } | { kind: 'off'; delta: number } | { kind: 'raw'; value: number };
const versionOf = (current: number, v: VersionPick): number =>
  v.kind === 'current' ? current : v.kind === 'off' ? current + v.delta : v.value;
const checkVersion = (current: number, given: number) => {
  if (given !== current) refuse('conflict', `version ${given} is not the current ${current}`);
};

// Random input.
const whoArb = fc.constantFrom<Who>('admin', 'admin', 'tech1', 'tech1', 'tech2', 'retired');
const versionArb: fc.Arbitrary<VersionPick> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: 'current' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('off' as const), delta: fc.constantFrom(-2, -1, 1, 2) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('raw' as const), value: fc.constantFrom(0, -1, 2 ** 31 - 1, 2 ** 31, Number.MAX_SAFE_INTEGER) }),
  },
);
/**
 * Text as people type it, and as they should not: blanks, control characters, too long, and NUL,
 * which PostgreSQL refuses — after every rule has passed, so that an operation fails late, when
 * some of its rows may already be written: the test of all-or-nothing.
 */
const textArb = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }) },
  { weight: 2, arbitrary: fc.constantFrom('', ' ', ' \t\n ', '\u00a0\u3000') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(41), 'y'.repeat(81), 'z'.repeat(121), 'w'.repeat(201)) },
  { weight: 2, arbitrary: fc.tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 })).map(([a, b]) => `${a}\0${b}`) },
  // Text that PostgreSQL's text-search parser once took quadratic time on (every indexed field
  // parses it): each step is bounded in time too (STEP_BOUND_MS).
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...PATHOLOGICAL_UNITS), fc.constantFrom(150, 2_000, 20_000)).map(([unit, n]) => fill(unit, n)) },
);
/**
 * The longest one operation may take, whatever its text (a generous bound: with bounded indexing
 * the slowest takes a fraction of it; before, a 20,000-character '_a' description took seconds).
 */
const STEP_BOUND_MS = inject('testDb').mode === 'embedded' ? 8_000 : 2_000;
const optionalTextArb = fc.option(textArb, { nil: null, freq: 3 });

// ---------------------------------------------------------------------------------------------
// Tickets
// ---------------------------------------------------------------------------------------------

const TRACKED = [
  'title', 'description', 'channel', 'environment', 'occurrence', 'workaround', 'urgency', 'status',
  'assigneeId', 'resolutionCode', 'resolutionNote', 'duplicateOfId', 'resolutionArticleId', 'customerId',
] as const;
type Tracked = (typeof TRACKED)[number];
const REF_FIELDS = new Set<Tracked>(['assigneeId', 'duplicateOfId', 'resolutionArticleId', 'customerId']);

type TicketState = Pick<Ticket, Tracked | 'id' | 'reference' | 'version'> & { links: Set<number> };

const stateOf = (t: Ticket): TicketState => ({
  id: t.id,
  reference: t.reference,
  version: t.version,
  title: t.title,
  description: t.description,
  channel: t.channel,
  environment: t.environment,
  occurrence: t.occurrence,
  workaround: t.workaround,
  urgency: t.urgency,
  status: t.status,
  assigneeId: t.assigneeId,
  resolutionCode: t.resolutionCode,
  resolutionNote: t.resolutionNote,
  duplicateOfId: t.duplicateOfId,
  resolutionArticleId: t.resolutionArticleId,
  customerId: t.customerId,
  links: new Set(),
});

/**
 * Each ticket's tracked fields at every version it had (the model's history), for forms sent from
 * an older version: a stale form is refused only when a field it changes was changed since
 * (src/services/tickets/stale.ts).
 */
const pastStates = new Map<number, Map<number, Pick<TicketState, Tracked>>>();
function remember(t: TicketState): void {
  const snapshot = Object.fromEntries(TRACKED.map((f) => [f, t[f]])) as Pick<TicketState, Tracked>;
  const past = pastStates.get(t.id) ?? new Map();
  past.set(t.version, snapshot);
  pastStates.set(t.id, past);
}
/** The fields changed after version `given`, each with its value at `given`. */
function changedSinceModel(t: TicketState, given: number): Map<Tracked, unknown> {
  const past = pastStates.get(t.id);
  const at = (v: number) => {
    const snap = past?.get(v);
    if (!snap) throw new Error(`model: no snapshot of ${t.reference} at version ${v}`);
    return snap;
  };
  const since = new Map<Tracked, unknown>();
  for (let v = given + 1; v <= t.version; v++) {
    for (const f of TRACKED) if (!since.has(f) && show(at(v)[f]) !== show(at(v - 1)[f])) since.set(f, at(given)[f]);
  }
  return since;
}
const normText = (v: unknown): string | null => (v === null || v === undefined ? null : String(v).replace(/\r\n?/g, '\n').trim());
/** mergeStale: a field changed since is a conflict unless the form sets it to what it is now (then left out). */
function mergeStaleModel(t: TicketState, patch: Partial<Pick<TicketState, Tracked>>, since: Map<Tracked, unknown>) {
  const merged: Partial<Pick<TicketState, Tracked>> = {};
  for (const f of Object.keys(patch) as Tracked[]) {
    if (!since.has(f)) (merged as Record<string, unknown>)[f] = patch[f];
    else if (normText(patch[f]) !== normText(t[f])) refuse('conflict', `${f} was changed since the form's version`);
  }
  return merged;
}
/** withoutUntouched (the details form): fields sent as they were at the form's version are left out. */
function withoutUntouchedModel(patch: Partial<Pick<TicketState, Tracked>>, since: Map<Tracked, unknown>) {
  return Object.fromEntries(
    Object.entries(patch).filter(([f, v]) => {
      if (!since.has(f as Tracked)) return true;
      const base = since.get(f as Tracked);
      return REF_FIELDS.has(f as Tracked) ? (v ?? null) !== (base ?? null) : normText(v) !== normText(base);
    }),
  ) as Partial<Pick<TicketState, Tracked>>;
}

/** A history row as the model expects it; only the keys given are compared. */
type RowSpec = Record<string, string | number | null>;

type DupPick =
  | { kind: 'other'; t: number; loose: boolean }
  | { kind: 'self'; loose: boolean }
  | { kind: 'none'; typed: '' | null | '   ' }
  | { kind: 'text'; text: string };
type ArticlePick = 'pub1' | 'pub2' | 'draft' | 'ghost';

type TicketOp =
  | { op: 'create'; who: Who; title: string; description: string; urgency: Urgency; channel: Channel; assignToMe: boolean; customer: number; customerName: string }
  | { op: 'take'; who: Who; t: number; v: VersionPick }
  | { op: 'assign'; who: Who; t: number; v: VersionPick; to: Who | 'nobody' | 'ghost' }
  | { op: 'urgency'; who: Who; t: number; v: VersionPick; urgency: Urgency }
  | { op: 'status'; who: Who; t: number; v: VersionPick; status: TicketStatus }
  | { op: 'worklog'; who: Who; t: number; kind: WorkLogKind; body: string; outcome: FixOutcome | null; wait: boolean }
  | { op: 'resolve'; who: Who; t: number; v: VersionPick; code: ResolutionCode; note: string; dup: DupPick; article: ArticlePick | null }
  | { op: 'reopen'; who: Who; t: number; v: VersionPick; reason: string | null }
  | { op: 'details'; who: Who; t: number; v: VersionPick; title: string; description: string; channel: Channel; environment: string | null; occurrence: string | null; workaround: string | null }
  | { op: 'link' | 'unlink'; who: Who; t: number; article: ArticlePick };

const t = fc.nat({ max: 9 });
const ticketOpArb: fc.Arbitrary<TicketOp> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('create' as const),
      who: whoArb,
      title: textArb,
      description: textArb,
      urgency: fc.constantFrom(...URGENCIES),
      channel: fc.constantFrom(...CHANNELS),
      assignToMe: fc.boolean(),
      customer: fc.nat({ max: 3 }),
      customerName: textArb,
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('take' as const), who: whoArb, t, v: versionArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('assign' as const),
      who: whoArb,
      t,
      v: versionArb,
      to: fc.constantFrom<Who | 'nobody' | 'ghost'>('admin', 'tech1', 'tech2', 'retired', 'nobody', 'ghost'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('urgency' as const), who: whoArb, t, v: versionArb, urgency: fc.constantFrom(...URGENCIES) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('status' as const), who: whoArb, t, v: versionArb, status: fc.constantFrom(...STATUSES) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('worklog' as const),
      who: whoArb,
      t,
      kind: fc.constantFrom(...(Object.values(WorkLogKindValues) as WorkLogKind[])),
      body: textArb,
      outcome: fc.option(fc.constantFrom<FixOutcome>('SOLVED', 'PARTIAL', 'FAILED', 'UNKNOWN'), { nil: null }),
      // A reply may also set Waiting on customer (the reply form's checkbox).
      wait: fc.boolean(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('resolve' as const),
      who: whoArb,
      t,
      v: versionArb,
      code: fc.oneof(fc.constant<ResolutionCode>('DUPLICATE'), fc.constantFrom(...RESOLUTION_CODES)),
      note: textArb,
      dup: fc.oneof(
        { weight: 4, arbitrary: fc.record({ kind: fc.constant('other' as const), t, loose: fc.boolean() }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('self' as const), loose: fc.boolean() }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('none' as const), typed: fc.constantFrom<'' | null | '   '>('', null, '   ') }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('text' as const), text: fc.string({ unit: 'binary', maxLength: 14 }) }) },
      ),
      article: fc.option(fc.constantFrom<ArticlePick>('pub1', 'pub2', 'pub1', 'pub2', 'draft', 'ghost'), { nil: null, freq: 3 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('reopen' as const), who: whoArb, t, v: versionArb, reason: optionalTextArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('details' as const),
      who: whoArb,
      t,
      v: versionArb,
      title: textArb,
      description: textArb,
      channel: fc.constantFrom(...CHANNELS),
      environment: optionalTextArb,
      occurrence: optionalTextArb,
      workaround: optionalTextArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constantFrom<'link' | 'unlink'>('link', 'unlink'),
      who: whoArb,
      t,
      article: fc.constantFrom<ArticlePick>('pub1', 'pub2', 'draft', 'ghost'),
    }),
  },
);

const articleIdOf = (a: ArticlePick) => (a === 'pub1' ? pub1 : a === 'pub2' ? pub2 : a === 'draft' ? draft : GHOST_ID);
const isPublished = (id: number) => id === pub1 || id === pub2;
/** A reference as someone reads it over the phone: lower case, no prefix, O for 0, l for 1. */
const loosely = (ref: string) => ref.slice(3, 6).toLowerCase() + ' ' + ref.slice(6).toLowerCase().replace(/0/g, 'o').replace(/1/g, 'l');

interface TicketRun {
  tickets: TicketState[];
  /** The run's three customers' addresses. */
  emails: string[];
  /** The address the current create operation uses: one of the three, or a new customer's. */
  email: string;
}

/** What the model predicts for a successful operation. */
interface Success {
  mayFail?: Outcome;
  /** The ticket it changes (index into run.tickets), with the new values of the changed fields. */
  index?: number;
  patch: Partial<TicketState>;
  links?: { add?: number; remove?: number };
  rows: RowSpec[];
  delta: Record<string, number>;
  worklog?: { kind: WorkLogKind; body: string; outcome: FixOutcome | null; authorId: number };
  create?: { urgency: Urgency; channel: Channel; title: string; description: string; assigneeId: number | null; email: string };
}

/** changeTicket as the rules describe it: the changed fields, their rows at version+1, and whether the database would refuse a value. */
function change(t: TicketState, actor: Actor, patch: Partial<Pick<TicketState, Tracked>>, limits: Partial<Record<Tracked, number>> = {}) {
  const changed = TRACKED.filter((f) => f in patch && show(patch[f]) !== show(t[f]));
  const rows: RowSpec[] = changed.map((f) => {
    const base = { ticketId: t.id, action: 'CHANGED', field: f, ticketVersion: t.version + 1, actorId: actor.id };
    const label = (id: number | null) => (id === null ? null : (labels[f as keyof typeof labels].get(id) ?? `? unknown ${f} ${id}`));
    const [oldRefId, newRefId] = [(t[f] as number | null) ?? null, (patch[f] as number | null | undefined) ?? null];
    return REF_FIELDS.has(f)
      ? { ...base, oldRefId, newRefId, oldValue: label(oldRefId), newValue: label(newRefId) }
      : { ...base, oldValue: show(t[f]), newValue: show(patch[f]) };
  });
  const refused = changed.some((f) => dbRefuses(patch[f], limits[f]));
  const next: Partial<TicketState> = Object.fromEntries(changed.map((f) => [f, patch[f] ?? null]));
  if (changed.length) next.version = t.version + 1;
  return { changed, rows, refused, next };
}

function predictTicketOp(run: TicketRun, op: TicketOp): Success {
  const actor = actors[op.who];
  if (op.op === 'create') {
    needs(actor, 'ticket.create');
    const title = required(op.title, 'title');
    const description = required(op.description, 'description');
    const email = run.email;
    const fresh = !allEmails.has(email);
    const name = required(op.customerName, 'customer name');
    // Deactivated users cannot be given tickets (README: Owner).
    if (op.assignToMe && !activeUsers.get(actor.id)) refuse('validation', 'a deactivated user cannot own a ticket');
    if ([title, description, email, name].some((s) => dbRefuses(s)) || dbRefuses(title, 200) || (fresh && dbRefuses(name, 120))) {
      refuse('db', 'a value the database refuses');
    }
    const assigneeId = op.assignToMe ? actor.id : null;
    return {
      // An existing customer's name is not stored, yet a name over the column's 120 characters
      // may still be refused: PostgreSQL folds the statement's cast to varchar(120) when it plans
      // with the values (a custom plan), not with a generic plan. Either outcome is right.
      ...(dbRefuses(name, 120) ? { mayFail: 'db' as const } : {}),
      patch: {},
      rows: [{ action: 'CREATED', ticketVersion: 1, actorId: actor.id, newRefId: assigneeId }],
      delta: { Ticket: 1, TicketHistory: 1, Customer: fresh ? 1 : 0 },
      create: { urgency: op.urgency, channel: op.channel, title, description, assigneeId, email },
    };
  }

  const index = op.t % run.tickets.length;
  const ticket = run.tickets[index]!;
  if (op.op === 'worklog' && op.kind === 'CUSTOMER_REPLY') refuse('validation', 'only customers write customer replies');
  if (op.op === 'worklog' && op.wait && op.kind !== 'REPLY') refuse('validation', 'only a reply can wait on the customer');
  // Setting the status with a reply is a ticket update too.
  if (op.op === 'worklog' && op.wait) needs(actor, 'ticket.update');
  const permission: Permission =
    op.op === 'take' || op.op === 'assign' ? 'ticket.assign' : op.op === 'resolve' ? 'ticket.resolve' : op.op === 'worklog' ? 'ticket.worklog' : 'ticket.update';
  needs(actor, permission);
  // A form from an older version is stale: it goes on, and only a field changed since conflicts.
  let since: Map<Tracked, unknown> | null = null;
  if ('v' in op) {
    const given = versionOf(ticket.version, op.v);
    if (given >= 1 && given < ticket.version) since = changedSinceModel(ticket, given);
    else checkVersion(ticket.version, given);
  }
  if (ticket.status === 'CLOSED') refuse('validation', 'closed tickets are final');

  const ok = (patch: Partial<Pick<TicketState, Tracked>>, limits?: Partial<Record<Tracked, number>>): Success => {
    const c = change(ticket, actor, since ? mergeStaleModel(ticket, patch, since) : patch, limits);
    if (c.refused) refuse('db', 'a value the database refuses');
    return { index, patch: c.next, rows: c.rows, delta: { TicketHistory: c.rows.length } };
  };
  const assignable = (userId: number) => {
    if (!activeUsers.has(userId)) refuse('validation', 'no such user');
    if (!activeUsers.get(userId)) refuse('validation', 'a deactivated user cannot own a ticket');
  };

  switch (op.op) {
    case 'take':
      if (ticket.assigneeId === actor.id) return ok({});
      if (ticket.assigneeId !== null) refuse('conflict', 'someone owns it');
      assignable(actor.id);
      // A NEW ticket that gets an owner is OPEN (README: Owner).
      return ok({ assigneeId: actor.id, ...(ticket.status === 'NEW' ? { status: 'OPEN' as const } : {}) });
    case 'assign': {
      const to = op.to === 'nobody' ? null : op.to === 'ghost' ? GHOST_ID : actors[op.to].id;
      if (to !== null) assignable(to);
      // Given to somebody, a NEW ticket opens; handed back to nobody, it keeps its status.
      return ok({ assigneeId: to, ...(to !== null && ticket.status === 'NEW' ? { status: 'OPEN' as const } : {}) });
    }
    case 'urgency':
      return ok({ urgency: op.urgency });
    case 'status': {
      if (ticket.status === op.status) return ok({});
      if (!canTransition(ticket.status, op.status)) refuse('validation', `${ticket.status} → ${op.status} is not a transition`);
      if (op.status === 'RESOLVED') refuse('validation', 'resolving needs Resolve');
      if (ticket.status === 'RESOLVED' && op.status === 'OPEN') refuse('validation', 'reopening needs Reopen');
      const patch: Partial<TicketState> = { status: op.status };
      if (op.status === 'IN_PROGRESS' && ticket.assigneeId === null) {
        // Starting work makes the starter the owner — and deactivated users cannot own tickets.
        assignable(actor.id);
        patch.assigneeId = actor.id;
      }
      return ok(patch);
    }
    case 'worklog': {
      if (op.kind === 'CUSTOMER_REPLY') refuse('validation', 'only customers write customer replies');
      const body = required(op.body, 'work-log text');
      if (op.kind === 'ATTEMPTED_FIX' && !op.outcome) refuse('validation', 'an attempted fix needs an outcome');
      if (dbRefuses(body)) refuse('db', 'a value the database refuses');
      const outcome = op.kind === 'ATTEMPTED_FIX' ? op.outcome : null;
      const row = { ticketId: ticket.id, action: 'WORKLOG_ADDED' as const, field: op.kind, newValue: outcome, ticketVersion: ticket.version, actorId: actor.id };
      // A reply that waits on the customer: the same rules as a status change, after the entry.
      const waiting = op.wait && ticket.status !== 'WAITING_ON_CUSTOMER';
      if (waiting && !canTransition(ticket.status, 'WAITING_ON_CUSTOMER')) refuse('validation', `${ticket.status} → WAITING_ON_CUSTOMER is not a transition`);
      const s = waiting ? ok({ status: 'WAITING_ON_CUSTOMER' }) : null;
      return {
        index,
        patch: s?.patch ?? {},
        rows: [row, ...(s?.rows ?? [])],
        delta: { TicketHistory: 1 + (s?.rows.length ?? 0), WorkLogEntry: 1 },
        worklog: { kind: op.kind, body, outcome, authorId: actor.id },
      };
    }
    case 'resolve': {
      if (!isActive(ticket.status)) refuse('validation', `a ${ticket.status} ticket cannot be resolved`);
      const note = required(op.note, 'resolution note');
      let duplicateOfId: number | null = null;
      if (op.code === 'DUPLICATE') {
        const typed = (dupTyped(run, ticket, op.dup) ?? '').trim();
        const reference = normalizeReference(typed);
        if (!reference || !allReferences.has(reference)) refuse('validation', 'the original does not exist');
        if (reference === ticket.reference) refuse('validation', 'a ticket cannot duplicate itself');
        const original = run.tickets.find((x) => x.reference === reference);
        if (!original) throw new Error('model: a duplicate of a ticket outside this run');
        duplicateOfId = original.id;
      }
      const articleId = op.article === null ? null : articleIdOf(op.article);
      const linkRows: RowSpec[] = [];
      let add: number | undefined;
      if (articleId !== null) {
        if (!isPublished(articleId)) refuse('validation', 'only a published article resolves');
        if (!ticket.links.has(articleId)) {
          add = articleId;
          linkRows.push({ ticketId: ticket.id, action: 'LINKED', field: 'article', newRefId: articleId, ticketVersion: ticket.version, actorId: actor.id });
        }
      }
      const s = ok({ status: 'RESOLVED', resolutionCode: op.code, resolutionNote: note, duplicateOfId, resolutionArticleId: articleId });
      return {
        ...s,
        rows: [...s.rows, ...linkRows],
        links: add === undefined ? undefined : { add },
        delta: { TicketHistory: s.rows.length + linkRows.length, TicketArticle: linkRows.length },
      };
    }
    case 'reopen': {
      if (ticket.status !== 'RESOLVED') refuse('validation', `a ${ticket.status} ticket cannot be reopened`);
      const s = ok({ status: 'OPEN' });
      const text = op.reason?.trim();
      if (!text) return s;
      const body = `Reopened: ${text}`;
      if (dbRefuses(body)) refuse('db', 'a value the database refuses');
      return {
        ...s,
        rows: [...s.rows, { ticketId: ticket.id, action: 'WORKLOG_ADDED', field: 'NOTE', newValue: null, ticketVersion: ticket.version + 1, actorId: actor.id }],
        delta: { TicketHistory: s.rows.length + 1, WorkLogEntry: 1 },
        worklog: { kind: 'NOTE', body, outcome: null, authorId: actor.id },
      };
    }
    case 'details': {
      const title = required(op.title, 'title');
      const description = required(op.description, 'description');
      const fields = { title, description, channel: op.channel, environment: op.environment, occurrence: op.occurrence, workaround: op.workaround };
      return ok(since ? withoutUntouchedModel(fields, since) : fields, { title: 200 });
    }
    case 'link': {
      const articleId = articleIdOf(op.article);
      if (!isPublished(articleId)) refuse('validation', 'only a published article can be linked');
      if (ticket.links.has(articleId)) return ok({});
      return {
        index,
        patch: {},
        links: { add: articleId },
        rows: [{ ticketId: ticket.id, action: 'LINKED', field: 'article', newRefId: articleId, ticketVersion: ticket.version, actorId: actor.id }],
        delta: { TicketHistory: 1, TicketArticle: 1 },
      };
    }
    case 'unlink': {
      const articleId = articleIdOf(op.article);
      if (ticket.resolutionArticleId === articleId) refuse('validation', 'the resolving article stays linked');
      if (!ticket.links.has(articleId)) refuse('validation', 'not linked');
      return {
        index,
        patch: {},
        links: { remove: articleId },
        rows: [{ ticketId: ticket.id, action: 'UNLINKED', field: 'article', oldRefId: articleId, ticketVersion: ticket.version, actorId: actor.id }],
        delta: { TicketHistory: 1, TicketArticle: -1 },
      };
    }
  }
}

/** What the resolve form's "original ticket" field holds for a pick. */
function dupTyped(run: TicketRun, ticket: TicketState, dup: DupPick): string | null {
  switch (dup.kind) {
    case 'other': {
      const ref = run.tickets[dup.t % run.tickets.length]!.reference;
      return dup.loose ? loosely(ref) : ref;
    }
    case 'self':
      return dup.loose ? loosely(ticket.reference) : ticket.reference;
    case 'none':
      return dup.typed;
    case 'text':
      return dup.text;
  }
}

async function runTicketOp(run: TicketRun, op: TicketOp): Promise<Ticket | unknown> {
  const ctx = as(db, actors[op.who]);
  if (op.op === 'create') {
    return createTicket(ctx, {
      title: op.title,
      description: op.description,
      urgency: op.urgency,
      channel: op.channel,
      assignToMe: op.assignToMe,
      customer: { name: op.customerName, email: run.email },
    });
  }
  const ticket = run.tickets[op.t % run.tickets.length]!;
  const target = (v: VersionPick) => ({ reference: ticket.reference, version: versionOf(ticket.version, v) });
  switch (op.op) {
    case 'take':
      return takeTicket(ctx, target(op.v));
    case 'assign':
      return assignTicket(ctx, target(op.v), op.to === 'nobody' ? null : op.to === 'ghost' ? GHOST_ID : actors[op.to].id);
    case 'urgency':
      return changeUrgency(ctx, target(op.v), op.urgency);
    case 'status':
      return changeStatus(ctx, target(op.v), op.status);
    case 'worklog':
      return addWorkLog(ctx, ticket.reference, { kind: op.kind, body: op.body, outcome: op.outcome }, { waitForCustomer: op.wait });
    case 'resolve':
      return resolveTicket(ctx, target(op.v), {
        code: op.code,
        note: op.note,
        duplicateOf: dupTyped(run, ticket, op.dup),
        articleId: op.article === null ? null : articleIdOf(op.article),
      });
    case 'reopen':
      return reopenTicket(ctx, target(op.v), op.reason);
    case 'details':
      return updateTicketDetails(ctx, target(op.v), {
        title: op.title,
        description: op.description,
        channel: op.channel,
        environment: op.environment,
        occurrence: op.occurrence,
        workaround: op.workaround,
      });
    case 'link':
      return linkArticle(ctx, ticket.reference, articleIdOf(op.article));
    case 'unlink':
      return unlinkArticle(ctx, ticket.reference, articleIdOf(op.article));
  }
}

// ---------------------------------------------------------------------------------------------
// Checking one step
// ---------------------------------------------------------------------------------------------

/** The tables whose every row the model predicts. */
const MODELLED = [
  'Ticket', 'TicketHistory', 'WorkLogEntry', 'TicketArticle', 'Customer', 'CustomerHistory',
  'User', 'UserHistory', 'Article', 'ArticleRevision', 'ArticleHistory',
] as const;
const HISTORY_TABLES = ['TicketHistory', 'WorkLogEntry', 'CustomerHistory', 'UserHistory', 'ArticleHistory', 'ArticleRevision'] as const;
type HistoryTable = (typeof HISTORY_TABLES)[number];

async function maxIds(): Promise<Record<HistoryTable, number>> {
  const { rows } = await db.pool.query<{ t: HistoryTable; m: number }>(
    HISTORY_TABLES.map((t) => `SELECT '${t}' AS t, coalesce(max(id), 0)::int AS m FROM "${t}"`).join(' UNION ALL '),
  );
  return Object.fromEntries(rows.map((r) => [r.t, r.m])) as Record<HistoryTable, number>;
}

async function rowsAfter(table: HistoryTable, id: number): Promise<Record<string, unknown>[]> {
  const { rows } = await db.pool.query<Record<string, unknown>>(`SELECT * FROM "${table}" WHERE id > $1 ORDER BY id`, [id]);
  return rows;
}

/**
 * Pairs the rows written with the rows expected (each compared on the keys its expectation
 * names): for toEqual, the expected rows, and the written ones — cut down where they match one,
 * whole where they match none.
 */
function matchRows(actual: Record<string, unknown>[], expected: RowSpec[], fill: RowSpec = {}) {
  const wanted = expected.map((e) => ({ ...fill, ...e }));
  const cut = (r: Record<string, unknown>, keys: string[]) => JSON.stringify(Object.fromEntries(keys.map((k) => [k, r[k] ?? null])));
  const left = [...actual];
  const got: string[] = [];
  for (const w of wanted) {
    const keys = Object.keys(w);
    const i = left.findIndex((r) => cut(r, keys) === cut(w, keys));
    if (i >= 0) got.push(cut(left.splice(i, 1)[0]!, keys));
  }
  for (const r of left) got.push(JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
  return { actual: got.sort(), expected: wanted.map((w) => cut(w, Object.keys(w))).sort() };
}

function describeOp(op: unknown): string {
  return JSON.stringify(op, (_k, v: unknown) => (typeof v === 'string' && v.length > 40 ? `${v.slice(0, 20)}…(${v.length})` : v));
}

/**
 * Runs one operation: the model predicts, the service acts, the database is compared with the
 * prediction. Refusals: the kind of error, and not one row of any table changed. Successes: the
 * counts moved by exactly the expected rows, the history rows are exactly those expected.
 */
async function step<P extends { delta: Record<string, number>; rows: RowSpec[]; mayFail?: Outcome }>(
  seq: Sequence,
  op: unknown,
  predict: () => P,
  act: () => Promise<unknown>,
  verify: (prediction: P, result: unknown, fresh: Record<HistoryTable, Record<string, unknown>[]>) => Promise<void>,
): Promise<void> {
  const label = describeOp(op);
  let prediction: P | Refusal;
  try {
    prediction = predict();
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    prediction = e;
  }
  const [before, ids] = await Promise.all([snapshot(db, seq.scope()), maxIds()]);
  let result: unknown;
  let error: unknown;
  const started = performance.now();
  try {
    result = await act();
  } catch (e) {
    error = e;
  }
  const took = performance.now() - started;
  expect(took, `${label}: took ${Math.round(took)} ms`).toBeLessThan(STEP_BOUND_MS);
  if (prediction instanceof Refusal) {
    expect(error, `${label}: the model refuses it (${prediction.why}), the service did not`).toBeDefined();
    expect(outcomeOf(error), `${label}: refused for ${prediction.why}, but: ${String((error as Error).message)}`).toBe(prediction.outcome);
    expect(await snapshot(db, seq.scope()), `${label}: refused, yet rows changed`).toEqual(before);
    return;
  }
  if (error !== undefined && prediction.mayFail !== undefined && outcomeOf(error) === prediction.mayFail) {
    // Either outcome is right here (see where mayFail is set); refused, it must have written nothing.
    expect(await snapshot(db, seq.scope()), `${label}: refused, yet rows changed`).toEqual(before);
    return;
  }
  if (error !== undefined) {
    throw new Error(`${label}: the model expects success, the service refused: ${outcomeOf(error)}: ${String((error as Error).message)}`);
  }
  // The tables the model knows moved by exactly the predicted rows; others (the mail outbox and
  // its access links, which changes may queue as a side effect) only grew, if anything.
  const after = await countRows(db);
  const expectedCounts = Object.fromEntries(MODELLED.map((t) => [t, (before.counts[t] ?? 0) + (prediction.delta[t] ?? 0)]));
  expect(Object.fromEntries(MODELLED.map((t) => [t, after[t]])), `${label}: rows written`).toEqual(expectedCounts);
  for (const [table, n] of Object.entries(before.counts)) {
    // The modelled ones were checked exactly above (unlinking an article removes its link row).
    if (!(MODELLED as readonly string[]).includes(table)) expect(after[table], `${label}: ${table}`).toBeGreaterThanOrEqual(n);
  }
  const fresh = Object.fromEntries(
    await Promise.all(HISTORY_TABLES.map(async (t) => [t, await rowsAfter(t, ids[t])] as const)),
  ) as Record<HistoryTable, Record<string, unknown>[]>;
  await verify(prediction, result, fresh);
  seq.saw(fresh);
}

/**
 * One sequence's bookkeeping: the records it works on (compared row by row after a refusal;
 * the rest of the database through counts and aggregates), and every history row it has seen,
 * which must still be there, unchanged, at its end.
 */
class Sequence {
  private readonly seen = new Map<HistoryTable, Map<number, string>>(HISTORY_TABLES.map((t) => [t, new Map()]));
  private start: Record<HistoryTable, number> | undefined;
  constructor(readonly scope: () => Scope) {}

  /** Call before the sequence's records are made: their first history rows are seen too. */
  async begin() {
    this.start = await maxIds();
  }
  /** After the records are made. */
  async ready() {
    const start = this.start!;
    this.saw(Object.fromEntries(await Promise.all(HISTORY_TABLES.map(async (t) => [t, await rowsAfter(t, start[t])] as const))) as Record<HistoryTable, Record<string, unknown>[]>);
  }
  saw(rows: Record<HistoryTable, Record<string, unknown>[]>) {
    for (const t of HISTORY_TABLES) for (const r of rows[t]) this.seen.get(t)!.set(r.id as number, JSON.stringify(r));
  }
  /** History only grows: each row seen is still there, unchanged; the records are explained by their history. */
  async end() {
    for (const t of HISTORY_TABLES) {
      const seen = this.seen.get(t)!;
      const { rows } = await db.pool.query<Record<string, unknown>>(`SELECT * FROM "${t}" WHERE id = ANY($1::int[]) ORDER BY id`, [[...seen.keys()]]);
      expect(rows.map((r) => JSON.stringify(r)), `${t}: rows seen during the sequence`).toEqual([...seen.keys()].sort((a, b) => a - b).map((id) => seen.get(id)));
    }
    expect(await consistencyViolations(db, this.scope()), 'every record of the sequence is explained by its history').toEqual([]);
  }
}

async function checkTicketOp(seq: Sequence, run: TicketRun, op: TicketOp) {
  if (op.op === 'create') run.email = op.customer < run.emails.length ? run.emails[op.customer]! : `prop-new${++runCounter}@customer.test`;
  await step(
    seq,
    op,
    () => predictTicketOp(run, op),
    () => runTicketOp(run, op),
    async (p, result, fresh) => {
      const label = describeOp(op);
      if (p.create) {
        const created = result as Ticket;
        // Created with an owner, it is born Open (README: Owner).
        expect(created, label).toMatchObject({ urgency: p.create.urgency, channel: p.create.channel, title: p.create.title, version: 1, status: p.create.assigneeId === null ? 'NEW' : 'OPEN' });
        const m = matchRows(fresh.TicketHistory, p.rows, { ticketId: created.id });
        expect(m.actual, `${label}: history rows`).toEqual(m.expected);
        const stored = await db.prisma.ticket.findUniqueOrThrow({ where: { id: created.id }, include: { customer: true } });
        expect(stored, label).toMatchObject({ title: p.create.title, description: p.create.description, assigneeId: p.create.assigneeId, version: 1 });
        expect(stored.customer.email).toBe(p.create.email);
        allReferences.add(created.reference);
        labels.duplicateOfId.set(created.id, created.reference);
        allEmails.add(p.create.email);
        run.tickets.push(stateOf(stored));
        remember(run.tickets.at(-1)!);
      } else {
        const m = matchRows(fresh.TicketHistory, p.rows);
        expect(m.actual, `${label}: history rows`).toEqual(m.expected);
        const model = run.tickets[p.index!]!;
        Object.assign(model, p.patch);
        remember(model);
        if (p.links?.add !== undefined) model.links.add(p.links.add);
        if (p.links?.remove !== undefined) model.links.delete(p.links.remove);
      }
      if (p.worklog) {
        const [entry] = fresh.WorkLogEntry;
        expect(entry, label).toMatchObject({ kind: p.worklog.kind, body: p.worklog.body, outcome: p.worklog.outcome, authorId: p.worklog.authorId });
        expect(fresh.TicketHistory.find((h) => h.action === 'WORKLOG_ADDED')?.newRefId, label).toBe(entry!.id);
      }
      // Every ticket of the run is exactly as the model says: the changed one, and all the others.
      const stored = await db.prisma.ticket.findMany({ where: { id: { in: run.tickets.map((x) => x.id) } } });
      const links = await db.prisma.ticketArticle.findMany({ where: { ticketId: { in: run.tickets.map((x) => x.id) } } });
      for (const model of run.tickets) {
        const row = stored.find((s) => s.id === model.id)!;
        const { links: want, ...fields } = model;
        expect(stateOf(row), `${label}: ticket ${model.reference}`).toEqual({ ...fields, links: new Set() });
        expect(new Set(links.filter((l) => l.ticketId === model.id).map((l) => l.articleId)), `${label}: links of ${model.reference}`).toEqual(want);
      }
    },
  );
}

/** After all sequences of a property: no history row of the database changed or went, and every record is explained by its history. */
async function endOfProperty(prefix: Prefix) {
  expect(await prefixViolations(db, prefix), 'history only grows').toEqual([]);
  expect(await consistencyViolations(db), 'every record is explained by its history').toEqual([]);
}

describe('service layer, property-based', () => {
  it(`ticket operations by random actors: refusals change nothing, every change writes exactly its history (${RUNS} sequences)`, async () => {
    const prefix = await historyPrefix(db);
    await fc.assert(
      fc.asyncProperty(fc.array(ticketOpArb, { minLength: 1, maxLength: 16 }), async (ops) => {
        const runId = ++runCounter;
        const emails = [0, 1, 2].map((i) => `prop${runId}-c${i}@customer.test`);
        const run: TicketRun = { tickets: [], emails, email: emails[0]! };
        const seq = new Sequence(() => ({
          Ticket: run.tickets.map((x) => x.id),
          Customer: run.tickets.map((x) => x.customerId),
          User: WHO.map((w) => actors[w].id),
          Article: [pub1, pub2, draft],
        }));
        await seq.begin();
        for (const [i, who] of (['admin', 'tech1', 'tech2'] as const).entries()) {
          const created = await buildTicket(db, actors[who], {
            title: `Ticket ${i} of run ${runId}`,
            customer: { name: `Customer ${i}`, email: emails[i]! },
            assignToMe: i === 1,
          });
          allReferences.add(created.reference);
          labels.duplicateOfId.set(created.id, created.reference);
          allEmails.add(emails[i]!);
          run.tickets.push(stateOf(await db.prisma.ticket.findUniqueOrThrow({ where: { id: created.id } })));
          remember(run.tickets.at(-1)!);
        }
        await seq.ready();
        for (const op of ops) await checkTicketOp(seq, run, op);
        await seq.end();
      }),
      params(RUNS),
    );
    await endOfProperty(prefix);
  }, 300_000);

  it(`customer, article and user operations, admin-only ones by technicians too (${Math.ceil(RUNS / 2)} sequences)`, async () => {
    const prefix = await historyPrefix(db);
    await fc.assert(
      fc.asyncProperty(fc.array(recordOpArb, { minLength: 1, maxLength: 14 }), async (ops) => {
        let run: RecordRun | undefined;
        const seq = new Sequence(() => ({
          Ticket: run?.tickets.map((x) => x.id) ?? [],
          Customer: run?.customers.map((x) => x.id) ?? [],
          User: [...WHO.map((w) => actors[w].id), ...(run ? [run.user.id] : [])],
          Article: run?.articles.map((x) => x.id) ?? [],
        }));
        await seq.begin();
        run = await newRecordRun();
        await seq.ready();
        for (const op of ops) await checkRecordOp(seq, run, op);
        await seq.end();
      }),
      params(Math.ceil(RUNS / 2)),
    );
    await endOfProperty(prefix);
  }, 300_000);
});

// ---------------------------------------------------------------------------------------------
// Customers, articles, users
// ---------------------------------------------------------------------------------------------

interface CustomerState {
  id: number;
  version: number;
  name: string;
  email: string;
  phone: string | null;
  organization: string | null;
  environment: string | null;
  notes: string | null;
  mergedIntoId: number | null;
}
interface ArticleState {
  id: number;
  version: number;
  title: string;
  body: string;
  category: string | null;
  tags: string[];
  status: ArticleStatus;
  visibility: ArticleVisibility;
  authorId: number;
}
interface UserState {
  id: number;
  version: number;
  name: string;
  email: string;
  role: Role;
  active: boolean;
}
interface RecordRun {
  id: number;
  customers: CustomerState[];
  /** Tickets of the run's customers: id → customerId and version. */
  tickets: { id: number; customerId: number; version: number }[];
  articles: ArticleState[];
  user: UserState;
}

type EmailPick =
  | { kind: 'keep' | 'upper' | 'fresh' }
  | { kind: 'other'; c: number }
  | { kind: 'lookalike'; c: number }
  | { kind: 'text'; text: string };
type RecordOp =
  | { op: 'editCustomer'; who: Who; c: number; v: VersionPick; name: string; email: EmailPick; phone: string | null; organization: string | null; environment: string | null; notes: string | null }
  | { op: 'merge'; who: Who; keep: number; merge: number; kv: VersionPick; mv: VersionPick; confirm: boolean }
  | { op: 'newArticle'; who: Who; title: string; body: string; category: string | null; tags: string[]; visibility: ArticleVisibility | null }
  | { op: 'editArticle'; who: Who; a: number; v: VersionPick; title: string; body: string; category: string | null; tags: string[]; visibility: ArticleVisibility | null }
  | { op: 'articleStatus'; who: Who; a: number; v: VersionPick; status: ArticleStatus }
  | { op: 'editUser'; who: Who; v: VersionPick; name: string; role: Role }
  | { op: 'userActive'; who: Who; v: VersionPick; active: boolean };

const c = fc.nat({ max: 5 });
const tagsArb = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.constantFrom('printer', 'VPN', ' vpn ', 'mail', '', 'x'.repeat(41)), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.array(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 3 }), { minLength: 18, maxLength: 24 }) },
);
const recordOpArb: fc.Arbitrary<RecordOp> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('editCustomer' as const),
      who: whoArb,
      c,
      v: versionArb,
      name: textArb,
      email: fc.oneof(
        { weight: 4, arbitrary: fc.record({ kind: fc.constantFrom<'keep' | 'upper' | 'fresh'>('keep', 'upper', 'fresh') }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('other' as const), c }) },
        // Another record's address with a Cyrillic е: a look-alike (merging it needs a confirmation).
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('lookalike' as const), c }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('text' as const), text: textArb }) },
      ),
      phone: optionalTextArb,
      // Mostly an organization on record (in another case, with spaces), sometimes any text (refused).
      organization: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom<string | null>(null, 'Prop Org One', 'prop org two', '  PROP ORG TWO ') },
        { weight: 1, arbitrary: optionalTextArb },
      ),
      environment: optionalTextArb,
      notes: optionalTextArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('merge' as const), who: whoArb, keep: c, merge: c, kv: versionArb, mv: versionArb, confirm: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('newArticle' as const),
      who: whoArb,
      title: textArb,
      body: textArb,
      category: optionalTextArb,
      tags: tagsArb,
      visibility: fc.option(fc.constantFrom<ArticleVisibility>('INTERNAL', 'PUBLIC'), { nil: null }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('editArticle' as const),
      who: whoArb,
      a: c,
      v: versionArb,
      title: textArb,
      body: textArb,
      category: optionalTextArb,
      tags: tagsArb,
      visibility: fc.option(fc.constantFrom<ArticleVisibility>('INTERNAL', 'PUBLIC'), { nil: null }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('articleStatus' as const),
      who: whoArb,
      a: c,
      v: versionArb,
      status: fc.constantFrom<ArticleStatus>('DRAFT', 'PUBLISHED', 'ARCHIVED'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('editUser' as const), who: whoArb, v: versionArb, name: textArb, role: fc.constantFrom<Role>('ADMIN', 'TECHNICIAN') }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('userActive' as const), who: whoArb, v: versionArb, active: fc.boolean() }) },
);

async function newRecordRun(): Promise<RecordRun> {
  const id = ++runCounter;
  const run: RecordRun = { id, customers: [], tickets: [], articles: [], user: undefined as unknown as UserState };
  for (let i = 0; i < 3; i++) {
    const email = `rec${id}-c${i}@customer.test`;
    for (let k = 0; k < (i === 0 ? 2 : 1); k++) {
      const ticket = await buildTicket(db, actors.tech1, { customer: { name: `Customer ${i}`, email } });
      allReferences.add(ticket.reference);
      run.tickets.push({ id: ticket.id, customerId: ticket.customerId, version: ticket.version });
    }
    allEmails.add(email);
  }
  const customers = await db.prisma.customer.findMany({ where: { email: { startsWith: `rec${id}-` } }, orderBy: { id: 'asc' } });
  run.customers = customers.map(customerState);
  const admin = as(db, actors.admin);
  const a0 = await createArticle(admin, { title: `Published ${id}`, body: 'Steps.', tags: ['printer'] });
  run.articles.push(articleState(await setArticleStatus(admin, a0.id, a0.version, 'PUBLISHED')));
  run.articles.push(articleState(await createArticle(as(db, actors.tech1), { title: `Proposal ${id}`, body: 'Maybe.' })));
  const target = await buildUser(db, { name: `Target ${id}` });
  activeUsers.set(target.id, true);
  run.user = { id: target.id, version: 1, name: target.name, email: target.email, role: 'TECHNICIAN', active: true };
  return run;
}

const customerState = (x: Omit<CustomerState, 'organization'> & Record<string, unknown>): CustomerState => ({
  id: x.id,
  version: x.version,
  name: x.name,
  email: x.email,
  phone: x.phone,
  // The model holds the organization's name.
  organization: x.organizationId === null || x.organizationId === undefined ? null : (orgNames.get(x.organizationId as number) ?? null),
  environment: x.environment,
  notes: x.notes,
  mergedIntoId: x.mergedIntoId,
});
const articleState = (x: ArticleState & Record<string, unknown>): ArticleState => ({
  id: x.id,
  version: x.version,
  title: x.title,
  body: x.body,
  category: x.category,
  tags: [...x.tags],
  status: x.status,
  visibility: x.visibility,
  authorId: x.authorId,
});

const CUSTOMER_LIMITS = { name: 120, email: 254, phone: 40, organization: 120, environment: 20_000, notes: 20_000 } as const;
const ARTICLE_TRANSITIONS: Record<ArticleStatus, ArticleStatus[]> = { DRAFT: ['PUBLISHED', 'ARCHIVED'], PUBLISHED: ['ARCHIVED', 'DRAFT'], ARCHIVED: ['PUBLISHED'] };
const showArticle = (v: unknown) => (v === null || v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v));

interface RecordSuccess {
  delta: Record<string, number>;
  rows: RowSpec[];
  /** Expected new rows per history table (rows above hold the TicketHistory ones). */
  other: Partial<Record<HistoryTable, RowSpec[]>>;
  apply: (result: unknown) => void;
}

function emailOf(run: RecordRun, customer: CustomerState, pick: EmailPick, opIndex: number): string {
  switch (pick.kind) {
    case 'keep':
      return customer.email;
    case 'upper':
      return ` ${customer.email.toUpperCase()} `;
    case 'fresh':
      return `rec${run.id}-new${opIndex}@customer.test`;
    case 'other':
      return run.customers[pick.c % run.customers.length]!.email;
    case 'lookalike':
      return run.customers[pick.c % run.customers.length]!.email.replace('e', '\u0435');
    case 'text':
      return pick.text;
  }
}

function predictRecordOp(run: RecordRun, op: RecordOp, opIndex: number): RecordSuccess {
  const actor = actors[op.who];
  const manage = may(actor, 'article.manage');
  switch (op.op) {
    case 'editCustomer': {
      needs(actor, 'customer.update');
      const customer = run.customers[op.c % run.customers.length]!;
      // The edit is normalized first: trimmed, empty as none, lengths, a plausible address.
      const text = (field: keyof typeof CUSTOMER_LIMITS, value: string | null, req: boolean) => {
        const v = value?.trim() ?? '';
        if (v === '') return req ? refuse('validation', `${field} is required`) : null;
        if (v.length > CUSTOMER_LIMITS[field]) refuse('validation', `${field} is too long`);
        return v;
      };
      const name = text('name', op.name, true)!;
      const email = text('email', emailOf(run, customer, op.email, opIndex), true)!.toLowerCase();
      if (!/^[^\s@]+@[^\s@]+$/.test(email)) refuse('validation', 'not an email address');
      const patch = {
        name,
        email,
        phone: text('phone', op.phone, false),
        organization: text('organization', op.organization, false),
        environment: text('environment', op.environment, false),
        notes: text('notes', op.notes, false),
      };
      // The organization is named by a record's name, whatever its case; the record's own name is kept.
      if (patch.organization !== null) {
        const named = PROPERTY_ORGS.find((o) => o.toLowerCase() === patch.organization!.toLowerCase());
        if (!named) refuse('validation', 'no organization of that name');
        patch.organization = named!;
      }
      if (customer.mergedIntoId !== null) refuse('validation', 'a merged record');
      checkVersion(customer.version, versionOf(customer.version, op.v));
      if (email !== customer.email) {
        if (dbRefuses(email)) refuse('db', 'a value the database refuses');
        if (allEmails.has(email)) refuse('validation', 'the address belongs to another record');
      }
      const changed = (Object.keys(patch) as (keyof typeof patch)[]).filter((f) => (patch[f] ?? null) !== (customer[f] ?? null));
      if (changed.some((f) => dbRefuses(patch[f]))) refuse('db', 'a value the database refuses');
      return {
        delta: { CustomerHistory: changed.length },
        rows: [],
        other: {
          CustomerHistory: changed.map((f) => ({ customerId: customer.id, action: 'CHANGED', field: f, oldValue: customer[f], newValue: patch[f], actorId: actor.id })),
        },
        apply: () => {
          if (!changed.length) return;
          if (email !== customer.email) {
            allEmails.delete(customer.email);
            allEmails.add(email);
          }
          Object.assign(customer, Object.fromEntries(changed.map((f) => [f, patch[f]])), { version: customer.version + 1 });
        },
      };
    }
    case 'merge': {
      needs(actor, 'customer.merge');
      const keep = run.customers[op.keep % run.customers.length]!;
      const merge = run.customers[op.merge % run.customers.length]!;
      if (keep.id === merge.id) refuse('validation', 'a record cannot be merged with itself');
      if (keep.mergedIntoId !== null || merge.mergedIntoId !== null) refuse('validation', 'a merged record');
      checkVersion(keep.version, versionOf(keep.version, op.kv));
      checkVersion(merge.version, versionOf(merge.version, op.mv));
      if (!op.confirm && looksAlike(keep.email, merge.email)) refuse('validation', 'look-alike addresses, not confirmed');
      const moved = run.tickets.filter((x) => x.customerId === merge.id);
      const empty = (v: string | null) => v === null || v.trim() === '';
      const filled = (['phone', 'organization', 'environment', 'notes'] as const).filter((f) => empty(keep[f]) && !empty(merge[f]));
      const label = (x: CustomerState) => `${x.name} <${x.email}>`;
      const refs = { oldRefId: merge.id, newRefId: keep.id, newValue: String(moved.length), actorId: actor.id };
      return {
        delta: { TicketHistory: moved.length, CustomerHistory: filled.length + 2 },
        rows: moved.map((x) => ({
          ticketId: x.id,
          action: 'CHANGED',
          field: 'customerId',
          oldRefId: merge.id,
          newRefId: keep.id,
          oldValue: merge.name,
          newValue: keep.name,
          ticketVersion: x.version + 1,
          actorId: actor.id,
        })),
        other: {
          CustomerHistory: [
            ...filled.map((f) => ({ customerId: keep.id, action: 'CHANGED', field: f, oldValue: keep[f], newValue: merge[f] })),
            { customerId: keep.id, action: 'MERGED', field: 'mergedFrom', oldValue: label(merge), ...refs },
            { customerId: merge.id, action: 'MERGED', field: 'mergedInto', oldValue: label(keep), ...refs },
          ],
        },
        apply: () => {
          for (const x of moved) Object.assign(x, { customerId: keep.id, version: x.version + 1 });
          for (const f of filled) keep[f] = merge[f];
          keep.version++;
          merge.version++;
          merge.mergedIntoId = keep.id;
        },
      };
    }
    case 'newArticle':
    case 'editArticle': {
      needs(actor, 'article.propose');
      let article: ArticleState | undefined;
      if (op.op === 'editArticle') {
        article = run.articles[op.a % run.articles.length]!;
        if (!manage && !(article.status === 'DRAFT' && article.authorId === actor.id)) refuse('forbidden', 'only an admin edits this article');
        checkVersion(article.version, versionOf(article.version, op.v));
      }
      const title = required(op.title, 'title');
      const body = required(op.body, 'body');
      const category = op.category?.trim() || null;
      const tags = [...new Set(op.tags.map((x) => x.trim().toLowerCase()).filter(Boolean))];
      if (tags.length > 20) refuse('validation', 'more than 20 tags');
      if (tags.some((x) => x.length > 40)) refuse('validation', 'a tag over 40 characters');
      const content = { title, body, category, tags };
      const limits: Record<string, number> = { title: 200, category: 80 };
      const refusedValue = (f: string, v: unknown) => (Array.isArray(v) ? v.some((x) => dbRefuses(x)) : dbRefuses(v, limits[f]));
      if (!article) {
        if (Object.entries(content).some(([f, v]) => refusedValue(f, v))) refuse('db', 'a value the database refuses');
        const visibility = manage ? (op.visibility ?? 'INTERNAL') : 'INTERNAL';
        return {
          delta: { Article: 1, ArticleHistory: 1, ArticleRevision: 1 },
          rows: [],
          other: { ArticleHistory: [{ action: 'CREATED', actorId: actor.id }], ArticleRevision: [{ version: 1, title, body, category, editorId: actor.id }] },
          apply: (result) => {
            const a = result as ArticleState & Record<string, unknown>;
            expect(a, describeOp(op)).toMatchObject({ ...content, status: 'DRAFT', visibility, authorId: actor.id, version: 1 });
            run.articles.push(articleState(a));
          },
        };
      }
      const a = article;
      const patch: Partial<ArticleState> = { ...content, ...(manage && op.visibility ? { visibility: op.visibility } : {}) };
      const tracked = ['title', 'body', 'category', 'tags', 'status', 'visibility'] as const;
      const changed = tracked.filter((f) => f in patch && showArticle(patch[f]) !== showArticle(a[f]));
      if (changed.length && Object.entries(patch).some(([f, v]) => refusedValue(f, v))) refuse('db', 'a value the database refuses');
      const contentChanged = changed.some((f) => f !== 'visibility');
      const v = a.version + 1;
      return {
        delta: { ArticleHistory: changed.length, ArticleRevision: contentChanged ? 1 : 0 },
        rows: [],
        other: {
          ArticleHistory: changed.map((f) => ({
            articleId: a.id,
            action: 'CHANGED',
            field: f,
            oldValue: f === 'body' ? `revision ${a.version}` : showArticle(a[f]),
            newValue: f === 'body' ? `revision ${v}` : showArticle(patch[f]),
            actorId: actor.id,
          })),
          ArticleRevision: contentChanged ? [{ articleId: a.id, version: v, title, body, category, editorId: actor.id }] : [],
        },
        apply: () => {
          if (changed.length) Object.assign(a, patch, { version: v });
        },
      };
    }
    case 'articleStatus': {
      needs(actor, 'article.manage');
      const a = run.articles[op.a % run.articles.length]!;
      checkVersion(a.version, versionOf(a.version, op.v));
      if (a.status === op.status) return { delta: {}, rows: [], other: {}, apply: () => {} };
      if (!ARTICLE_TRANSITIONS[a.status].includes(op.status)) refuse('validation', `${a.status} → ${op.status}`);
      return {
        delta: { ArticleHistory: 1 },
        rows: [],
        other: { ArticleHistory: [{ articleId: a.id, action: 'CHANGED', field: 'status', oldValue: a.status, newValue: op.status, actorId: actor.id }], ArticleRevision: [] },
        apply: () => Object.assign(a, { status: op.status, version: a.version + 1 }),
      };
    }
    case 'editUser':
    case 'userActive': {
      needs(actor, 'user.manage');
      const u = run.user;
      checkVersion(u.version, versionOf(u.version, op.v));
      let patch: Partial<UserState>;
      if (op.op === 'editUser') {
        const name = op.name.trim();
        if (!name) refuse('validation', 'a name is required');
        // The target is never the last active admin: the admin actor stays one.
        patch = { email: u.email, name, role: op.role };
      } else {
        patch = { active: op.active };
      }
      const changed = (Object.keys(patch) as (keyof UserState)[]).filter((f) => patch[f] !== u[f]);
      if (changed.some((f) => dbRefuses(patch[f], f === 'name' ? 120 : undefined))) refuse('db', 'a value the database refuses');
      return {
        delta: { UserHistory: changed.length },
        rows: [],
        other: { UserHistory: changed.map((f) => ({ userId: u.id, action: 'CHANGED', field: f, oldValue: String(u[f]), newValue: String(patch[f]), actorId: actor.id })) },
        apply: () => {
          if (!changed.length) return;
          Object.assign(u, patch, { version: u.version + 1 });
          if (patch.active !== undefined) activeUsers.set(u.id, patch.active);
        },
      };
    }
  }
}

async function runRecordOp(run: RecordRun, op: RecordOp, opIndex: number): Promise<unknown> {
  const ctx = as(db, actors[op.who]);
  switch (op.op) {
    case 'editCustomer': {
      const customer = run.customers[op.c % run.customers.length]!;
      return updateCustomer(ctx, customer.id, versionOf(customer.version, op.v), {
        name: op.name,
        email: emailOf(run, customer, op.email, opIndex),
        phone: op.phone,
        organization: op.organization,
        environment: op.environment,
        notes: op.notes,
      });
    }
    case 'merge': {
      const keep = run.customers[op.keep % run.customers.length]!;
      const merge = run.customers[op.merge % run.customers.length]!;
      return mergeCustomers(ctx, {
        keepId: keep.id,
        mergeId: merge.id,
        keepVersion: versionOf(keep.version, op.kv),
        mergeVersion: versionOf(merge.version, op.mv),
        confirmLookalike: op.confirm,
      });
    }
    case 'newArticle':
      return createArticle(ctx, { title: op.title, body: op.body, category: op.category, tags: op.tags, ...(op.visibility ? { visibility: op.visibility } : {}) });
    case 'editArticle': {
      const a = run.articles[op.a % run.articles.length]!;
      return updateArticle(ctx, a.id, versionOf(a.version, op.v), {
        title: op.title,
        body: op.body,
        category: op.category,
        tags: op.tags,
        ...(op.visibility ? { visibility: op.visibility } : {}),
      });
    }
    case 'articleStatus': {
      const a = run.articles[op.a % run.articles.length]!;
      return setArticleStatus(ctx, a.id, versionOf(a.version, op.v), op.status);
    }
    case 'editUser':
      return updateUser(ctx, run.user.id, versionOf(run.user.version, op.v), { email: run.user.email, name: op.name, role: op.role });
    case 'userActive':
      return setUserActive(ctx, run.user.id, versionOf(run.user.version, op.v), op.active);
  }
}

async function checkRecordOp(seq: Sequence, run: RecordRun, op: RecordOp) {
  const opIndex = ++runCounter;
  await step(
    seq,
    op,
    () => predictRecordOp(run, op, opIndex),
    () => runRecordOp(run, op, opIndex),
    async (p, result, fresh) => {
      const label = describeOp(op);
      const m = matchRows(fresh.TicketHistory, p.rows);
      expect(m.actual, `${label}: ticket history rows`).toEqual(m.expected);
      for (const table of ['CustomerHistory', 'ArticleHistory', 'ArticleRevision', 'UserHistory'] as const) {
        const want = p.other[table] ?? [];
        const got = matchRows(fresh[table], want);
        if (want.length === 0) expect(fresh[table].length, `${label}: ${table} rows`).toBe(0);
        else expect(got.actual, `${label}: ${table} rows`).toEqual(got.expected);
      }
      p.apply(result);
      // The run's records are exactly as the model says.
      const [customers, articles, tickets, user] = await Promise.all([
        db.prisma.customer.findMany({ where: { id: { in: run.customers.map((x) => x.id) } }, orderBy: { id: 'asc' } }),
        db.prisma.article.findMany({ where: { id: { in: run.articles.map((x) => x.id) } }, orderBy: { id: 'asc' } }),
        db.prisma.ticket.findMany({ where: { id: { in: run.tickets.map((x) => x.id) } }, orderBy: { id: 'asc' } }),
        db.prisma.user.findUniqueOrThrow({ where: { id: run.user.id } }),
      ]);
      expect(customers.map(customerState), `${label}: customers`).toEqual([...run.customers].sort((x, y) => x.id - y.id));
      expect(articles.map(articleState), `${label}: articles`).toEqual([...run.articles].sort((x, y) => x.id - y.id));
      expect(tickets.map((x) => ({ id: x.id, customerId: x.customerId, version: x.version })), `${label}: tickets`).toEqual(run.tickets);
      expect({ id: user.id, version: user.version, name: user.name, email: user.email, role: user.role, active: user.active }, `${label}: user`).toEqual(run.user);
    },
  );
}
