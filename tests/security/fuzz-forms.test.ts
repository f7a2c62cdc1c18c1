// Every staff form and query parameter, fuzzed over HTTP: never a 500, never a partial write.
//
// The forms are found by crawling as an admin: the queue, the new-ticket page, a ticket page
// (active, with a linked article and articles to link) and a resolved one, the knowledge base
// (list, new, an article, its edit page, a draft), customers (list, a customer, the merge page)
// and the admin's user pages. Each <form> (action, method, inputs, selects, textareas) is then
// submitted many times with the valid CSRF token — so it is input validation that is exercised,
// not CSRF — and fast-check values for every field: the page's own value or one of its options
// (so that some submissions are accepted), random unicode, control characters and NUL, empty,
// huge (up to 300 KB), numbers as text, absurd versions, wrong enum values, a field repeated,
// a field missing, an unknown field. Each form first gets each field alone just over 20,000
// characters and, if it carries a version, a submission as if the record had changed meanwhile;
// then random ones: all fields fuzzed, one field fuzzed, one oversized, stale, or all valid.
// Forms on a record's page that the record stops offering (a resolved ticket, a merged
// customer) are re-pointed to a fresh record made like the first.
//
// For every request: the status is below 500 and the session survives. A refused request
// (4xx, or a page re-rendered with 200 to a POST) changes nothing at all: row counts, aggregates
// and a fingerprint of every mutable row are as before. An accepted one (a redirect) leaves
// every record of the database explained by its history (fuzz-support.ts: consistencyViolations),
// e.g. a created ticket has its CREATED row, an edited article its revision.
// GET pages' query parameters (filters, search, cursors, page numbers) and path parameters are
// fuzzed too: below 500, nothing written. Failures print fast-check's seed and counterexample;
// FUZZ_SEED=<seed> replays, FUZZ_RUNS scales the number of submissions per form.
import type { Express } from 'express';
import fc from 'fast-check';
import type request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { createArticle, setArticleStatus } from '../../src/services/knowledge/manage-articles.js';
import { createOrganization } from '../../src/services/organizations/manage-organizations.js';
import { linkArticle } from '../../src/services/tickets/link-article.js';
import { resolveTicket } from '../../src/services/tickets/resolve-ticket.js';
import { createRunbook } from '../../src/services/runbooks/manage-runbooks.js';
import { attachRunbook } from '../../src/services/runbooks/ticket-runbooks.js';
import { createEndpoint } from '../../src/services/webhooks/endpoints.js';
import { createErrorProject } from '../../src/services/errors/projects.js';
import { recordProblemBatch } from '../../src/services/errors/record.js';
import { fromSentryEvent } from '../../src/services/errors/event.js';
import { consistencyViolations, encodeFields, mergeForms, parseForms, snapshot, type FormField, type FormSpec } from './fuzz-support.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 15);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns,
  ...(SEED === undefined ? {} : { seed: SEED }),
  interruptAfterTimeLimit: 120_000,
  markInterruptAsFailure: false,
});

let db: TestDatabase;
let app: Express;
let admin: Actor;
let tech: Actor;
let agent: ReturnType<typeof request.agent>;
let csrf: string;
let published: number;
/** An organization whose pages and edit form are crawled. */
let organization: number;
let draft: number;
/** Published, and on no crawled page: its status never changes, so fresh tickets can always link it. */
let linkable: number;
/** A published run book whose page and edit form are crawled (the fuzzing may archive it). */
let runbook: number;
/** Published, and on no crawled page: it stays published, so fresh tickets can always have it attached. */
let attachable: number;
let requests = 0;
let accepted = 0;

/** A page whose forms act on one record, and how to make another record like it when the forms are used up. */
interface Target {
  page: string;
  /** Strings in the page and form URLs that name the record (replaced when it is renewed). */
  tokens: string[];
  renew?: () => Promise<string[]>;
}
/** A form to fuzz: where it came from, and the record it acts on. */
interface Fuzzed extends FormSpec {
  target: Target;
}

let n = 0;
const uniq = () => `${Date.now().toString(36)}${(n++).toString(36)}`;

/**
 * An active ticket with a linked published article and an attached run book: every action form
 * shows, an unlink form, and the run book's next step's form.
 */
