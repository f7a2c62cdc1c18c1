// How to call every route of the app, and what each kind of user must get back.
//
// ROUTE_CASES has one entry per 'METHOD /path' the router has (tests/security/routes.ts reads
// them from the app). authorization-matrix.test.ts fails when a route is missing here (or an
// entry names a route that no longer exists), so a new route cannot go unreviewed: add its entry
// with the status each role must get, and a `call` that fills its path and body.
//
// Roles:
//   anonymous   — no sign-in; holds a valid CSRF token and its cookie (from the sign-in page),
//                 so a refusal shows the authorization check, not the CSRF one.
//   technician  — a signed-in technician.
//   admin       — a signed-in admin.
//   deactivated — an admin signed in, then deactivated by another admin (through the users page),
//                 who replays the cookie and CSRF token they held: their session must be gone.
//
// Expected results: a status code, or 'login' = a 303 to /login?next=… (staff pages send
// strangers to sign in).
import type { IncomingMessage } from 'node:http';
import request from 'supertest';
import type { Express } from 'express';
import type { Database } from '../../src/db/client.js';
import type { Actor } from '../../src/services/context.js';
import type { Ticket } from '../../src/generated/prisma/client.js';
import { createArticle, setArticleStatus, updateArticle } from '../../src/services/knowledge/manage-articles.js';
import { resolveTicket } from '../../src/services/tickets/resolve-ticket.js';
import { linkArticle } from '../../src/services/tickets/link-article.js';
import { confirmAccessLink, issueAccessToken } from '../../src/services/public/access-links.js';
import { addWorkLog } from '../../src/services/tickets/add-work-log.js';
import { assignTicket } from '../../src/services/tickets/assign-ticket.js';
import { incomingFile } from '../../src/services/attachments/files.js';
import { holdMailAttachments } from '../../src/services/attachments/attach.js';
import { createOrganization } from '../../src/services/organizations/manage-organizations.js';
import { as, buildTicket, buildUser, PASSWORD } from '../helpers/factories.js';
import { createRule } from '../../src/services/automation/rules.js';
import { createCannedReply, createMacro } from '../../src/services/automation/macros.js';
import { createRunbook, saveVersion } from '../../src/services/runbooks/manage-runbooks.js';
import { attachRunbook, completeRunbookStep } from '../../src/services/runbooks/ticket-runbooks.js';
import { csrfOf } from '../helpers/http.js';
import { createErrorProject } from '../../src/services/errors/projects.js';
import { recordProblemBatch } from '../../src/services/errors/record.js';
import { fromSentryEvent } from '../../src/services/errors/event.js';
import { createEndpoint } from '../../src/services/webhooks/endpoints.js';
import { randomUUID } from 'node:crypto';
import { createPersonalToken } from '../../src/services/api/tokens.js';
import { API_OPERATIONS } from '../../src/web/api/operations/index.js';
import { paramNames } from './routes.js';

export const ROLES = ['anonymous', 'technician', 'admin', 'deactivated'] as const;
export type Role = (typeof ROLES)[number];
export type Expected = number | 'login';
export type Expectations = Record<Role, Expected>;

/** What to send: values for the path's parameters, a query string, a form body. */
export interface Call {
  params?: Record<string, string | number>;
  query?: string;
  body?: Record<string, unknown>;
}

export interface RouteCase {
  expect: Expectations;
  /** Builds the request for one role; state-changing routes get fresh records for every call. */
  call?: (w: World, role: Role) => Promise<Call> | Call;
  /** The request ends the caller's session (sign-out): run it on a session of its own. */
  endsSession?: boolean;
  /**
   * Why the route takes no CSRF token: it is authenticated by a key in the request, never by a
   * cookie (the error intake), so a forged cross-site request carries nothing that lets it in.
   */
  noCsrf?: string;
}

// The usual rows.
const PUBLIC_PAGE: Expectations = { anonymous: 200, technician: 200, admin: 200, deactivated: 200 };
const STAFF_PAGE: Expectations = { anonymous: 'login', technician: 200, admin: 200, deactivated: 'login' };
const ADMIN_PAGE: Expectations = { anonymous: 'login', technician: 403, admin: 200, deactivated: 'login' };
// Anonymous posts carry a valid token and meet requireSignIn (401); the deactivated user's token
// belonged to a session that no longer exists (403 from the CSRF check).
const STAFF_POST: Expectations = { anonymous: 401, technician: 303, admin: 303, deactivated: 403 };
const ADMIN_POST: Expectations = { anonymous: 401, technician: 403, admin: 303, deactivated: 403 };
/** A browser's session is no API credential: every role gets 401. */
const API_SESSION: Expectations = { anonymous: 401, technician: 401, admin: 401, deactivated: 401 };
const PUBLIC_FORM = (ok: number): Expectations => ({ anonymous: ok, technician: ok, admin: ok, deactivated: 403 });

/** A client for one role: every request replays the same cookies (and, for forms, the same token). */
export interface Client {
  role: Role;
  /** The Cookie header: the session cookie (signed in) and the CSRF cookie. */
  cookie: string;
  csrf: string;
  actor?: Actor;
}

export const sessionCookie = (res: { headers: Record<string, unknown> }): string | undefined =>
  ([] as string[])
    .concat((res.headers['set-cookie'] as string[] | string | undefined) ?? [])
    .find((c) => c.startsWith('caseboard.sid='))
    ?.split(';')[0];

/**
 * The Cookie header a browser would send after this response: the cookies it sets (name=value)
 * over those it had (`before`, a Cookie header); a cookie set to expire is dropped.
 */
export function withCookies(res: { headers: Record<string, unknown> }, before = ''): string {
  const jar = new Map(before.split('; ').filter(Boolean).map((c) => [c.slice(0, c.indexOf('=')), c] as const));
  for (const set of ([] as string[]).concat((res.headers['set-cookie'] as string[] | string | undefined) ?? [])) {
    const pair = set.split(';')[0]!;
    const name = pair.slice(0, pair.indexOf('='));
    if (/expires=Thu, 01 Jan 1970/i.test(set) || pair === `${name}=`) jar.delete(name);
    else jar.set(name, pair);
  }
  return [...jar.values()].join('; ');
}

/** Signs in through the form and returns the session's cookies and a CSRF token of that session. */
export async function signInRaw(app: Express, email: string): Promise<{ cookie: string; csrf: string }> {
  const page = await request(app).get('/login').expect(200);
  const first = withCookies(page);
  const res = await request(app)
    .post('/login')
    .set('Cookie', first)
    .type('form')
    .send({ email, password: PASSWORD, _csrf: csrfOf(page.text) })
    .expect(303);
  const signedIn = withCookies(res, first);
  const after = await request(app).get('/tickets').set('Cookie', signedIn).expect(200);
  return { cookie: withCookies(after, signedIn), csrf: csrfOf(after.text) };
}

/** The records the calls use, and the users behind the roles. */
export class World {
  /** Shared records for the pages (GET); state-changing calls make their own. */
  ticket!: Ticket;
  article!: { id: number };
  /** Two of the shared article's saved revisions. */
  revisions!: [number, number];
  customerId!: number;
  customerEmail!: string;
  /** A working private access link to the shared ticket, and a published article for customers. */
  token!: string;
  helpArticle!: { id: number };
  user!: Actor;
  organizationId!: number;
  private n = 0;

  constructor(
    readonly db: Database,
    readonly app: Express,
    /** Sets up records and deactivates; never one of the roles' own sessions. */
    readonly admin: Actor,
  ) {}

