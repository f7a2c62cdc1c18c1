// Stored XSS: attack strings typed into every text field a user can fill (through the same forms
// people use), then every page that shows them is fetched. On every page nothing can run
// (html-safety.ts reads the page as a browser would), and each field shows up where it should,
// escaped, so that a page that stopped showing a field — or mangled it — fails too.
// Query parameters that pages echo back (search boxes, ?next=, a mistyped reference) are
// checked the same way at the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { buildUser, PASSWORD } from '../helpers/factories.js';
import { confirmLink, csrfOf, signIn, testApp } from '../helpers/http.js';
import { issueAccessToken } from '../../src/services/public/access-links.js';
import { renderMail } from '../../src/mail/render.js';
import { addWorkLog } from '../../src/services/tickets/add-work-log.js';
import { holdMailAttachments } from '../../src/services/attachments/attach.js';
import { sha256Hex, type IncomingFile } from '../../src/services/attachments/files.js';
import { as } from '../helpers/factories.js';
import { decodeEntities, scriptHazards } from './html-safety.js';
import { withCookies } from './route-cases.js';
import { PNG } from '../helpers/files.js';

const PAYLOADS = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'><svg/onload=alert(1)>",
  '</textarea><svg onload=alert(1)>',
  '</title><script>alert(1)</script>',
  'javascript:alert(1)',
  '<a href="javascript:alert(1)">x</a>',
  'x" autofocus onfocus="alert(1)',
  "x' autofocus onfocus='alert(1)",
  '<%= 7*7 %> ${7*7} {{7*7}}',
  // Already escaped: must show as typed (no double decoding). Unlike any other payload escaped.
  '&lt;img src=x onerror=alert(2)&gt; &amp;quot;',
  '[click](javascript:alert(1)) <iframe src=javascript:alert(1)>',
];

/** Every text field, with the form's length limit (longer payloads skip it) and what storing does to it. */
const FIELDS = {
  title: { max: 200 },
  titleb: { max: 200 },
  description: { max: 20_000 },
  description2: { max: 20_000 },
  environment: { max: 20_000 },
  occurrence: { max: 20_000 },
  workaround: { max: 20_000 },
  worklog: { max: 20_000 },
  attempt: { max: 20_000 },
  resolution: { max: 20_000 },
  internalresolution: { max: 20_000 },
  conflict: { max: 20_000 },
  invalid: { max: 200 },
  customername: { max: 120 },
  customername2: { max: 120 },
  organization: { max: 120 },
  phone: { max: 40 },
  notes: { max: 20_000 },
  customerenvironment: { max: 20_000 },
  articletitle: { max: 200 },
  articlebody: { max: 100_000 },
  category: { max: 80 },
  tags: { max: 40 }, // stored lower-case
  user: { max: 120 },
  // Run books: the run book, its step (instructions in Markdown), and what a technician records doing it.
  runbooktitle: { max: 200 },
  runbooksummary: { max: 5000 },
  steptitle: { max: 200 },
  stepinstructions: { max: 20_000 },
  checklabel: { max: 200 },
  versionnote: { max: 500 },
  stepvalue: { max: 500 },
  stepnote: { max: 10_000 },
  // Customer-facing: a staff reply and the customer's own, and a request from the web form.
  reply: { max: 20_000 },
  customerreply: { max: 20_000 },
  webname: { max: 120 },
  webtitle: { max: 200 },
  webdescription: { max: 20_000 },
  webenvironment: { max: 20_000 },
  weboccurrence: { max: 20_000 },
  // Inbound mail, from anyone on the internet: the sender's name, the subject and the text.
  mailname: { max: 200 },
  mailsubject: { max: 998 },
  mailbody: { max: 20_000 },
} as const;
type Field = keyof typeof FIELDS;

/** The text typed into a field: the payload and the field's name, so each can be found on a page. */
const typed = (payload: string, field: Field): string | undefined => {
  const v = `${payload} #${field}`;
  if (v.length > FIELDS[field].max) return undefined;
  return field === 'tags' ? v.toLowerCase() : v;
};

let db: TestDatabase;
let app: Express;
let admin: TestAgent;
let adminCsrf: string;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db, { PUBLIC_FORM_LIMIT: '10000' });
  const a = await buildUser(db, { role: 'ADMIN', name: 'Xena Admin' });
  ({ agent: admin, csrf: adminCsrf } = await signIn(app, a.email));
});
afterAll(() => db?.close());