async function activeTicket(): Promise<string[]> {
  const t = await buildTicket(db, admin, { title: `Printer jams ${uniq()}`, customer: { name: 'Fuzz Customer', email: `fz-${uniq()}@customer.test` } });
  await linkArticle(as(db, admin), t.reference, linkable);
  const tr = await attachRunbook(as(db, admin), t.reference, attachable);
  return [t.reference, `/runbooks/${tr.id}/`];
}
/** A resolved ticket: the reopen form shows. */
async function resolvedTicket(): Promise<string[]> {
  const t = await buildTicket(db, admin, { title: `Resolved ${uniq()}` });
  await resolveTicket(as(db, admin), { reference: t.reference, version: t.version }, { code: 'FIXED', note: 'Done.' });
  return [t.reference];
}
/** Two customers, for the merge page. */
/** A webhook endpoint of its own (inactive: nothing is sent), whose page and forms are crawled. */
async function webhookEndpoint(): Promise<string[]> {
  const { endpoint } = await createEndpoint(as(db, admin), { url: `https://hooks-${uniq()}.example.test/caseboard`, description: 'Fuzz', events: ['ticket.updated'], active: false });
  return [`/webhooks/${endpoint.id}`];
}
/** An error-reporting project of its own, whose page (settings, key) is crawled. */
async function errorProject() {
  const team = await db.prisma.team.findFirstOrThrow({ where: { isDefault: true } });
  const n = uniq();
  return (await createErrorProject(as(db, admin), { name: `Fuzz app ${n}`, teamId: team.id, urgency: 'NORMAL', perMinute: null, customerName: 'Fuzz', customerEmail: `errors-${n}@customer.test` })).project;
}
async function errorProjectPage(): Promise<string[]> {
  return [`/errors/${(await errorProject()).id}`];
}
/** An automatic error report's ticket: its Error reports panel has the fixed-in form. */
async function errorTicket(): Promise<string[]> {
  const project = await errorProject();
  const event = fromSentryEvent({ exception: { values: [{ type: 'FuzzError', value: 'boom' }] }, release: '1.0.0' });
  const recorded = await recordProblemBatch(db.prisma, { project, fingerprint: event.fingerprint, count: 1, firstSeen: event.receivedAt, lastSeen: event.receivedAt, releases: ['1.0.0'], environments: [], kept: [event] });
  return [recorded.reference];
}
async function customerPair(): Promise<string[]> {
  const a = await buildTicket(db, admin, { customer: { name: 'Keep Me', email: `keep-${uniq()}@customer.test` } });
  const b = await buildTicket(db, admin, { customer: { name: 'Merge Me', email: `merge-${uniq()}@customer.test` }, title: 'Printer again' });
  return [`/customers/${a.customerId}/`, `mergeId=${b.customerId}`];
}

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  admin = await buildUser(db, { role: 'ADMIN', name: 'Fuzz Admin' });
  tech = await buildUser(db, { name: 'Fuzz Tech' });
  const publish = async (title: string) => {
    const a = await createArticle(as(db, admin), { title, body: 'Open tray 2.', tags: ['printer'] });
    return (await setArticleStatus(as(db, admin), a.id, a.version, 'PUBLISHED')).id;
  };
  published = await publish('Printer offline: restart the spooler');
  linkable = await publish('Printer jams: clear the tray');
  draft = (await createArticle(as(db, admin), { title: 'Printer drivers', body: 'Draft.' })).id;
  const makeRunbook = async (title: string) =>
    (await createRunbook(as(db, admin), {
      title,
      keywords: ['printer'],
      publish: true,
      steps: [
        { title: 'Count the jammed sheets', instructions: 'Open tray 2.', checkKind: 'VALUE', checkLabel: 'Sheets', isFix: false },
        { title: 'Is the roller worn?', instructions: '', checkKind: 'YES_NO', checkLabel: 'Roller worn', isFix: false },
        { title: 'Clean the roller', instructions: '', checkKind: 'NONE', isFix: true },
      ],
    })).id;
  runbook = await makeRunbook('Printer jams: run book');
  attachable = await makeRunbook('Printer jams: the checklist');
  organization = (await createOrganization(as(db, admin), { name: 'Fuzz Org', domains: ['fuzz-org.test'] })).id;
  ({ agent, csrf } = await signIn(app, admin.email));
}, 120_000);
afterAll(() => db?.close());