  static async create(db: Database, app: Express): Promise<World> {
    const admin = await buildUser(db, { role: 'ADMIN', name: 'Setup Admin' });
    const w = new World(db, app, admin);
    w.ticket = await w.freshTicket();
    w.article = await w.publishedArticle();
    // A second revision, so that /compare has two to compare.
    const a = await w.db.prisma.article.findUniqueOrThrow({ where: { id: w.article.id } });
    await updateArticle(as(db, admin), a.id, a.version, { title: a.title, body: `${a.body}\n\nSecond revision.` });
    const revs = await w.db.prisma.articleRevision.findMany({ where: { articleId: a.id }, orderBy: { version: 'asc' } });
    w.revisions = [revs[0]!.version, revs[1]!.version];
    w.customerId = w.ticket.customerId;
    w.customerEmail = (await db.prisma.customer.findUniqueOrThrow({ where: { id: w.customerId } })).email;
    w.token = await w.accessToken(w.ticket.id);
    w.helpArticle = await w.publishedArticle('PUBLIC');
    w.user = await buildUser(db, { name: 'Paula Page' });
    w.organizationId = (await w.organization()).id;
    return w;
  }

  /** An organization of its own (a fresh name and domain each call). */
  organization(shareTickets = false) {
    const n = this.unique();
    return createOrganization(as(this.db, this.admin), { name: `Matrix Org ${n}`, domains: [`org-${n}.test`], shareTickets });
  }

  /** An organization whose customers share tickets: a confirmed link to one's ticket, and a colleague's ticket. */
  async sharedTicket(): Promise<{ token: string; reference: string }> {
    const org = await this.organization(true);
    const domain = (await this.db.prisma.organizationDomain.findFirstOrThrow({ where: { organizationId: org.id } })).domain;
    const mine = await buildTicket(this.db, this.admin, { customer: { name: 'Ann Shares', email: `ann@${domain}` } });
    const theirs = await buildTicket(this.db, this.admin, { customer: { name: 'Bob Shares', email: `bob@${domain}` } });
    const token = await this.accessToken(mine.id);
    await confirmAccessLink(this.db.prisma, token);
    return { token, reference: theirs.reference };
  }

  /** An error-reporting project of its own (and its key). */
  async errorProject() {
    const team = await this.db.prisma.team.findFirstOrThrow({ where: { isDefault: true } });
    const n = this.unique();
    return createErrorProject(as(this.db, this.admin), { name: `Matrix app ${n}`, teamId: team.id, urgency: 'NORMAL', perMinute: null, customerName: 'Matrix', customerEmail: `errors-${n}@customer.test` });
  }

  /** The ticket of an automatically reported problem. */
  async errorTicket(): Promise<Ticket> {
    const { project } = await this.errorProject();
    const event = fromSentryEvent({ exception: { values: [{ type: 'MatrixError', value: 'boom' }] }, release: '1.0.0' });
    const recorded = await recordProblemBatch(this.db.prisma, { project, fingerprint: event.fingerprint, count: 1, firstSeen: event.receivedAt, lastSeen: event.receivedAt, releases: ['1.0.0'], environments: [], kept: [event] });
    return this.db.prisma.ticket.findUniqueOrThrow({ where: { id: recorded.ticketId } });
  }

  unique(): string {
    return `${Date.now().toString(36)}${(this.n++).toString(36)}`;
  }

  freshTicket(): Promise<Ticket> {
    return buildTicket(this.db, this.admin, { customer: { name: 'Matrix Customer', email: `matrix-${this.unique()}@customer.test` } });
  }

  async resolvedTicket(): Promise<Ticket> {
    const t = await this.freshTicket();
    return resolveTicket(as(this.db, this.admin), { reference: t.reference, version: t.version }, { code: 'FIXED', note: 'Fixed it.' });
  }

  async publishedArticle(visibility: 'INTERNAL' | 'PUBLIC' = 'INTERNAL'): Promise<{ id: number; version: number }> {
    const a = await createArticle(as(this.db, this.admin), {
      title: `Printer spooler hangs ${this.unique()}`,
      body: 'Restart the spooler service.',
      visibility,
    });
    return setArticleStatus(as(this.db, this.admin), a.id, a.version, 'PUBLISHED');
  }

  /** A private access link, as a mail to the customer would carry it. */
  accessToken(ticketId: number, validDays = 30): Promise<string> {
    return issueAccessToken(this.db.pool, ticketId, null, validDays);
  }

  /** A message held in the mail quarantine, as the inbound mail service stores it. */
  async quarantinedMail(): Promise<number> {
    const m = await this.db.prisma.inboundMail.create({
      data: {
        messageId: `<${this.unique()}@mail.test>`,
        fromAddress: `stranger-${this.unique()}@mail.test`,
        fromName: 'A Stranger',
        subject: 'About my printer',
        body: 'It prints blank pages again.',
        state: 'QUARANTINED',
        reason: 'The sender is not the customer of the ticket it names.',
      },
    });
    return m.id;
  }

  /** A file on a note of the ticket (a new one each call), as a technician attaches it. */
  async file(t: Ticket): Promise<number> {
    const entry = await addWorkLog(as(this.db, this.admin), t.reference, {
      kind: 'NOTE',
      body: 'Log attached',
      files: [incomingFile('notes.txt', Buffer.from(`matrix file ${this.unique()}\n`))],
    });
    return entry.attachments[0]!.id;
  }

  /**
   * A file of a staff reply on a fresh ticket, and a link to it that a person has confirmed (the
   * button): what a customer downloads from their private link's page.
   */
  async publicFile(): Promise<{ token: string; fileId: number }> {
    const t = await this.freshTicket();
    const entry = await addWorkLog(as(this.db, this.admin), t.reference, {
      kind: 'REPLY',
      body: 'The settings file you asked for.',
      files: [incomingFile('settings.txt', Buffer.from(`public file ${this.unique()}\n`))],
    });
    const token = await this.accessToken(t.id);
    await confirmAccessLink(this.db.prisma, token);
    return { token, fileId: entry.attachments[0]!.id };
  }

  async customerVersion(id: number): Promise<number> {
    return (await this.db.prisma.customer.findUniqueOrThrow({ where: { id } })).version;
  }

  /**
   * A published run book of its own (a step with a check, then a fix step with an automation to
   * a public-looking address: nothing is sent, no worker runs here).
   */
  async runbook(): Promise<{ id: number; version: number }> {
    return createRunbook(as(this.db, this.admin), {
      title: `Printer queue stuck ${this.unique()}`,
      keywords: ['printer'],
      publish: true,
      steps: [
        { title: 'Look at the queue', instructions: 'Open **Devices**.', checkKind: 'VALUE', checkLabel: 'Jobs waiting', isFix: false },
        { title: 'Restart the spooler', instructions: '', checkKind: 'NONE', isFix: true, automationUrl: 'https://automation.example.test/hooks/spooler', secret: 'matrix-secret-0123456789' },
      ],
    });
  }

  /** A fresh ticket with a fresh run book attached: the ids a step's form posts to. */
  async attachedRunbook(doneSteps = 0): Promise<{ reference: string; attached: number; steps: number[] }> {
    const t = await this.freshTicket();
    const rb = await this.runbook();
    const tr = await attachRunbook(as(this.db, this.admin), t.reference, rb.id);
    const steps = (await this.db.prisma.runbookStep.findMany({ where: { versionId: tr.versionId }, orderBy: { position: 'asc' } })).map((s) => s.id);
    if (doneSteps >= 1) await completeRunbookStep(as(this.db, this.admin), t.reference, tr.id, steps[0]!, { value: '3' });
    if (doneSteps >= 2) {
      await completeRunbookStep(as(this.db, this.admin), t.reference, tr.id, steps[1]!, { outcome: 'FAILED' });
      // Its request finished (failed): it may be run again.
      await this.db.pool.query(`UPDATE "AutomationDelivery" SET state = 'FAILED', "finishedAt" = now() WHERE "ticketId" = $1`, [t.id]);
    }
    return { reference: t.reference, attached: tr.id, steps };
  }