let n = 0;
const unique = () => `${Date.now().toString(36)}${(n++).toString(36)}`;

/** Expects a 303 and returns where it leads. */
async function posted(agent: TestAgent, url: string, body: Record<string, unknown>): Promise<string> {
  const res = await agent.post(url).type('form').send(body);
  if (res.status !== 303) throw new Error(`POST ${url} answered ${res.status}: ${res.text.slice(0, 2000)}`);
  return res.headers.location as string;
}

/** A customer's browser: no sign-in, a CSRF token and its cookie. */
async function anonymous(): Promise<{ agent: TestAgent; csrf: string }> {
  const agent = request.agent(app);
  const page = await agent.get('/request').expect(200);
  expect(withCookies(page)).toContain('caseboard.csrf=');
  return { agent, csrf: csrfOf(page.text) };
}

interface Page {
  url: string;
  agent: TestAgent;
  /** Fields whose text must appear on it (escaped). */
  shows: Field[];
  status?: number;
  /** Shows an article body rendered from Markdown, where &entities; in the source are entities. */
  markdown?: boolean;
  /** Other texts it must show, escaped (file names, which are made safe before they are stored). */
  also?: string[];
  /** For pages reached by a form post (409, 422): how to get them. */
  send?: () => PromiseLike<{ status: number; text: string; headers: Record<string, string> }>;
}