const snap = () => snapshot(db);
/** Text that a person might really type (so that some submissions are accepted). */
const PLAUSIBLE = ['Printer jams on tray 2', 'Works after a restart.', 'Ana Lima', 'CB-0000000', 'vpn, printer', 'Dépannage réseau — étape 2'];
/** Values chosen to break parsers, schemas, the database and the templates. */
const NASTY = [
  '\u0000', 'a\u0000b', 'x\u0000'.repeat(50), '\uFEFF', '\u202Etxt.exe', '\uD800', '\r\n', ' ', '<script>alert(1)</script>',
  "' OR 1=1 --", '%00', '../../etc/passwd', '<%= 7*7 %>', '${7*7}', 'null', 'undefined', 'true', '[]', '{}', '__proto__',
  'constructor', 'valueOf', 'toString', 'hasOwnProperty', 'CB-', 'cb 0000000', 'OPEN', 'open', 'CLOSED', 'RESOLVED', 'DELETED', 'SUPERUSER', 'ADMIN', 'active ', 'me',
];
const NUMBERS = ['-1', '0', '1', '1.5', '-0', '1e3', '1e308', '1e400', '2147483647', '2147483648', '4294967296', '-2147483649',
  '9007199254740991', '9007199254740993', '99999999999999999999', 'NaN', 'Infinity', '0x10', ' 7 ', '٣', '1_000', '+1', '2e9', '3e9'];

/** How one field is filled in; resolved against the page as it is when the request is sent. */
type Pick =
  | { k: 'current' }
  | { k: 'option'; i: number }
  | { k: 'value'; v: string }
  | { k: 'huge'; unit: string; size: number }
  | { k: 'missing' }
  | { k: 'many'; picks: Pick[] };

const single: fc.Arbitrary<Pick> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ k: 'current' as const }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('option' as const), i: fc.nat(40) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('value' as const), v: fc.constantFrom(...PLAUSIBLE) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('value' as const), v: fc.constantFrom(...NASTY) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('value' as const), v: fc.constantFrom(...NUMBERS) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('value' as const), v: fc.oneof(fc.integer(), fc.double()).map(String) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('value' as const), v: fc.string({ unit: 'binary', maxLength: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('value' as const), v: fc.string({ unit: 'grapheme', maxLength: 40 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'value' as const, v: '' }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('huge' as const),
      unit: fc.constantFrom('a', 'é', '😀', '\u0000', ' ', 'x,'),
      size: fc.constantFrom(201, 1_001, 20_001, 100_001, 300_000),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ k: 'missing' as const }) },
);
const pickArb: fc.Arbitrary<Pick> = fc.oneof(
  { weight: 12, arbitrary: single },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('many' as const), picks: fc.array(single, { minLength: 2, maxLength: 3 }) }) },
);

function resolvePick(p: Pick, field: FormField | undefined): string | string[] | undefined {
  switch (p.k) {
    case 'current':
      return field ? field.values[0] : undefined;
    case 'option':
      return field && field.values.length ? field.values[p.i % field.values.length] : PLAUSIBLE[p.i % PLAUSIBLE.length];
    case 'value':
      return p.v;
    case 'huge':
      return p.unit.repeat(Math.ceil(p.size / p.unit.length));
    case 'missing':
      return undefined;
    case 'many':
      return p.picks.map((x) => resolvePick(x, field)).flat().filter((x): x is string => x !== undefined);
  }
}

/**
 * What a form submission is made of: a pick per field and maybe an unknown extra field. `mode`:
 * every field fuzzed (chaos), one field fuzzed and the others as the page has them (one), one
 * field oversized and the others as the page has them (huge), all as the page has them but the
 * versions one ahead (stale: the "changed meanwhile" path), or all as the page has them, options
 * chosen at random (valid) — so that many submissions are accepted.
 */