  /** A team of its own, with the shared user in it (for the team pages and moves). */
  async freshTeam() {
    const team = await this.db.prisma.team.create({ data: { name: `Team ${this.unique()}` } });
    await this.db.prisma.teamMember.create({ data: { teamId: team.id, userId: this.user.id } });
    return team;
  }

  /** A business calendar of its own, with one holiday (for the SLA pages). */
  async freshCalendar() {
    return this.db.prisma.businessCalendar.create({
      data: {
        name: `Calendar ${this.unique()}`,
        timeZone: 'Europe/Berlin',
        hours: { 1: [{ start: 480, end: 1080 }], 2: [], 3: [], 4: [], 5: [], 6: [], 7: [] },
        holidays: { create: { date: new Date('2026-12-25'), name: 'Christmas' } },
      },
      include: { holidays: true },
    });
  }

  /** An SLA policy of its own (inactive, so it changes no other test's tickets). */
  async freshPolicy() {
    return this.db.prisma.slaPolicy.create({
      data: { name: `Policy ${this.unique()}`, active: false, targets: { create: { urgency: 'CRITICAL', firstResponseMinutes: 30 } } },
    });
  }

  /** An inactive automation rule of its own (inactive: it never fires on the other calls' tickets). */
  freshRule() {
    return createRule(as(this.db, this.admin), {
      name: `Matrix rule ${this.unique()}`,
      description: null,
      event: 'UPDATED',
      quietHours: null,
      conditions: { type: 'all', conditions: [{ type: 'tag', value: 'matrix', negate: false }] },
      actions: [{ type: 'setUrgency', urgency: 'HIGH' }],
    });
  }

  /**
   * A webhook endpoint of its own, inactive (so it receives none of the other calls' events), to a
   * public-looking address (nothing is sent: no worker runs here).
   */
  async freshWebhook() {
    const { endpoint } = await createEndpoint(as(this.db, this.admin), {
      url: `https://hooks-${this.unique()}.example.test/caseboard`,
      description: 'Matrix endpoint',
      events: ['ticket.updated'],
      active: false,
    });
    return endpoint;
  }

  /** A finished delivery of a fresh endpoint (to send again). */
  async webhookDelivery() {
    const e = await this.freshWebhook();
    return this.db.prisma.webhookDelivery.create({
      data: { eventId: randomUUID(), eventType: 'ticket.updated', body: '{}', endpointId: e.id, state: 'FAILED', finishedAt: new Date() },
    });
  }

  /** A shared macro and a shared canned reply (admins manage them; everyone uses them). */
  sharedMacro() {
    return createMacro(as(this.db, this.admin), { name: `Matrix macro ${this.unique()}`, shared: true, actions: [{ type: 'addTag', tag: 'matrix' }], reply: null });
  }

  sharedCanned() {
    return createCannedReply(as(this.db, this.admin), { name: `Matrix canned ${this.unique()}`, shared: true, body: 'Hello {{customer.name}}' });
  }

  /** A personal API token of the setup admin (not one of the roles): its id. */
  async freshToken(): Promise<number> {
    return (await createPersonalToken(as(this.db, this.admin), { name: `matrix token ${this.unique()}`, scopes: ['tickets:read'], expiresInDays: 7 })).id;
  }

  async freshUser(): Promise<{ id: number; version: number; email: string }> {
    const u = await buildUser(this.db, { name: 'Target User' });
    const row = await this.db.prisma.user.findUniqueOrThrow({ where: { id: u.id } });
    return { id: row.id, version: row.version, email: row.email };
  }

  /** A client of the role, with a session of its own. */
  async client(role: Role): Promise<Client> {
    if (role === 'anonymous') {
      const page = await request(this.app).get('/login').expect(200);
      return { role, cookie: withCookies(page), csrf: csrfOf(page.text) };
    }
    const actor = await buildUser(this.db, {
      role: role === 'technician' ? 'TECHNICIAN' : 'ADMIN',
      name: `${role} ${this.unique()}`,
    });
    const session = await signInRaw(this.app, actor.email);
    if (role === 'deactivated') {
      // Another admin deactivates them through the users page, while they are signed in.
      const by = await signInRaw(this.app, this.admin.email);
      const row = await this.db.prisma.user.findUniqueOrThrow({ where: { id: actor.id } });
      await request(this.app)
        .post(`/admin/users/${actor.id}/active`)
        .set('Cookie', by.cookie)
        .type('form')
        .send({ _csrf: by.csrf, version: row.version, active: 'false' })
        .expect(303);
    }
    return { role, ...session, actor };
  }
}

/** The ticket actions: each gets a fresh ticket in the state it needs. */
function ticketAction(body: (t: Ticket, w: World) => Record<string, unknown> | Promise<Record<string, unknown>>, ticket?: (w: World) => Promise<Ticket>): RouteCase {
  return {
    expect: STAFF_POST,
    call: async (w) => {
      const t = await (ticket ? ticket(w) : w.freshTicket());
      return { params: { reference: t.reference }, body: await body(t, w) };
    },
  };
}

const ticketPage = (w: World): Call => ({ params: { reference: w.ticket.reference } });
const articlePage = (w: World): Call => ({ params: { id: w.article.id } });
const customerPage = (w: World): Call => ({ params: { id: w.customerId } });
const userPage = (w: World): Call => ({ params: { id: w.user.id } });