/** Fills every field with the payload through the forms; returns the pages that show them. */
async function plant(payload: string): Promise<Page[]> {
  const v = (f: Field) => typed(payload, f);
  const opt = (f: Field, key: string) => (v(f) === undefined ? {} : { [key]: v(f) });

  // A member of staff whose name is the payload, who then does the work.
  const email = `xss-${unique()}@example.test`;
  const userUrl = await posted(admin, '/admin/users', { _csrf: adminCsrf, email, name: v('user') ?? 'Plain Name', role: 'TECHNICIAN', password: PASSWORD });
  const { agent: tech, csrf } = await signIn(app, email);

  // The organization the customers belong to: a record the admin adds (named by the payload, its
  // notes too), which the ticket and customer forms then name. A payload met before reuses its record.
  const orgName = v('organization');
  let orgId: number | null = null;
  if (orgName !== undefined) {
    const existing = await db.prisma.organization.findUnique({ where: { nameKey: orgName.trim().toLowerCase() } });
    orgId = existing?.id ?? Number((await posted(admin, '/organizations', {
      _csrf: adminCsrf, name: orgName, environment: v('customerenvironment') ?? '', contract: v('notes') ?? '',
    })).split('?')[0]!.split('/').pop());
  }

  const ticketUrl = await posted(tech, '/tickets', {
    _csrf: csrf,
    title: v('title'),
    description: v('description'),
    urgency: 'HIGH',
    channel: 'PHONE',
    ...opt('environment', 'environment'),
    ...opt('occurrence', 'occurrence'),
    ...opt('workaround', 'workaround'),
    customerName: v('customername'),
    customerEmail: `c-${unique()}@customer.test`,
    ...opt('organization', 'customerOrganization'),
    ...opt('phone', 'customerPhone'),
    assignToMe: '1',
  });
  const reference = ticketUrl.split('/').pop()!;
  const ticketB = await posted(tech, '/tickets', {
    _csrf: csrf,
    title: v('titleb'),
    description: 'The second ticket.',
    urgency: 'CRITICAL',
    channel: 'EMAIL',
    customerName: v('customername2'),
    customerEmail: `d-${unique()}@customer.test`,
    ...opt('organization', 'customerOrganization'),
    assignToMe: '1',
  });
  const referenceB = ticketB.split('/').pop()!;
  const ticketRow = await db.prisma.ticket.findUniqueOrThrow({ where: { reference } });
  const customerB = (await db.prisma.ticket.findUniqueOrThrow({ where: { reference: referenceB } })).customerId;

  await posted(tech, `/tickets/${reference}/worklog`, { _csrf: csrf, kind: 'NOTE', body: v('worklog') });
  await posted(tech, `/tickets/${reference}/worklog`, { _csrf: csrf, kind: 'ATTEMPTED_FIX', body: v('attempt'), outcome: 'PARTIAL' });
  const version = async (ref: string) => (await db.prisma.ticket.findUniqueOrThrow({ where: { reference: ref } })).version;
  await posted(tech, `/tickets/${reference}/details`, {
    _csrf: csrf,
    version: await version(reference),
    title: v('title'),
    description: v('description2'),
    channel: 'PHONE',
    ...opt('environment', 'environment'),
    ...opt('occurrence', 'occurrence'),
    ...opt('workaround', 'workaround'),
  });

  const customer = await db.prisma.customer.findUniqueOrThrow({ where: { id: ticketRow.customerId } });
  await posted(tech, `/customers/${customer.id}`, {
    _csrf: csrf,
    version: customer.version,
    name: customer.name,
    email: customer.email,
    ...opt('phone', 'phone'),
    ...opt('organization', 'organization'),
    environment: v('customerenvironment'),
    notes: v('notes'),
  });

  // An article: written and published by the admin, then edited (a second revision to compare).
  const body = `${v('articlebody')}\n\n[a link](javascript:alert(1)) and <b onmouseover=alert(1)>bold</b>`;
  const articleUrl = await posted(admin, '/articles', {
    _csrf: adminCsrf,
    title: v('articletitle'),
    body,
    ...opt('category', 'category'),
    ...opt('tags', 'tags'),
    visibility: 'PUBLIC',
  });
  const articleId = Number(articleUrl.split('?')[0]!.split('/').pop());
  const articleVersion = async () => (await db.prisma.article.findUniqueOrThrow({ where: { id: articleId } })).version;
  await posted(admin, `/articles/${articleId}/status`, { _csrf: adminCsrf, version: await articleVersion(), status: 'PUBLISHED' });
  await posted(admin, `/articles/${articleId}`, {
    _csrf: adminCsrf,
    version: await articleVersion(),
    title: v('articletitle'),
    body: `${body}\n\nA second paragraph.`,
    ...opt('category', 'category'),
    ...opt('tags', 'tags'),
    visibility: 'PUBLIC',
  });
  const revisions = (await db.prisma.articleRevision.findMany({ where: { articleId }, orderBy: { version: 'asc' } })).map((r) => r.version);

  await posted(tech, `/tickets/${reference}/articles`, { _csrf: csrf, articleId });

  // A run book written and published by the admin, attached to ticket B, its first step done by the technician.
  const runbookUrl = await posted(admin, '/runbooks', {
    _csrf: adminCsrf,
    slots: 2,
    publish: '1',
    title: v('runbooktitle') ?? `Plain run book ${unique()}`,
    ...opt('runbooksummary', 'summary'),
    ...opt('versionnote', 'note'),
    s0_title: v('steptitle') ?? 'Plain step',
    s0_instructions: `${v('stepinstructions') ?? 'Plain'}\n\n[a link](javascript:alert(1)) <b onmouseover=alert(1)>bold</b>`,
    s0_checkKind: 'VALUE',
    s0_checkLabel: v('checklabel') ?? 'Plain label',
    s1_title: 'Second step',
  });
  const runbookId = Number(runbookUrl.split('?')[0]!.split('/').pop());
  // On a ticket of its own: its page shows the instructions rendered from Markdown (where &entities; are entities).
  const referenceC = (await posted(tech, '/tickets', {
    _csrf: csrf,
    title: 'The run book ticket',
    description: 'Worked through a run book.',
    urgency: 'NORMAL',
    channel: 'PHONE',
    customerName: 'Plain Customer',
    customerEmail: `r-${unique()}@customer.test`,
  })).split('?')[0]!.split('/').pop()!;
  await posted(tech, `/tickets/${referenceC}/runbooks`, { _csrf: csrf, runbookId, how: 'BY_HAND' });
  const attachedRunbook = await db.prisma.ticketRunbook.findFirstOrThrow({ where: { runbookId }, include: { version: { include: { steps: { orderBy: { position: 'asc' } } } } } });
  await posted(tech, `/tickets/${referenceC}/runbooks/${attachedRunbook.id}/steps/${attachedRunbook.version.steps[0]!.id}`, {
    _csrf: csrf,
    value: v('stepvalue') ?? 'plain value',
    ...opt('stepnote', 'note'),
  });
  await posted(tech, `/tickets/${reference}/resolve`, { _csrf: csrf, version: await version(reference), resolutionCode: 'WORKAROUND', resolutionNote: v('resolution'), ...opt('internalresolution', 'internalResolutionNote') });

  // A stale form (409) and a refused one (422) show what was typed, next to what others stored.
  // (The colleague's change meets a field the stale form changes: the description.)
  await posted(admin, `/tickets/${referenceB}/details`, { _csrf: adminCsrf, version: 1, title: v('titleb'), description: 'Rewritten by the admin.', channel: 'EMAIL' });
  const stale = () =>
    tech.post(`/tickets/${referenceB}/details`).type('form').send({ _csrf: csrf, version: 1, title: v('titleb'), description: v('conflict'), channel: 'EMAIL' });
  const refused = () => tech.post('/tickets').type('form').send({ _csrf: csrf, title: v('invalid'), urgency: 'LOW', channel: 'PHONE' });

  // The customer side: a staff reply, the customer's answer through their private link, a
  // request sent from the web form, and the status page found by reference and email.
  await posted(tech, `/tickets/${referenceB}/worklog`, { _csrf: csrf, kind: 'REPLY', body: v('reply') });
  const ticketBRow = await db.prisma.ticket.findUniqueOrThrow({ where: { reference: referenceB }, include: { customer: true } });
  const token = await issueAccessToken(db.pool, ticketBRow.id, null, 30);
  const customerSide = await anonymous();
  await posted(customerSide.agent, `/s/${token}/reply`, { _csrf: customerSide.csrf, body: v('customerreply') });
  const webEmail = `web-${unique()}@customer.test`;
  const web = await customerSide.agent.post('/request').type('form').send({
    _csrf: customerSide.csrf,
    name: v('webname'),
    email: webEmail,
    title: v('webtitle'),
    description: v('webdescription'),
    ...opt('webenvironment', 'environment'),
    ...opt('weboccurrence', 'occurrence'),
  });
  expect(web.status, web.text.slice(0, 1000)).toBe(201);
  const webTicket = await db.prisma.ticket.findFirstOrThrow({ where: { customer: { email: webEmail } } });
  // A web-form ticket shows on /status once its mailed link was confirmed (the mailbox answered);
  // a link shows the conversation once confirmed.
  await confirmLink(customerSide.agent, await issueAccessToken(db.pool, webTicket.id, null, 30));
  await confirmLink(customerSide.agent, token);
  const statusOf = (reference: string, email: string) => () =>
    customerSide.agent.post('/status').type('form').send({ _csrf: customerSide.csrf, reference, email });

  // Mail from outside: held in quarantine (as the inbound service stores it), then one attached
  // to a ticket, one turned into a ticket, one left waiting; an ignored auto-reply is listed too.
  const inbound = (state: 'QUARANTINED' | 'IGNORED') =>
    db.prisma.inboundMail.create({
      data: {
        messageId: `<${unique()}@mail.test>`,
        fromAddress: `sender-${unique()}@mail.test`,
        fromName: v('mailname') ?? null,
        subject: v('mailsubject')!,
        body: v('mailbody')!,
        state,
        reason: 'The sender is not the customer of the ticket it names.',
      },
    });
  const [attached, released] = [await inbound('QUARANTINED'), await inbound('QUARANTINED')];
  await inbound('QUARANTINED');
  await inbound('IGNORED');
  await posted(tech, `/mail/quarantine/${attached.id}/attach`, { _csrf: csrf, reference: referenceB });
  const mailTicket = (await posted(tech, `/mail/quarantine/${released.id}/new-ticket`, { _csrf: csrf })).split('/').pop()!;

  // File names. One uploaded through the work-log form with the payload as its name (made safe on
  // the way in: the page must show what was stored); one stored as it came — a name that escaped
  // the cleaning, an inline image whose mark is in the note — on the ticket and on a message
  // waiting in quarantine: every page that lists files must escape it all the same.
  const userId = Number(userUrl.split('?')[0]!.split('/').pop());
  const rawName = `${payload} #filename`;
  const upload = await tech.post(`/tickets/${reference}/worklog`).field('_csrf', csrf).field('kind', 'NOTE').field('body', 'The log.')
    .attach('files', Buffer.from('log line\n'), { filename: rawName, contentType: 'text/plain' });
  expect(upload.status, upload.text.slice(0, 1000)).toBe(303);
  const uploaded = await db.prisma.attachment.findFirstOrThrow({ where: { ticket: { reference } }, orderBy: { id: 'desc' } });
  const techActor = { id: userId, name: v('user') ?? 'Plain Name', email, role: 'TECHNICIAN' as const };
  const raw = (bytes: Buffer, extra: Partial<IncomingFile> = {}): IncomingFile => ({ fileName: rawName, bytes, sha256: sha256Hex(bytes), ...extra });
  const note = await addWorkLog(as(db, techActor), reference, { kind: 'NOTE', body: 'Inline: [cid:xss@mail] here.', files: [raw(PNG, { contentId: 'xss@mail', inline: true })] });
  const rawFile = note.attachments[0]!;
  const waiting = await inbound('QUARANTINED');
  await db.prisma.$transaction((tx) => holdMailAttachments(tx, waiting.id, [raw(Buffer.from(`held ${unique()}\n`))], new Date()));

  // The customer sends a file with the payload as its name through their link, and staff reply with one.
  const customerFile = await customerSide.agent.post(`/s/${token}/reply`).field('_csrf', customerSide.csrf).field('body', 'My log.')
    .attach('files', Buffer.from(`customer log ${unique()}\n`), { filename: rawName, contentType: 'text/plain' });
  expect(customerFile.status, customerFile.text.slice(0, 1000)).toBe(303);
  await tech.post(`/tickets/${referenceB}/worklog`).field('_csrf', csrf).field('kind', 'REPLY').field('body', 'Our log.')
    .attach('files', Buffer.from(`staff log ${unique()}\n`), { filename: rawName, contentType: 'text/plain' }).expect(303);
  const publicNames = (await db.prisma.attachment.findMany({ where: { ticket: { reference: referenceB } }, select: { fileName: true } })).map((f) => f.fileName);
  expect(publicNames.length).toBe(2);

  const q = encodeURIComponent;
  const present = (...fields: Field[]) => fields.filter((f) => v(f) !== undefined);
  return [
    { url: '/tickets', agent: admin, shows: present('titleb', 'customername2', 'organization', 'user') },
    { url: '/tickets?status=all', agent: admin, shows: present('title', 'titleb', 'customername', 'customername2') },
    {
      url: `/tickets/${reference}`,
      agent: admin,
      shows: present('title', 'description', 'description2', 'environment', 'occurrence', 'workaround', 'customername', 'organization', 'phone', 'worklog', 'attempt', 'resolution', 'internalresolution', 'articletitle', 'user'),
    },
    { url: `/tickets/${reference}`, agent: tech, shows: present('title', 'user') },
    { url: `/tickets/${referenceB}`, agent: admin, shows: present('titleb', 'customername2', 'user') },
    { url: `/tickets/${referenceB}?kb=`, agent: tech, shows: [] },
    { url: `/tickets/${referenceB}?kb=${q('#articletitle')}`, agent: tech, shows: [] },
    { url: `/tickets/new?title=${q(v('titleb') ?? payload)}`, agent: tech, shows: [] },
    { url: `/tickets/suggest?title=${q(v('titleb') ?? payload)}`, agent: tech, shows: [] },
    { url: `/tickets/${referenceB}/details`, agent: tech, shows: present('conflict', 'titleb'), status: 409, send: stale },
    { url: '/tickets', agent: tech, shows: present('invalid'), status: 422, send: refused },
    { url: '/customers', agent: tech, shows: present('customername', 'organization') },
    ...(v('organization') ? [{ url: `/customers?organization=${q(v('organization')!)}`, agent: tech, shows: present('customername', 'customername2', 'organization') }] : []),
    { url: `/customers?q=${q('#customername')}`, agent: tech, shows: [] },
    ...(orgId !== null
      ? [
          { url: `/organizations?q=${q(orgName!)}`, agent: tech, shows: present('organization') },
          { url: `/organizations/${orgId}`, agent: tech, shows: present('organization', 'customername', 'customername2', 'title', 'titleb') },
          { url: `/organizations/${orgId}/edit`, agent: admin, shows: present('organization') },
        ]
      : []),
    {
      url: `/customers/${customer.id}`,
      agent: tech,
      shows: present('customername', 'organization', 'phone', 'notes', 'customerenvironment', 'title', 'user'),
    },
    { url: `/customers/${customerB}`, agent: tech, shows: present('customername2', 'titleb') },
    { url: `/customers/${customer.id}/merge?mergeId=${customerB}`, agent: admin, shows: present('customername', 'customername2', 'notes') },
    { url: `/customers/${customer.id}/merge?q=${q('#customername')}`, agent: admin, shows: [] },
    { url: '/articles', agent: tech, shows: present('articletitle', 'category') },
    { url: `/articles?q=${q('articlebody')}`, agent: tech, shows: [] },
    ...(v('category') ? [{ url: `/articles?category=${q(v('category')!)}`, agent: tech, shows: present('articletitle', 'category') }] : []),
    { url: `/articles/${articleId}`, agent: tech, shows: present('articletitle', 'category', 'tags'), markdown: true },
    { url: `/articles/${articleId}`, agent: admin, shows: present('articletitle'), markdown: true },
    { url: `/articles/${articleId}/edit`, agent: admin, shows: present('articletitle', 'articlebody', 'category', 'tags') },
    { url: `/articles/${articleId}/revisions/${revisions[0]}`, agent: tech, shows: present('articletitle'), markdown: true },
    { url: `/articles/${articleId}/compare?from=${revisions[0]}&to=${revisions[1]}`, agent: tech, shows: present('articletitle', 'articlebody') },
    { url: `/articles/new?fromTicket=${reference}`, agent: tech, shows: present('title', 'description2', 'environment', 'occurrence', 'workaround', 'resolution') },
    { url: `/tickets/${referenceB}`, agent: tech, shows: present('reply', 'customerreply') },
    { url: `/tickets/${webTicket.reference}`, agent: tech, shows: present('webname', 'webtitle', 'webdescription', 'webenvironment', 'weboccurrence') },
    { url: `/tickets?q=${q(webEmail)}`, agent: tech, shows: present('webname', 'webtitle') },
    { url: `/customers/${webTicket.customerId}`, agent: tech, shows: present('webname', 'webtitle') },
    { url: `/s/${token}`, agent: customerSide.agent, shows: present('titleb', 'reply', 'customerreply', 'user'), also: publicNames },
    // The status lookup shows no conversation (only the private link does).
    { url: '/status', agent: customerSide.agent, shows: present('titleb'), status: 200, send: statusOf(referenceB, ticketBRow.customer.email) },
    { url: '/status', agent: customerSide.agent, shows: present('webtitle'), status: 200, send: statusOf(webTicket.reference, webEmail) },
    { url: `/help/${articleId}`, agent: customerSide.agent, shows: present('articletitle', 'category'), markdown: true },
    { url: `/help?q=${q('articletitle')}`, agent: customerSide.agent, shows: [] },
    { url: `/help?q=${q('articlebody')}`, agent: customerSide.agent, shows: [] },
    { url: `/help/suggest?title=${q(`${v('articletitle')} printer`)}`, agent: customerSide.agent, shows: [] },
    { url: `/request?title=${q(`${v('articletitle')} printer`)}`, agent: customerSide.agent, shows: [] },
    { url: '/mail/quarantine', agent: tech, shows: present('mailname', 'mailsubject', 'mailbody') },
    { url: `/tickets/${referenceB}`, agent: admin, shows: present('mailname', 'mailsubject', 'mailbody') },
    { url: `/tickets/${mailTicket}`, agent: admin, shows: present('mailname', 'mailsubject', 'mailbody') },
    { url: '/tickets', agent: admin, shows: present('mailsubject') },
    { url: `/tickets/${reference}`, agent: admin, shows: [], also: [uploaded.fileName, rawName] },
    { url: `/tickets/${reference}/redact-file/${rawFile.id}`, agent: admin, shows: [], also: [rawName] },
    { url: `/tickets/${reference}/redact-file/${uploaded.id}`, agent: admin, shows: [], also: [uploaded.fileName] },
    { url: '/mail/quarantine', agent: tech, shows: [], also: [rawName] },
    { url: `/mail/${waiting.id}`, agent: tech, shows: [], also: [rawName] },
    { url: '/runbooks', agent: tech, shows: present('runbooktitle') },
    { url: `/runbooks?q=${q('#runbooktitle')}`, agent: tech, shows: [] },
    { url: `/runbooks/${runbookId}`, agent: tech, shows: present('runbooktitle', 'runbooksummary', 'steptitle', 'checklabel', 'versionnote'), markdown: true },
    { url: `/runbooks/${runbookId}/versions/1`, agent: tech, shows: present('runbooktitle', 'steptitle', 'checklabel', 'versionnote'), markdown: true },
    { url: `/runbooks/${runbookId}/edit`, agent: admin, shows: present('runbooktitle', 'runbooksummary', 'steptitle', 'stepinstructions', 'checklabel') },
    { url: `/tickets/${referenceC}`, agent: tech, shows: present('runbooktitle', 'steptitle', 'checklabel', 'stepvalue', 'stepnote'), markdown: true },
    { url: '/admin/users', agent: admin, shows: present('user') },
    { url: `/admin/users/${userId}`, agent: admin, shows: present('user') },
  ];
}