interface Submission {
  mode: 'chaos' | 'one' | 'huge' | 'stale' | 'valid';
  /** In modes one and huge: which field is fuzzed. */
  target: number;
  picks: Record<string, Pick>;
  extra: { name: string; value: string } | null;
  /** In mode huge: the oversized value, as a unit repeated up to a size. */
  huge: { unit: string; size: number };
}
const HUGE_UNITS = ['a', 'é', '😀', '\u0000', ' ', 'x,', '<'];
const submissionArb = (names: string[]): fc.Arbitrary<Submission> =>
  fc.record({
    mode: fc.constantFrom<Submission['mode']>('chaos', 'chaos', 'one', 'one', 'one', 'huge', 'stale', 'valid'),
    target: fc.nat(),
    huge: fc.record({ unit: fc.constantFrom(...HUGE_UNITS), size: fc.constantFrom(201, 1_001, 20_001, 60_000, 150_000, 300_000) }),
    picks: fc.record(Object.fromEntries(names.map((name) => [name, pickArb]))) as fc.Arbitrary<Record<string, Pick>>,
    extra: fc.option(fc.record({ name: fc.oneof(fc.constantFrom('version', 'id', 'role', 'status[]', 'assigneeId', ...OBJECT_KEYS), fc.string({ maxLength: 12 })), value: fc.string({ maxLength: 12 }) }), { freq: 6 }),
  });
/**
 * Field names that are also properties every plain object inherits: a page or service that looks
 * a user-supplied name up in a plain object finds a function there instead of nothing.
 */
const OBJECT_KEYS = ['__proto__', 'constructor', 'valueOf', 'toString', 'hasOwnProperty', 'isPrototypeOf', 'toLocaleString', '__defineGetter__', 'prototype'];

/** The plausible filling of a text field the page left empty (so that a required field is sometimes valid). */
function currentValue(field: FormField): string | undefined {
  const v = field.values[0];
  if (v !== undefined && v !== '') return v;
  if (field.tag === 'select' || field.type === 'hidden' || field.type === 'checkbox') return v;
  if (/email/i.test(field.name)) return `fuzz-${uniq()}@example.test`;
  if (/password/i.test(field.name)) return 'a long enough password';
  return PLAUSIBLE[0];
}

const label = (method: string, url: string, body: string) =>
  `${method.toUpperCase()} ${url.slice(0, 200)}${body ? ` body=${body.length > 300 ? `${body.slice(0, 300)}…(${body.length} chars)` : body}` : ''}`;

/** Records already reported inconsistent (by the request that made them so). */
const violations = new Set<string>();

/** Sends one request and checks it: below 500, still signed in, a refusal writes nothing, an acceptance writes whole. */
async function send(method: 'get' | 'post', url: string, values: Record<string, string | string[] | undefined>) {
  const before = await snap();
  const body = method === 'post' ? encodeFields({ ...values, _csrf: csrf }) : '';
  const query = method === 'get' ? encodeFields(values) : '';
  const full = query ? `${url}${url.includes('?') ? '&' : '?'}${query}` : url;
  const res = method === 'post' ? await agent.post(url).type('form').send(body) : await agent.get(full);
  requests++;
  const what = label(method, full, body);
  expect(res.status, `${what}: ${res.status} ${res.text.slice(0, 300)}`).toBeLessThan(500);
  expect(res.headers.location ?? '', `${what}: signed out`).not.toMatch(/^\/login/);
  if (method === 'post' && res.status >= 300 && res.status < 400) {
    accepted++;
    // Only what this request broke: a record found inconsistent is reported once, by the request
    // that made it so (the part of a violation before its first colon names the record).
    const record = (v: string) => v.slice(0, v.indexOf(':'));
    const fresh = (await consistencyViolations(db)).filter((v) => !violations.has(record(v)));
    fresh.forEach((v) => violations.add(record(v)));
    expect(fresh, `${what}: accepted, but the write is not whole: ${fresh.slice(0, 3).join('; ')}`).toEqual([]);
    // What it made is there and shows (e.g. a created ticket with its history).
    const shown = await agent.get(res.headers.location!.split('#')[0]!);
    expect(shown.status, `${what}: then GET ${res.headers.location}`).toBeLessThan(400);
  } else {
    expect(await snap(), `${what}: ${res.status}, yet rows changed`).toEqual(before);
  }
  return res;
}

/** The form as it is on its page now (current versions, options), or undefined when the page no longer offers it. */
async function current(form: Fuzzed): Promise<FormSpec | undefined> {
  const page = await agent.get(form.target.page);
  expect(page.status, `GET ${form.target.page}`).toBeLessThan(500);
  if (page.status !== 200) return undefined;
  return mergeForms(parseForms(page.text, form.target.page)).find((f) => f.method === form.method && f.action === form.action);
}