export const ROUTE_CASES: Record<string, RouteCase> = {
  // No session needed.
  'GET /health': { expect: PUBLIC_PAGE },
  // Readiness (database, migrations, not shutting down): no session, like /health.
  'GET /ready': { expect: PUBLIC_PAGE },
  // Prometheus metrics: a bearer token (METRICS_TOKEN), never a session. The matrix's app has no
  // token set, so the route answers 404 to everyone; with a token: tests/integration/observability.test.ts.
  'GET /metrics': { expect: { anonymous: 404, technician: 404, admin: 404, deactivated: 404 } },

  // Error reports from applications: a project key in the request, never a cookie; no CSRF token.
  // Whoever is signed in, a request without the project's key is refused (401).
  'POST /api/:projectId/store': { expect: { anonymous: 401, technician: 401, admin: 401, deactivated: 401 }, noCsrf: 'project key', call: async (w) => ({ params: { projectId: (await w.errorProject()).project.id }, body: { message: 'x' } }) },
  'POST /api/:projectId/envelope': {
    expect: { anonymous: 401, technician: 401, admin: 401, deactivated: 401 },
    noCsrf: 'project key',
    call: async (w) => ({ params: { projectId: (await w.errorProject()).project.id }, query: `sentry_key=${'0'.repeat(32)}` }),
  },
  'POST /api/:projectId/events': { expect: { anonymous: 401, technician: 401, admin: 401, deactivated: 401 }, noCsrf: 'project key', call: async (w) => ({ params: { projectId: (await w.errorProject()).project.id }, body: { type: 'X' } }) },

  // Signing in and out.
  'GET /login': { expect: { anonymous: 200, technician: 303, admin: 303, deactivated: 200 } },
  'POST /login': {
    // A wrong password gets the one answer for every failed sign-in.
    expect: { anonymous: 401, technician: 401, admin: 401, deactivated: 403 },
    call: (w) => ({ body: { email: `nobody-${w.unique()}@example.test`, password: 'not the password' } }),
  },
  'POST /logout': { expect: { anonymous: 303, technician: 303, admin: 303, deactivated: 403 }, endsSession: true },
  'GET /': { expect: { anonymous: 303, technician: 303, admin: 303, deactivated: 303 } },

  // Customer-facing pages: anyone, no sign-in. Their forms still need a valid CSRF token: the
  // deactivated user's was bound to their session, which no longer exists.
  'GET /status': { expect: PUBLIC_PAGE },
  'POST /status': { expect: PUBLIC_FORM(200), call: (w) => ({ body: { reference: w.ticket.reference, email: w.customerEmail } }) },
  'GET /s/:token': { expect: PUBLIC_PAGE, call: (w) => ({ params: { token: w.token } }) },
  // A file of the ticket's public conversation, through a confirmed private link: whoever holds the
  // link (a customer needs no sign-in; staff or a stale cookie change nothing). Which files and
  // links are refused is tested in tests/integration/customer-files.test.ts.
  'GET /s/:token/files/:fileId{/:name}': {
    expect: PUBLIC_PAGE,
    call: async (w) => {
      const { token, fileId } = await w.publicFile();
      return { params: { token, fileId, name: 'settings.txt' } };
    },
  },
  // A colleague's ticket, when the customer's organization shares tickets (read-only, through the
  // customer's own confirmed link). Sharing off and other organizations' tickets: organizations.test.ts.
  'GET /s/:token/org/:reference': { expect: PUBLIC_PAGE, call: async (w) => ({ params: await w.sharedTicket() }) },
  'POST /s/:token/confirm': {
    expect: PUBLIC_FORM(303),
    call: async (w) => ({ params: { token: await w.accessToken((await w.freshTicket()).id) } }),
  },
  'POST /s/:token/reply': {
    expect: PUBLIC_FORM(303),
    call: async (w) => {
      const t = await w.freshTicket();
      return { params: { token: await w.accessToken(t.id) }, body: { body: 'It still happens, see attached.' } };
    },
  },
  'GET /request': { expect: PUBLIC_PAGE, call: () => ({ query: 'title=printer' }) },
  'POST /request': {
    expect: PUBLIC_FORM(201),
    call: (w) => ({ body: { name: 'Web Customer', email: `web-${w.unique()}@customer.test`, title: 'Cannot log in', description: 'Since Monday.' } }),
  },
  'GET /help': { expect: PUBLIC_PAGE, call: () => ({ query: 'q=spooler' }) },
  'GET /help/suggest': { expect: PUBLIC_PAGE, call: () => ({ query: 'title=spooler' }) },
  'GET /help/:id': { expect: PUBLIC_PAGE, call: (w) => ({ params: { id: w.helpArticle.id } }) },

  // Tickets: every signed-in member of staff.
  'GET /tickets': { expect: STAFF_PAGE },
  'GET /tickets/new': { expect: STAFF_PAGE, call: () => ({ query: 'title=printer' }) },
  // Bulk actions answer with their result page (how many changed, which were skipped and why).
  'POST /tickets/bulk': {
    expect: { anonymous: 401, technician: 200, admin: 200, deactivated: 403 },
    call: async (w) => {
      const t = await w.freshTicket();
      return { body: { t: `${t.reference}:${t.version}`, action: 'urgency', urgency: 'HIGH' } };
    },
  },
  'POST /tickets/views': { expect: STAFF_POST, call: (w) => ({ body: { name: `View ${w.unique()}`, status: 'active', sort: 'updated' } }) },
  // Only the owner deletes a view: this one is the setup admin's, so every other user gets 404.
  'POST /tickets/views/:id/delete': {
    expect: { anonymous: 401, technician: 404, admin: 404, deactivated: 403 },
    call: async (w) => {
      const view = await w.db.prisma.savedView.create({
        data: { ownerId: w.admin.id, name: `Setup view ${w.unique()}`, filters: { status: 'active' }, sort: 'urgency' },
      });
      return { params: { id: view.id } };
    },
  },
  'GET /tickets/suggest': { expect: STAFF_PAGE, call: () => ({ query: 'title=printer' }) },
  'POST /tickets': {
    expect: STAFF_POST,
    call: (w) => ({
      body: {
        title: 'Scanner jams',
        description: 'Every third page.',
        urgency: 'NORMAL',
        channel: 'PHONE',
        customerName: 'Sam Scanner',
        customerEmail: `sam-${w.unique()}@customer.test`,
      },
    }),
  },
  'GET /tickets/:reference': { expect: STAFF_PAGE, call: ticketPage },
  // The page's live updates (an event stream: send() reads its first bytes, then closes it).
  'GET /tickets/:reference/events': { expect: STAFF_PAGE, call: ticketPage },
  // "Writing a reply" beats from the page's script: no page to go to, 204.
  'POST /tickets/:reference/typing': {
    expect: { anonymous: 401, technician: 204, admin: 204, deactivated: 403 },
    call: (w) => ({ params: { reference: w.ticket.reference }, body: { kind: 'REPLY' } }),
  },
  'GET /tickets/:reference/files/:fileId{/:name}': {
    expect: STAFF_PAGE,
    call: async (w) => ({ params: { reference: w.ticket.reference, fileId: await w.file(w.ticket), name: 'notes.txt' } }),
  },
  'GET /tickets/:reference/redact-file/:fileId': {
    expect: ADMIN_PAGE,
    call: async (w) => ({ params: { reference: w.ticket.reference, fileId: await w.file(w.ticket) } }),
  },
  'POST /tickets/:reference/redact-file/:fileId': {
    expect: ADMIN_POST,
    call: async (w) => {
      const t = await w.freshTicket();
      return { params: { reference: t.reference, fileId: await w.file(t) }, body: {} };
    },
  },
  'POST /tickets/:reference/details': ticketAction((t) => ({
    version: t.version,
    title: 'Printer prints grey pages',
    description: t.description,
    channel: 'EMAIL',
  })),
  'POST /tickets/:reference/urgency': ticketAction((t) => ({ version: t.version, urgency: 'HIGH' })),
  'POST /tickets/:reference/status': ticketAction((t) => ({ version: t.version, status: 'OPEN' })),
  'POST /tickets/:reference/take': ticketAction((t) => ({ version: t.version })),
  'POST /tickets/:reference/team': ticketAction(async (t, w) => ({ version: t.version, teamId: (await w.freshTeam()).id })),
  'POST /tickets/:reference/assign': ticketAction((t, w) => ({ version: t.version, assigneeId: w.user.id })),
  'POST /tickets/:reference/resolve': ticketAction((t) => ({ version: t.version, resolutionCode: 'FIXED', resolutionNote: 'Replaced the toner.' })),
  'POST /tickets/:reference/reopen': ticketAction((t) => ({ version: t.version, reason: 'It came back.' }), (w) => w.resolvedTicket()),
  'POST /tickets/:reference/worklog': ticketAction(() => ({ kind: 'NOTE', body: 'Called the customer.' })),
  'POST /tickets/:reference/articles': ticketAction(async (_t, w) => ({ articleId: (await w.publishedArticle()).id })),
  'POST /tickets/:reference/revoke-links': ticketAction(async (t, w) => {
    await w.accessToken(t.id);
    return {};
  }),
  'POST /tickets/:reference/follow': ticketAction(() => ({})),
  // Run books on a ticket: attach one, do its next step, run a done step's automation again.
  'POST /tickets/:reference/fixed-in': ticketAction(() => ({ release: '2.0.0' }), (w) => w.errorTicket()),
  'POST /tickets/:reference/runbooks': ticketAction(async (_t, w) => ({ runbookId: (await w.runbook()).id, how: 'BY_HAND' })),
  'POST /tickets/:reference/runbooks/:attached/steps/:step': {
    expect: STAFF_POST,
    call: async (w) => {
      const { reference, attached, steps } = await w.attachedRunbook();
      return { params: { reference, attached, step: steps[0]! }, body: { value: '4', note: 'Four jobs stuck.' } };
    },
  },
  'POST /tickets/:reference/runbooks/:attached/steps/:step/run': {
    expect: STAFF_POST,
    call: async (w) => {
      const { reference, attached, steps } = await w.attachedRunbook(2);
      return { params: { reference, attached, step: steps[1]! } };
    },
  },
  'POST /tickets/:reference/unfollow': ticketAction(() => ({})),
  'POST /tickets/:reference/tags': ticketAction(() => ({ tag: 'Matrix Tag' })),
  'POST /tickets/:reference/untag': ticketAction(() => ({ tag: 'matrix' })),
  'POST /tickets/:reference/macro': ticketAction(async (t, w) => ({ version: t.version, macroId: (await w.sharedMacro()).id })),
  'POST /tickets/:reference/unlink-article': ticketAction(
    (t) => ({ articleId: (t as Ticket & { linked: number }).linked }),
    async (w) => {
      const t = await w.freshTicket();
      const a = await w.publishedArticle();
      await linkArticle(as(w.db, w.admin), t.reference, a.id);
      return Object.assign(t, { linked: a.id });
    },
  ),

  // Knowledge base: staff read and propose; admins edit published articles and change status.
  'GET /articles': { expect: STAFF_PAGE, call: () => ({ query: 'q=spooler' }) },
  'GET /articles/new': { expect: STAFF_PAGE },
  'POST /articles': {
    expect: STAFF_POST,
    call: () => ({ body: { title: 'Proposed fix', body: 'Try turning it off and on.', category: 'Printing', tags: 'printer' } }),
  },
  'GET /articles/:id': { expect: STAFF_PAGE, call: articlePage },
  // The form is shown to anyone who may read the article (a technician cannot save it: see the POST).
  'GET /articles/:id/edit': { expect: STAFF_PAGE, call: articlePage },
  'POST /articles/:id': {
    expect: ADMIN_POST,
    call: async (w) => {
      const a = await w.publishedArticle();
      return { params: { id: a.id }, body: { version: a.version, title: 'Spooler: the full fix', body: 'Restart it, then clear the queue.' } };
    },
  },
  'POST /articles/:id/status': {
    expect: ADMIN_POST,
    call: async (w) => {
      const a = await w.publishedArticle();
      return { params: { id: a.id }, body: { version: a.version, status: 'ARCHIVED' } };
    },
  },
  'GET /articles/:id/revisions/:version': { expect: STAFF_PAGE, call: (w) => ({ params: { id: w.article.id, version: w.revisions[1] } }) },
  'GET /articles/:id/compare': { expect: STAFF_PAGE, call: (w) => ({ params: { id: w.article.id }, query: `from=${w.revisions[0]}&to=${w.revisions[1]}` }) },

  // Run books: staff read and propose (new run books, new versions); admins publish and archive.
  'GET /runbooks': { expect: STAFF_PAGE, call: () => ({ query: 'q=printer' }) },
  'GET /runbooks/new': { expect: STAFF_PAGE },
  'POST /runbooks': {
    expect: STAFF_POST,
    call: (w) => ({ body: { title: `Proposed run book ${w.unique()}`, slots: 1, s0_title: 'Turn it off and on', s0_checkKind: 'NONE' } }),
  },
  'GET /runbooks/:id': { expect: STAFF_PAGE, call: async (w) => ({ params: { id: (await w.runbook()).id } }) },
  'GET /runbooks/:id/edit': { expect: STAFF_PAGE, call: async (w) => ({ params: { id: (await w.runbook()).id } }) },
  'GET /runbooks/:id/versions/:number': { expect: STAFF_PAGE, call: async (w) => ({ params: { id: (await w.runbook()).id, number: 1 } }) },
  'POST /runbooks/:id/versions': {
    expect: STAFF_POST,
    call: async (w) => {
      const rb = await w.runbook();
      return { params: { id: rb.id }, body: { version: rb.version, base: 1, slots: 1, s0_title: 'Look at the queue first', title: `Renamed ${w.unique()}` } };
    },
  },
  'POST /runbooks/:id/versions/:number/publish': {
    expect: ADMIN_POST,
    call: async (w) => {
      const rb = await w.runbook();
      const saved = await saveVersion(as(w.db, w.admin), rb.id, rb.version, 1, {
        steps: [{ title: 'Only this', instructions: '', checkKind: 'NONE', isFix: false }],
      });
      return { params: { id: rb.id, number: saved.version.number }, body: { version: saved.runbook.version } };
    },
  },
  'POST /runbooks/:id/status': {
    expect: ADMIN_POST,
    call: async (w) => {
      const rb = await w.runbook();
      return { params: { id: rb.id }, body: { version: rb.version, status: 'ARCHIVED' } };
    },
  },

  // Customers: staff read and edit; admins merge.
  'GET /customers': { expect: STAFF_PAGE },
  'GET /customers/lookup': { expect: STAFF_PAGE, call: () => ({ query: 'q=matrix' }) },
  'GET /customers/:id': { expect: STAFF_PAGE, call: customerPage },
  'POST /customers/:id': {
    expect: STAFF_POST,
    call: async (w) => {
      const t = await w.freshTicket();
      return {
        params: { id: t.customerId },
        body: { version: await w.customerVersion(t.customerId), name: 'Renamed Customer', email: `renamed-${w.unique()}@customer.test` },
      };
    },
  },
  'GET /customers/:id/merge': { expect: ADMIN_PAGE, call: customerPage },
  'POST /customers/:id/merge': {
    expect: ADMIN_POST,
    call: async (w) => {
      const [keep, merge] = [await w.freshTicket(), await w.freshTicket()];
      return {
        params: { id: keep.customerId },
        body: {
          mergeId: merge.customerId,
          keepVersion: await w.customerVersion(keep.customerId),
          mergeVersion: await w.customerVersion(merge.customerId),
        },
      };
    },
  },

  // Notifications: each person's own inbox and mail preferences. Someone else's notification is
  // "not found" (the roles' clients never own the one made here).
  'GET /notifications': { expect: STAFF_PAGE },
  'GET /notifications/:id/open': {
    expect: { anonymous: 'login', technician: 404, admin: 404, deactivated: 'login' },
    call: async (w) => {
      const t = await w.freshTicket();
      await assignTicket(as(w.db, w.admin), { reference: t.reference, version: t.version }, w.user.id);
      const n = await w.db.prisma.notification.findFirstOrThrow({ where: { userId: w.user.id, ticketId: t.id } });
      return { params: { id: n.id } };
    },
  },
  'POST /notifications/read-all': { expect: STAFF_POST, call: () => ({ body: {} }) },
  'GET /profile/notifications': { expect: STAFF_PAGE },
  'POST /profile/notifications': { expect: STAFF_POST, call: () => ({ body: { email: 'MENTION' } }) },
  // Organizations: staff read; admins add and edit.
  'GET /organizations': { expect: STAFF_PAGE, call: () => ({ query: 'q=matrix' }) },
  'GET /organizations/new': { expect: ADMIN_PAGE },
  'POST /organizations': {
    expect: ADMIN_POST,
    call: (w) => ({ body: { name: `New Org ${w.unique()}`, domains: `new-${w.unique()}.test`, environment: 'Windows 11' } }),
  },
  'GET /organizations/:id': { expect: STAFF_PAGE, call: (w) => ({ params: { id: w.organizationId } }) },
  'GET /organizations/:id/edit': { expect: ADMIN_PAGE, call: (w) => ({ params: { id: w.organizationId } }) },
  'POST /organizations/:id': {
    expect: ADMIN_POST,
    call: async (w) => {
      const org = await w.organization();
      return { params: { id: org.id }, body: { version: org.version, name: org.name, contract: 'Gold', shareTickets: '1' } };
    },
  },

  // Inbound mail quarantine: staff sort the messages Caseboard would not take on its own.
  'GET /mail': { expect: { anonymous: 'login', technician: 303, admin: 303, deactivated: 'login' } },
  'GET /mail/quarantine': { expect: STAFF_PAGE },
  'GET /mail/:id': { expect: STAFF_PAGE, call: async (w) => ({ params: { id: await w.quarantinedMail() } }) },
  'GET /mail/:id/files/:fileId{/:name}': {
    expect: STAFF_PAGE,
    call: async (w) => {
      const id = await w.quarantinedMail();
      const file = await holdMailAttachments(w.db.prisma, id, [incomingFile('held.txt', Buffer.from(`held ${w.unique()}\n`))], new Date());
      return { params: { id, fileId: file[0]!.id, name: 'held.txt' } };
    },
  },
  'POST /mail/quarantine/:id/attach': {
    expect: STAFF_POST,
    call: async (w) => ({ params: { id: await w.quarantinedMail() }, body: { reference: (await w.freshTicket()).reference } }),
  },
  'POST /mail/quarantine/:id/new-ticket': { expect: STAFF_POST, call: async (w) => ({ params: { id: await w.quarantinedMail() } }) },
  'POST /mail/quarantine/:id/discard': { expect: STAFF_POST, call: async (w) => ({ params: { id: await w.quarantinedMail() } }) },

  // Teams: staff read them; admins manage them and anyone's availability (a technician sets only their own).
  'GET /teams': { expect: STAFF_PAGE },
  'GET /teams/new': { expect: ADMIN_PAGE },
  // Error-reporting projects: technicians read them, admins manage them; creating and rolling the key redirect to the page that shows the DSN once.
  'GET /errors': { expect: STAFF_PAGE },
  'GET /errors/new': { expect: ADMIN_PAGE },
  'POST /errors': {
    expect: ADMIN_POST,
    call: async (w) => ({ body: { name: `App ${w.unique()}`, teamId: (await w.db.prisma.team.findFirstOrThrow({ where: { isDefault: true } })).id, urgency: 'NORMAL', customerName: 'C', customerEmail: `c-${w.unique()}@customer.test` } }),
  },
  'GET /errors/:id': { expect: STAFF_PAGE, call: async (w) => ({ params: { id: (await w.errorProject()).project.id } }) },
  'POST /errors/:id': {
    expect: ADMIN_POST,
    call: async (w) => {
      const { project } = await w.errorProject();
      return { params: { id: project.id }, body: { version: project.version, name: `Renamed ${w.unique()}`, teamId: project.teamId, urgency: 'HIGH', perMinute: '100', active: '1' } };
    },
  },
  'POST /errors/:id/key': { expect: ADMIN_POST, call: async (w) => ({ params: { id: (await w.errorProject()).project.id } }) },
  'GET /errors/:id/key': { expect: ADMIN_PAGE, call: async (w) => ({ params: { id: (await w.errorProject()).project.id } }) },
  'POST /teams': { expect: ADMIN_POST, call: (w) => ({ body: { name: `Team ${w.unique()}`, autoAssign: 'OFF' } }) },
  'GET /teams/:id': { expect: STAFF_PAGE, call: async (w) => ({ params: { id: (await w.freshTeam()).id } }) },
  'POST /teams/:id': {
    expect: ADMIN_POST,
    call: async (w) => {
      const t = await w.freshTeam();
      return { params: { id: t.id }, body: { version: t.version, name: `Renamed ${w.unique()}`, autoAssign: 'ROUND_ROBIN', maxOpenPerPerson: '5' } };
    },
  },
  'POST /teams/:id/members': {
    expect: ADMIN_POST,
    call: async (w) => ({ params: { id: (await w.freshTeam()).id }, body: { userId: (await w.freshUser()).id } }),
  },
  'POST /teams/:id/members/remove': {
    expect: ADMIN_POST,
    call: async (w) => ({ params: { id: (await w.freshTeam()).id }, body: { userId: w.user.id } }),
  },
  'POST /teams/:id/availability': {
    expect: ADMIN_POST,
    call: async (w) => ({ params: { id: (await w.freshTeam()).id }, body: { userId: w.user.id, available: 'false' } }),
  },

  // SLA settings: staff read them, admins change them.
  'GET /sla': { expect: STAFF_PAGE },
  'GET /sla/calendars/new': { expect: ADMIN_PAGE },
  'POST /sla/calendars': {
    expect: ADMIN_POST,
    call: (w) => ({ body: { name: `Calendar ${w.unique()}`, timeZone: 'UTC', hours1: '08:00-18:00' } }),
  },
  'GET /sla/calendars/:id': { expect: STAFF_PAGE, call: async (w) => ({ params: { id: (await w.freshCalendar()).id } }) },
  'POST /sla/calendars/:id': {
    expect: ADMIN_POST,
    call: async (w) => {
      const c = await w.freshCalendar();
      return { params: { id: c.id }, body: { version: c.version, name: `Renamed ${w.unique()}`, timeZone: 'UTC', hours2: '09:00-17:00' } };
    },
  },
  'POST /sla/calendars/:id/holidays': {
    expect: ADMIN_POST,
    call: async (w) => ({ params: { id: (await w.freshCalendar()).id }, body: { date: '2027-01-01', holidayName: 'New Year' } }),
  },
  'POST /sla/calendars/:id/holidays/remove': {
    expect: ADMIN_POST,
    call: async (w) => {
      const c = await w.freshCalendar();
      return { params: { id: c.id }, body: { holidayId: c.holidays[0]!.id } };
    },
  },
  'GET /sla/policies/new': { expect: ADMIN_PAGE },
  'POST /sla/policies': {
    expect: ADMIN_POST,
    call: (w) => ({ body: { name: `Policy ${w.unique()}`, warnPercent: '75', 'first-CRITICAL': '30m' } }),
  },
  'GET /sla/policies/:id': { expect: STAFF_PAGE, call: async (w) => ({ params: { id: (await w.freshPolicy()).id } }) },
  'POST /sla/policies/:id': {
    expect: ADMIN_POST,
    call: async (w) => {
      const p = await w.freshPolicy();
      return { params: { id: p.id }, body: { version: p.version, name: `Renamed ${w.unique()}`, warnPercent: '80', 'resolution-HIGH': '1d' } };
    },
  },

  // Automation rules: staff read them (and try them); admins manage them.
  'GET /rules': { expect: STAFF_PAGE },
  'GET /rules/new': { expect: ADMIN_PAGE },
  'POST /rules': { expect: ADMIN_POST, call: (w) => ({ body: { name: `Rule ${w.unique()}`, event: 'CREATED', match: 'all', c0_kind: 'title', c0_value: 'printer', a0_kind: 'addTag', a0_value: 'printer' } }) },
  'POST /rules/try': {
    expect: { anonymous: 401, technician: 200, admin: 200, deactivated: 403 },
    call: (w) => ({ body: { name: `Rule ${w.unique()}`, event: 'CREATED', match: 'all', c0_kind: 'urgency', c0_value: 'High, critical', a0_kind: 'setUrgency', a0_value: 'low' } }),
  },
  'GET /rules/:id': { expect: STAFF_PAGE, call: async (w) => ({ params: { id: (await w.freshRule()).id }, query: 'try=1' }) },
  'GET /rules/:id/edit': { expect: ADMIN_PAGE, call: async (w) => ({ params: { id: (await w.freshRule()).id } }) },
  'POST /rules/:id': {
    expect: ADMIN_POST,
    call: async (w) => {
      const r = await w.freshRule();
      return { params: { id: r.id }, body: { version: r.version, name: `Renamed ${w.unique()}`, event: 'UPDATED', match: 'any', c0_kind: 'tag', c0_value: 'x', a0_kind: 'addTag', a0_value: 'y' } };
    },
  },
  // Switching off a rule that is off: the route's whole path, and no rule starts firing in the other calls.
  'POST /rules/:id/active': { expect: ADMIN_POST, call: async (w) => ({ params: { id: (await w.freshRule()).id }, body: { active: 'false' } }) },
  'POST /rules/:id/move': { expect: ADMIN_POST, call: async (w) => ({ params: { id: (await w.freshRule()).id }, body: { direction: 'up' } }) },

  // Macros and canned replies: everyone keeps their own; admins the shared ones.
  'GET /macros': { expect: STAFF_PAGE },
  'GET /macros/new': { expect: STAFF_PAGE },
  'POST /macros': { expect: STAFF_POST, call: (w) => ({ body: { name: `Macro ${w.unique()}`, a0_kind: 'setOwner', a0_value: 'me', reply: 'Hi {{customer.name}}' } }) },
  'GET /macros/:id/edit': { expect: ADMIN_PAGE, call: async (w) => ({ params: { id: (await w.sharedMacro()).id } }) },
  'POST /macros/:id': { expect: ADMIN_POST, call: async (w) => ({ params: { id: (await w.sharedMacro()).id }, body: { name: `Macro ${w.unique()}`, shared: '1', a0_kind: 'addTag', a0_value: 'x' } }) },
  'POST /macros/:id/delete': { expect: ADMIN_POST, call: async (w) => ({ params: { id: (await w.sharedMacro()).id } }) },
  'GET /macros/canned/new': { expect: STAFF_PAGE },
  'POST /macros/canned': { expect: STAFF_POST, call: (w) => ({ body: { name: `Canned ${w.unique()}`, body: 'Dear {{customer.name}},' } }) },
  'GET /macros/canned/:id/edit': { expect: ADMIN_PAGE, call: async (w) => ({ params: { id: (await w.sharedCanned()).id } }) },
  'POST /macros/canned/:id': { expect: ADMIN_POST, call: async (w) => ({ params: { id: (await w.sharedCanned()).id }, body: { name: `Canned ${w.unique()}`, shared: '1', body: 'Hi' } }) },
  'POST /macros/canned/:id/delete': { expect: ADMIN_POST, call: async (w) => ({ params: { id: (await w.sharedCanned()).id } }) },

  // Users: admins only.
  // Webhooks: admins only. Creating and rolling the secret redirect to the page that shows it once.
  'GET /webhooks': { expect: ADMIN_PAGE },
  'GET /webhooks/:id/secret': { expect: ADMIN_PAGE, call: async (w) => ({ params: { id: (await w.freshWebhook()).id } }) },
  'GET /webhooks/new': { expect: ADMIN_PAGE },
  'POST /webhooks': {
    expect: ADMIN_POST,
    call: (w) => ({ body: { url: `https://hooks-${w.unique()}.example.test/caseboard`, description: 'Matrix', events: ['ticket.created', 'entry.added'], active: '1' } }),
  },
  'GET /webhooks/:id': { expect: ADMIN_PAGE, call: async (w) => ({ params: { id: (await w.freshWebhook()).id } }) },
  'POST /webhooks/:id': {
    expect: ADMIN_POST,
    call: async (w) => {
      const e = await w.freshWebhook();
      return { params: { id: e.id }, body: { url: e.url, description: 'Edited <b>', events: ['ticket.updated'], active: '1', version: String(e.version) } };
    },
  },
  'POST /webhooks/:id/secret': { expect: ADMIN_POST, call: async (w) => ({ params: { id: (await w.freshWebhook()).id } }) },
  'POST /webhooks/:id/delete': { expect: ADMIN_POST, call: async (w) => ({ params: { id: (await w.freshWebhook()).id }, body: { confirm: '1' } }) },
  'POST /webhooks/:id/deliveries/:deliveryId/resend': {
    expect: ADMIN_POST,
    call: async (w) => {
      const d = await w.webhookDelivery();
      return { params: { id: d.endpointId, deliveryId: d.id } };
    },
  },
  'GET /admin/users': { expect: ADMIN_PAGE },
  'GET /admin/users/new': { expect: ADMIN_PAGE },
  'POST /admin/users': {
    expect: ADMIN_POST,
    call: (w) => ({ body: { email: `new-${w.unique()}@example.test`, name: 'New Person', role: 'TECHNICIAN', password: 'a long enough password' } }),
  },
  'GET /admin/users/:id': { expect: ADMIN_PAGE, call: userPage },
  'POST /admin/users/:id': {
    expect: ADMIN_POST,
    call: async (w) => {
      const u = await w.freshUser();
      return { params: { id: u.id }, body: { version: u.version, email: u.email, name: 'Renamed Person', role: 'TECHNICIAN' } };
    },
  },
  'POST /admin/users/:id/active': {
    expect: ADMIN_POST,
    call: async (w) => {
      const u = await w.freshUser();
      return { params: { id: u.id }, body: { version: u.version, active: 'false' } };
    },
  },
  'POST /admin/users/:id/password': {
    expect: ADMIN_POST,
    call: async (w) => {
      const u = await w.freshUser();
      return { params: { id: u.id }, body: { version: u.version, password: 'another long password' } };
    },
  },
  // Every signed-in user's own profile. Changing the password signs the caller in again on a new
  // session (and ends their others): it runs on a session of its own, as a fresh user.
  'GET /profile': { expect: STAFF_PAGE },
  'POST /profile/preferences': { expect: STAFF_POST, call: () => ({ body: { timeZone: 'Asia/Calcutta', theme: 'DARK' } }) },
  'POST /profile/password': {
    expect: STAFF_POST,
    endsSession: true,
    call: () => ({ body: { currentPassword: PASSWORD, newPassword: 'another long password' } }),
  },

  // API tokens: one's own (a token shown once in the 201 answer), the admins' page for all.
  // Someone else's token is not found on one's own page.
  'GET /profile/tokens': { expect: STAFF_PAGE },
  'POST /profile/tokens': {
    expect: { anonymous: 401, technician: 201, admin: 201, deactivated: 403 },
    call: () => ({ body: { name: 'matrix', scopes: 'tickets:read', expiresInDays: '7' } }),
  },
  'GET /profile/tokens/:id/revoke': { expect: { anonymous: 'login', technician: 404, admin: 404, deactivated: 'login' }, call: async (w) => ({ params: { id: await w.freshToken() } }) },
  'POST /profile/tokens/:id/revoke': { expect: { anonymous: 401, technician: 404, admin: 404, deactivated: 403 }, call: async (w) => ({ params: { id: await w.freshToken() } }) },
  'GET /admin/tokens': { expect: ADMIN_PAGE },
  'POST /admin/tokens': {
    expect: { anonymous: 401, technician: 403, admin: 201, deactivated: 403 },
    call: () => ({ body: { name: 'matrix service', scopes: 'tickets:read', expiresInDays: '7', role: 'TECHNICIAN' } }),
  },
  'GET /admin/tokens/:id/revoke': { expect: ADMIN_PAGE, call: async (w) => ({ params: { id: await w.freshToken() } }) },
  'POST /admin/tokens/:id/revoke': { expect: ADMIN_POST, call: async (w) => ({ params: { id: await w.freshToken() } }) },

  // The API describes itself to anyone.
  'GET /api/v1/openapi.json': { expect: PUBLIC_PAGE },
  'GET /api/v1/docs': { expect: PUBLIC_PAGE },
  // Every API operation: a browser's session cookie (and CSRF token) counts for nothing there (401);
  // bearer tokens and scopes are checked by API_CASES below (tests/security/api-matrix.test.ts).
  ...Object.fromEntries(
    API_OPERATIONS.map((op): [string, RouteCase] => {
      const path = `/api/v1${op.path}`;
      return [`${op.method.toUpperCase()} ${path}`, { expect: API_SESSION, call: (w) => ({ params: Object.fromEntries(paramNames(path).map((n) => [n, n === 'reference' ? w.ticket.reference : w.customerId])) }) }];
    }),
  ),
};