/** The page is safe, and shows each expected field's text, escaped. */
function expectSafe(html: string, payload: string, shows: Field[], where: string, markdown = false, also: string[] = []) {
  expect(scriptHazards(html), `${where}: something on the page can run script`).toEqual([]);
  // Escaped output never holds the typed text as is when it has <, > or &. (A quote may stand
  // as is in text, e.g. in rendered Markdown: there the checker's attribute parsing decides.)
  if (markdown ? /[<>]/.test(payload) : /[<>&]/.test(payload)) expect(html.includes(payload), `${where}: the payload appears unescaped`).toBe(false);
  const text = decodeEntities(html);
  for (const f of shows) expect(text.includes(typed(payload, f)!), `${where}: ${f} is not shown (escaped)`).toBe(true);
  for (const t of also) expect(text.includes(t), `${where}: ${t} is not shown (escaped)`).toBe(true);
}

describe('the checker itself', () => {
  it('finds injected script in the forms the payloads would take, and nothing on a clean page', async () => {
    const bad = [
      '<p><script>alert(1)</script></p>',
      '<input value=""><img src=x onerror=alert(1)>">',
      "<input value=''><svg/onload=alert(1)>'>",
      '<textarea></textarea><svg onload=alert(1)></textarea>',
      '<a href="javascript:alert(1)">x</a>',
      '<a href=" &#106;avascript&colon;alert(1)">x</a>',
      '<input value="x" autofocus onfocus="alert(1)">',
      '<iframe src=x></iframe>',
      '<title></title><script>alert(1)</script></title>',
    ];
    for (const html of bad) expect(scriptHazards(html), html).not.toEqual([]);
    const good = [
      '<textarea>&lt;/textarea&gt;&lt;svg onload=alert(1)&gt;</textarea>',
      '<input value="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;">',
      '<p title="x onerror=alert(1)">javascript:alert(1)</p>',
      '<textarea></svg onload=alert(1)></textarea>',
      '<script src="/public/js/suggest.js" defer></script>',
      '<!-- <script>alert(1)</script> -->',
    ];
    for (const html of good) expect(scriptHazards(html), html).toEqual([]);
    const page = await admin.get('/tickets/new').expect(200);
    expect(scriptHazards(page.text)).toEqual([]);
  });
});