async function fuzzForm(form: Fuzzed, runs: number) {
  const names = [...new Set(form.fields.map((f) => f.name).filter((x) => x !== '_csrf'))];
  const asOnPage = (): Record<string, Pick> => Object.fromEntries(names.map((x) => [x, { k: 'current' }]));
  // Before the random ones: each field, alone, just over the longest text a form takes (20,000);
  // each version or id, alone, just past PostgreSQL's integer and negative; and, where the form
  // carries a version, once as if the record had changed meanwhile. (`huge` with size 1 is the
  // unit once.)
  const alone = (target: number, unit: string, size: number): [Submission] => [{ mode: 'huge', target, picks: asOnPage(), extra: null, huge: { unit, size } }];
  const examples: [Submission][] = [
    ...names.map((_, target) => alone(target, 'a', 20_001)),
    ...names.flatMap((x, target) => (/version|id$|^(from|to|page)$/i.test(x) ? [alone(target, '2147483648', 1), alone(target, '-1', 1)] : [])),
    ...(names.some((x) => /version/i.test(x)) ? [[{ mode: 'stale', target: 0, picks: asOnPage(), extra: null, huge: { unit: 'a', size: 1 } }] as [Submission]] : []),
    // Each inherited property name as an extra field, on the fresh form and on a stale one (whose
    // "changed meanwhile" page shows every field it was sent).
    ...OBJECT_KEYS.flatMap((name): [Submission][] => [
      [{ mode: 'chaos', target: 0, picks: asOnPage(), extra: { name, value: 'x' }, huge: { unit: 'a', size: 1 } }],
      ...(names.some((x) => /version/i.test(x)) ? [[{ mode: 'stale', target: 0, picks: asOnPage(), extra: { name, value: 'x' }, huge: { unit: 'a', size: 1 } }] as [Submission]] : []),
    ]),
  ];
  await fc.assert(
    fc.asyncProperty(submissionArb(names), async (sub) => {
      let now = await current(form);
      if (!now && form.target.renew) {
        // The record moved on (resolved, merged…) and no longer offers this form: a fresh one.
        const fresh = await form.target.renew();
        for (const [i, old] of form.target.tokens.entries()) {
          form.target.page = form.target.page.replace(old, fresh[i]!);
          form.action = form.action.replace(old, fresh[i]!);
        }
        form.target.tokens = fresh;
        now = await current(form);
      }
      const fields = now?.fields ?? form.fields;
      const values: Record<string, string | string[] | undefined> = {};
      for (const [i, name] of names.entries()) {
        const field = fields.find((f) => f.name === name);
        let pick = sub.picks[name]!;
        const targeted = i === sub.target % names.length;
        const fuzzed = sub.mode === 'chaos' || (sub.mode === 'one' && targeted);
        if (sub.mode === 'huge' && targeted) pick = { k: 'huge', ...sub.huge };
        else if (!fuzzed && pick.k !== 'option') pick = { k: 'current' };
        if (!fuzzed && pick.k === 'option' && field?.tag !== 'select') pick = { k: 'current' };
        values[name] = pick.k === 'current' ? (field ? currentValue(field) : undefined) : resolvePick(pick, field);
        if (sub.mode === 'stale' && /version/i.test(name) && /^\d+$/.test(String(values[name]))) values[name] = String(Number(values[name]) + 1);
      }
      if (sub.extra && sub.extra.name !== '_csrf' && (sub.mode === 'chaos' || sub.mode === 'stale')) values[sub.extra.name] = sub.extra.value;
      await send(form.method, form.action, values);
    }),
    // The examples count among the runs: `runs` random ones follow them.
    { ...params(runs + examples.length), examples },
  );
}

/** Fuzzes each form; a failing form does not stop the others. Returns one line per failing form (its counterexample). */
async function eachForm(list: Fuzzed[]): Promise<string[]> {
  const failures: string[] = [];
  for (const form of list) {
    try {
      await fuzzForm(form, RUNS);
    } catch (e) {
      const text = String((e as Error).message);
      const counterexample = /Counterexample: (.*)/.exec(text)?.[1] ?? '';
      const cause = /Caused by: [^\n]*\n?([^\n]*)/.exec(text);
      failures.push(`${form.method.toUpperCase()} ${form.action}: ${counterexample.slice(0, 400)} — ${((e as Error).cause as Error | undefined)?.message?.slice(0, 400) ?? cause?.[0]?.slice(0, 400) ?? text.slice(0, 400)}`);
    }
  }
  return failures;
}