/**
 * How to call each API operation with a bearer token: a valid request (fresh records for changes,
 * `ifMatch` for the version they are based on), and what a token with the operation's scope
 * gets, by its user's role. The matrix (api-matrix.test.ts) also sends each one with no token,
 * a revoked and an expired token (401) and a token with every scope but this one (403).
 */
export interface ApiCall {
  params?: Record<string, string | number>;
  query?: string;
  body?: unknown;
  ifMatch?: number;
}
export interface ApiCase {
  ok: { technician: number; admin: number };
  call: (w: World) => Promise<ApiCall> | ApiCall;
}

const ticketChange = (body: (t: Ticket) => unknown, ticket?: (w: World) => Promise<Ticket>): ApiCase => ({
  ok: { technician: 200, admin: 200 },
  call: async (w) => {
    const t = await (ticket ? ticket(w) : w.freshTicket());
    return { params: { reference: t.reference }, body: body(t), ifMatch: t.version };
  },
});

export const API_CASES: Record<string, ApiCase> = {
  'GET /api/v1/tickets': { ok: { technician: 200, admin: 200 }, call: () => ({ query: 'status=all&sort=age' }) },
  'POST /api/v1/tickets': {
    ok: { technician: 201, admin: 201 },
    call: (w) => ({ body: { title: 'Scanner jams', description: 'Every page.', urgency: 'LOW', customer: { name: 'Matrix Customer', email: `api-${w.unique()}@customer.test` } } }),
  },
  'GET /api/v1/tickets/:reference': { ok: { technician: 200, admin: 200 }, call: (w) => ({ params: { reference: w.ticket.reference } }) },
  'PATCH /api/v1/tickets/:reference': ticketChange(() => ({ title: 'Scanner jams (renamed)' })),
  'POST /api/v1/tickets/:reference/assign': ticketChange(() => ({ assigneeId: null })),
  'POST /api/v1/tickets/:reference/take': {
    // A service-less person who is in no team cannot take it: the role's own technician is (buildUser puts them in the default team).
    ok: { technician: 200, admin: 200 },
    call: async (w) => {
      const t = await w.freshTicket();
      return { params: { reference: t.reference }, body: {}, ifMatch: t.version };
    },
  },
  'POST /api/v1/tickets/:reference/urgency': ticketChange(() => ({ urgency: 'HIGH' })),
  'POST /api/v1/tickets/:reference/status': ticketChange(() => ({ status: 'OPEN' })),
  'POST /api/v1/tickets/:reference/resolve': ticketChange(() => ({ code: 'FIXED', note: 'Fixed it.' })),
  'POST /api/v1/tickets/:reference/reopen': ticketChange(() => ({ reason: 'Back again.' }), (w) => w.resolvedTicket()),
  'GET /api/v1/tickets/:reference/worklog': { ok: { technician: 200, admin: 200 }, call: (w) => ({ params: { reference: w.ticket.reference } }) },
  'POST /api/v1/tickets/:reference/worklog': {
    ok: { technician: 201, admin: 201 },
    call: async (w) => ({ params: { reference: (await w.freshTicket()).reference }, body: { kind: 'NOTE', body: 'Looked at it.' } }),
  },
  'GET /api/v1/customers': { ok: { technician: 200, admin: 200 }, call: () => ({ query: 'q=Matrix' }) },
  'GET /api/v1/customers/:id': { ok: { technician: 200, admin: 200 }, call: (w) => ({ params: { id: w.customerId } }) },
  'PUT /api/v1/customers/:id': {
    ok: { technician: 200, admin: 200 },
    call: async (w) => {
      const t = await w.freshTicket();
      const c = await w.db.prisma.customer.findUniqueOrThrow({ where: { id: t.customerId } });
      return { params: { id: c.id }, body: { name: 'Renamed Customer', email: c.email }, ifMatch: c.version };
    },
  },
  'GET /api/v1/organizations': { ok: { technician: 200, admin: 200 }, call: () => ({}) },
  'GET /api/v1/organizations/:id': { ok: { technician: 200, admin: 200 }, call: (w) => ({ params: { id: w.organizationId } }) },
  'GET /api/v1/articles': { ok: { technician: 200, admin: 200 }, call: () => ({ query: 'q=printer' }) },
  'GET /api/v1/articles/:id': { ok: { technician: 200, admin: 200 }, call: (w) => ({ params: { id: w.article.id } }) },
  // users:manage: an admin's token only (a technician's token cannot be given the scope; the
  // matrix gives it one directly in the database to prove the service refuses them anyway).
  'GET /api/v1/users': { ok: { technician: 403, admin: 200 }, call: () => ({}) },
  'GET /api/v1/users/:id': { ok: { technician: 403, admin: 200 }, call: (w) => ({ params: { id: w.user.id } }) },
};