describe.each(PAYLOADS)('stored %s', (payload) => {
  it('runs nowhere, and is shown escaped wherever its field is shown', async () => {
    const pages = await plant(payload);
    for (const p of pages) {
      const res = p.send ? await p.send() : await p.agent.get(p.url);
      const where = `${p.status ? 'POST' : 'GET'} ${p.url}`;
      expect(res.status, where).toBe(p.status ?? 200);
      expectSafe(res.text, payload, p.shows, where, p.markdown, p.also);
    }
    // The customer lookup answers JSON, which browsers must not read as a page.
    const json = await admin.get(`/customers/lookup?q=${encodeURIComponent(typed(payload, 'customername')!)}`).expect(200);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.headers['x-content-type-options']).toBe('nosniff');
    expect(JSON.stringify(json.body)).toContain(JSON.stringify(typed(payload, 'customername')).slice(1, -1));
  });
});

describe.each(PAYLOADS)('reflected %s', (payload) => {
  it('is escaped on every page that echoes a query parameter back', async () => {
    const q = encodeURIComponent(payload);
    const echo: [string, number][] = [
      [`/tickets?q=${q}`, 200],
      // (" printer": a title without a word breaks the suggestions, see the known bug below)
      [`/tickets/new?title=${q}%20printer&description=${q}&customerName=${q}`, 200],
      [`/customers?q=${q}`, 200],
      [`/organizations?q=${q}`, 200],
      [`/articles?q=${q}`, 200],
      [`/articles?category=${q}`, 200],
      [`/help?q=${q}`, 200],
      [`/request?title=${q}%20printer`, 200],
    ];
    for (const [url, status] of echo) {
      const res = await admin.get(url);
      expect(res.status, url).toBe(status);
      expectSafe(res.text, payload, [], url);
      expect(decodeEntities(res.text).includes(payload), `${url}: the text typed is not shown back`).toBe(true);
    }
    // Pages whose echo is partial or refused: safe all the same.
    for (const url of [`/tickets/${q}`, `/customers/1/merge?q=${q}`, `/tickets?status=${q}`, `/articles/new?fromTicket=${q}`]) {
      const res = await admin.get(url);
      expect(scriptHazards(res.text), url).toEqual([]);
      if (/[<>&]/.test(payload)) expect(res.text.includes(payload), url).toBe(false);
    }
    // A confirmation's key (?done=) picks a fixed text: an unknown one shows nothing, echoes nothing.
    const ticket = (await posted(admin, '/tickets', { _csrf: adminCsrf, title: 'Done key printer', description: 'x', urgency: 'LOW', channel: 'PHONE', customerName: 'D K', customerEmail: `dk-${unique()}@customer.test` })).split('#')[0]!;
    for (const url of [`${ticket}?done=${q}`, `/customers?done=${q}`, `/admin/users?done=${q}`, `/articles?done=${q}`]) {
      const res = await admin.get(url);
      expect(res.status, url).toBe(200);
      expect(scriptHazards(res.text), url).toEqual([]);
      // (The payload may be on the page from the stored tests' data, a staff name: raw, never.)
      if (/[<>&]/.test(payload)) expect(res.text.includes(payload), url).toBe(false);
      expect(res.text, url).not.toContain('role="status"');
    }
    // Customer forms send back what was typed when they refuse it.
    const customer = await anonymous();
    for (const [url, body, status] of [
      ['/status', { reference: payload, email: payload }, 422],
      // (a reference longer than the form takes is refused before the lookup)
      ['/status', { reference: payload, email: 'someone@example.test' }, payload.length > 40 ? 422 : 404],
      ['/request', { name: payload, email: 'someone@example.test', title: `${payload} printer`, description: '' }, 422],
    ] as const) {
      const res = await customer.agent.post(url).type('form').send({ _csrf: customer.csrf, ...body });
      expect(res.status, url).toBe(status);
      expectSafe(res.text, payload, [], `POST ${url}`);
      expect(decodeEntities(res.text).includes(payload), `POST ${url}: the text typed is not shown back`).toBe(true);
    }
    const login = await signInPage(`/${payload}`);
    expectSafe(login, payload, [], '/login?next=');
  });
});