/** The pages to crawl, each with the record its forms act on. */
async function targets(): Promise<Target[]> {
  const active = await activeTicket();
  const [resolved] = await resolvedTicket();
  const pair = await customerPair();
  const customer = (await db.prisma.customer.findFirstOrThrow({ where: { name: 'Fuzz Customer' } })).id;
  const hook = await webhookEndpoint();
  const errorsPage = await errorProjectPage();
  const [reported] = await errorTicket();
  return [
    { page: '/tickets', tokens: [] },
    { page: '/tickets/new', tokens: [] },
    // ?kb=printer lists published articles to link: their forms show too.
    { page: `/tickets/${active![0]}?kb=printer`, tokens: [...active!], renew: activeTicket },
    { page: `/tickets/${resolved}`, tokens: [resolved!], renew: resolvedTicket },
    { page: '/articles', tokens: [] },
    { page: '/articles/new', tokens: [] },
    { page: `/articles/${published}`, tokens: [] },
    { page: `/articles/${published}/edit`, tokens: [] },
    { page: `/articles/${draft}`, tokens: [] },
    { page: '/customers', tokens: [] },
    { page: `/customers/${customer}`, tokens: [] },
    { page: `${pair[0]}merge?${pair[1]}`, tokens: pair, renew: customerPair },
    { page: `${pair[0]}merge`, tokens: [] },
    { page: '/organizations', tokens: [] },
    { page: '/organizations/new', tokens: [] },
    { page: `/organizations/${organization}`, tokens: [] },
    { page: `/organizations/${organization}/edit`, tokens: [] },
    { page: '/runbooks', tokens: [] },
    { page: '/runbooks/new', tokens: [] },
    { page: `/runbooks/${runbook}`, tokens: [] },
    { page: `/runbooks/${runbook}/edit`, tokens: [] },
    { page: '/admin/users', tokens: [] },
    { page: '/admin/users/new', tokens: [] },
    { page: `/admin/users/${tech.id}`, tokens: [] },
    { page: '/webhooks/new', tokens: [] },
    { page: hook[0]!, tokens: hook, renew: webhookEndpoint },
    { page: '/errors/new', tokens: [] },
    { page: errorsPage[0]!, tokens: errorsPage, renew: errorProjectPage },
    { page: `/tickets/${reported}`, tokens: [reported!], renew: errorTicket },
  ];
}