/** Paths served by middleware the router cannot see into (express.static): checked separately. */
export const OPAQUE_MOUNTS: Record<string, { path: string; status: number }> = {
  '/public': { path: '/public/css/app.css', status: 200 },
};

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** An event stream never ends by itself: its answer is its first bytes, then it is closed. */
function firstBytes(res: IncomingMessage, done: (err: Error | null, body: string) => void) {
  const stream = String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
  let text = '';
  let called = false;
  const finish = () => {
    if (called) return;
    called = true;
    done(null, text);
  };
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    text += chunk;
    if (stream) {
      res.destroy();
      finish();
    }
  });
  res.on('end', finish);
  res.on('close', finish);
}

/**
 * Sends one request as the client: its cookie, and for forms its CSRF token (`token` overrides it;
 * null sends none).
 */
export function send(app: Express, client: Client, method: string, url: string, body?: Record<string, unknown>, token: string | null = client.csrf) {
  const m = method.toLowerCase() as Method;
  const req = request(app)[m](url).set('Cookie', client.cookie);
  if (m === 'get' && /\/events(\?|$)/.test(url)) return req.buffer(true).parse(firstBytes as unknown as Parameters<typeof req.parse>[0]);
  if (m === 'get') return req;
  return req.type('form').send({ ...(body ?? {}), ...(token === null ? {} : { _csrf: token }) });
}