describe('mail to customers', () => {
  it.each(PAYLOADS)('the HTML part of every kind of mail escapes %s', (payload) => {
    const payloadFields = { reference: 'CB-7K2M9QX', title: `${payload} #title`, name: `${payload} #name`, body: `${payload} #body`, author: `${payload} #author`, resolutionCode: 'FIXED', resolutionNote: `${payload} #note` };
    const shown: Record<string, string[]> = {
      TICKET_CREATED: ['title', 'name'],
      // (the others carry the title in the subject line only)
      REPLY: ['name', 'body', 'author', 'attached', 'withdrawn'],
      WAITING_ON_CUSTOMER: ['name'],
      RESOLVED: ['name', 'note'],
    };
    for (const [kind, fields] of Object.entries(shown)) {
      const files = { attached: [`${payload} #attached`], withdrawn: [`${payload} #withdrawn`] };
      const { html } = renderMail(kind as Parameters<typeof renderMail>[0], payloadFields, 'https://desk.example/s/abc', files);
      expect(scriptHazards(html), kind).toEqual([]);
      if (/[<>&]/.test(payload)) expect(html.includes(payload), kind).toBe(false);
      for (const f of fields) expect(decodeEntities(html), `${kind}: ${f}`).toContain(`${payload} #${f}`);
    }
  });
});

// Titles without words and NUL characters: hostile-input.test.ts.

async function signInPage(next: string): Promise<string> {
  const res = await request(app).get(`/login?next=${encodeURIComponent(next)}`).expect(200);
  expect(decodeEntities(res.text)).toContain(next);
  return res.text;
}