describe('fuzzing every form and query parameter over HTTP', () => {
  let forms: Fuzzed[] = [];

  it('finds the forms by crawling the staff pages as an admin', async () => {
    const seen = new Set<string>();
    for (const target of await targets()) {
      const page = await agent.get(target.page);
      expect(page.status, `GET ${target.page}`).toBe(200);
      for (const f of mergeForms(parseForms(page.text, target.page))) {
        const key = `${f.method} ${target.tokens.reduce((a, t) => a.replaceAll(t, '<id>'), f.action)}`;
        // Signing out and in are not input to fuzz here (and would end this session).
        if (seen.has(key) || /^\/log(in|out)/.test(f.action)) continue;
        seen.add(key);
        // Each form its own copy of the target: renewing one form's record leaves the others alone.
        forms.push({ ...f, target: { ...target, tokens: [...target.tokens] } });
      }
    }
    const found = forms.map((f) => `${f.method.toUpperCase()} ${f.action.replace(/CB-[0-9A-Z]{7}/, 'CB-…')} [${f.fields.map((x) => x.name).filter((x) => x !== '_csrf').join(', ')}]`);
    console.log(`fuzz-forms: ${forms.length} forms\n  ${found.join('\n  ')}`);
    // The forms every page must offer, so that a template change cannot silently shrink the fuzzing.
    for (const action of ['/tickets', '/details', '/worklog', '/take', '/assign', '/urgency', '/status', '/resolve', '/reopen', '/articles', '/unlink-article', '/admin/users', '/password', '/active', '/merge']) {
      expect(forms.some((f) => f.method === 'post' && f.action.endsWith(action)), `a POST form to …${action}`).toBe(true);
    }
    expect(forms.filter((f) => f.method === 'get').length).toBeGreaterThanOrEqual(4);
  });

  it(`submits every POST form with random, oversized and malformed values (${RUNS} submissions each)`, async () => {
    const posts = forms.filter((f) => f.method === 'post');
    expect(posts.length).toBeGreaterThan(10);
    const failures = await eachForm(posts);
    console.log(`fuzz-forms: ${requests} requests so far, ${accepted} accepted`);
    expect(failures, 'forms that answered 500 or wrote partly').toEqual([]);
    expect(accepted, 'some submissions are valid and accepted').toBeGreaterThan(posts.length);
  }, 240_000);

  it('fuzzes the query parameters of every GET form and page (filters, search, cursors, pages)', async () => {
    const failures = await eachForm(forms.filter((f) => f.method === 'get'));
    const [ref] = await activeTicket();
    // Parameters no form shows: cursors, page numbers, comparisons, lookups.
    const pages: [string, string[]][] = [
      ['/tickets', ['status', 'urgency', 'assignee', 'q', 'after']],
      ['/articles', ['q', 'status', 'category', 'page']],
      ['/customers', ['q', 'organization', 'after']],
      ['/organizations', ['q', 'after']],
      ['/customers/lookup', ['q']],
      ['/tickets/suggest', ['title']],
      ['/tickets/new', ['title', 'description', 'urgency', 'channel', 'customerEmail']],
      [`/tickets/${ref}`, ['kb']],
      [`/articles/${published}/compare`, ['from', 'to']],
      [(await webhookEndpoint())[0]!, ['before']],
      ['/articles/new', ['fromTicket']],
      [`/customers/${(await db.prisma.customer.findFirstOrThrow()).id}/merge`, ['q', 'mergeId']],
    ];
    const plausible: Record<string, string[]> = {
      status: ['active', 'all', 'NEW', 'RESOLVED', 'PUBLISHED', 'DRAFT', ''],
      urgency: ['CRITICAL', 'LOW', ''],
      assignee: ['anyone', 'me', 'unassigned', String(tech.id), ''],
      after: ['NORMAL.1700000000000.1', 'CRITICAL.0000000000000.2147483647', 'TmFtZQ.5', 'AAAA.1', 'ZZZ.9999999999999.1', `${'A'.repeat(700)}.1`],
      page: ['0', '1', '50', '51'],
      before: ['1', '0', '2147483648', 'abc', ''],
      from: ['1', '2'],
      to: ['1', '2'],
      fromTicket: [ref!, ref!.toLowerCase(), 'CB-ZZZZZZZ'],
      mergeId: ['', '1', String(2 ** 31)],
      kb: ['', 'printer', '"unclosed', '-', 'a OR b -c'],
      q: ['printer', '"a phrase" OR -word', 'cb 0000000', '%', '_', '\\'],
    };
    for (const [page, names] of pages) {
      const form: Fuzzed = {
        method: 'get',
        action: page,
        page,
        fields: names.map((name) => ({ name, tag: 'input', type: 'text', values: plausible[name] ?? PLAUSIBLE })),
        target: { page, tokens: [] },
      };
      failures.push(...(await eachForm([form])));
    }
    expect(failures, 'pages that answered 500').toEqual([]);
  }, 180_000);

  it('fuzzes path parameters: record ids and references', async () => {
    const odd = ['0', '-1', '1.5', '2147483648', '99999999999999999999', 'abc', '%00', '%E2%80%AE', 'CB-0000000', 'cb%200000000', "'", '..%2F..', 'NaN', '1e3', '%F0%9F%98%80'];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/tickets/', '/articles/', '/customers/', '/admin/users/', '/webhooks/', `/articles/${published}/revisions/`, '/customers/1/merge?mergeId='),
        fc.oneof(fc.constantFrom(...odd), fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent), fc.nat().map(String)),
        async (prefix, tail) => {
          await send('get', prefix + tail, {});
        },
      ),
      params(RUNS * 4),
    );
    console.log(`fuzz-forms: ${requests} requests in all, ${accepted} accepted`);
  }, 120_000);

  it('after all of it: still signed in, and the whole database is explained by its history', async () => {
    const res = await agent.get('/tickets');
    expect(res.status).toBe(200);
    expect(await consistencyViolations(db)).toEqual([]);
  });
});
