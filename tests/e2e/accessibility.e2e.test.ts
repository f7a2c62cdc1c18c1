// Accessibility of every page, from one list: each is opened (as an admin, or signed out), must
// answer with its expected status, is screenshotted (artifacts/pages-<name>.png) and must have no
// serious or critical axe-core violation. The scenarios audit the pages they pass through too.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN, createTicket, expectAccessible, goto, launchBrowser, navigate, newContext, screenshot, signIn } from './support.js';
import { PNG } from '../helpers/files.js';

const { baseUrl, mailDir } = inject('e2e');

/** The access token in the first mail about `reference` (waits for the mail worker). */
async function accessTokenFor(reference: string): Promise<string> {
  const end = Date.now() + 20_000;
  for (;;) {
    const file = existsSync(mailDir) ? readdirSync(mailDir).find((n) => n.includes(reference)) : undefined;
    // Quoted-printable may wrap the link: undo soft line breaks before looking for it.
    const mail = file ? readFileSync(join(mailDir, file), 'utf8').replace(/=\r?\n/g, '') : '';
    const token = /\/s\/([A-Za-z0-9_-]{43})/.exec(mail)?.[1];
    if (token) return token;
    if (Date.now() > end) throw new Error(`No mail with an access link for ${reference} in ${mailDir}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Records the pages below need, made before the audit (the ticket over HTTP, the article in the browser). */
interface Fixtures {
  reference: string;
  articleId: number;
  customerId: number;
  userId: number;
  /** A private access link's token, from the "request received" mail the app wrote. */
  accessToken: string;
  publicArticleId: number;
}

interface PageToAudit {
  name: string;
  /** Who looks at it (default: an admin, who sees every control). */
  as?: 'admin' | 'anonymous';
  /** The address; or `open` for a page reached by doing something (a refused form). */
  path?: string | ((f: Fixtures) => string);
  open?: (page: Page, f: Fixtures) => Promise<Response>;
  /** The status the page must answer with (default 200). */
  status?: number;
}

// THE LIST. One line per page; a page reached by an action gets an `open` function below.
const PAGES: PageToAudit[] = [
  { name: 'login', as: 'anonymous', path: '/login' },
  { name: 'queue', path: '/tickets' },
  { name: 'queue, no match', path: '/tickets?q=nothing-matches-this' },
  { name: 'new ticket', path: '/tickets/new' },
  { name: 'new ticket, refused', status: 422, open: submitEmptyNewTicket },
  { name: 'ticket page', path: (f) => `/tickets/${f.reference}` },
  { name: 'conflict page', status: 409, open: openConflictPage },
  { name: 'articles list', path: '/articles' },
  { name: 'new article', path: '/articles/new' },
  { name: 'article', path: (f) => `/articles/${f.articleId}` },
  { name: 'run books', path: '/runbooks' },
  { name: 'new run book', path: '/runbooks/new' },
  { name: 'new run book, refused', status: 422, open: submitBadRunbook },
  { name: 'run book', open: addRunbook },
  { name: 'ticket page with a run book', open: attachRunbookToTicket },
  { name: 'customers', path: '/customers' },
  { name: 'customer', path: (f) => `/customers/${f.customerId}` },
  { name: 'admin users', path: '/admin/users' },
  { name: 'admin new user', path: '/admin/users/new' },
  { name: 'admin user', path: (f) => `/admin/users/${f.userId}` },
  { name: 'error 404', status: 404, path: '/no-such-page' },
  { name: 'error 404, signed out', as: 'anonymous', status: 404, path: '/no-such-page' },
  { name: 'mail quarantine', path: '/mail/quarantine' },
  { name: 'queue, my teams, by last update', path: '/tickets?team=mine&sort=updated' },
  { name: 'teams', path: '/teams' },
  { name: 'new team', path: '/teams/new' },
  { name: 'team (default)', path: '/teams/1' },
  { name: 'SLAs', path: '/sla' },
  { name: 'new SLA calendar', path: '/sla/calendars/new' },
  { name: 'new SLA policy', path: '/sla/policies/new' },
  { name: 'queue, SLA due first', path: '/tickets?sort=due' },
  { name: 'organizations', path: '/organizations' },
  { name: 'new organization', path: '/organizations/new' },
  { name: 'organization', open: addOrganization },
  { name: 'notifications', path: '/notifications' },
  { name: 'notification mail preferences', path: '/profile/notifications' },
  { name: 'profile', path: '/profile' },
  { name: 'automation rules', path: '/rules' },
  { name: 'new automation rule', path: '/rules/new' },
  { name: 'macros and canned replies', path: '/macros' },
  { name: 'new macro', path: '/macros/new' },
  { name: 'new canned reply', path: '/macros/canned/new' },
  { name: 'webhooks', path: '/webhooks' },
  { name: 'new webhook', path: '/webhooks/new' },
  { name: 'error-reporting projects', path: '/errors' },
  { name: 'new error-reporting project', path: '/errors/new' },
  { name: 'my API tokens', path: '/profile/tokens' },
  { name: 'API tokens (admin)', path: '/admin/tokens' },
  { name: 'API reference', as: 'anonymous', path: '/api/v1/docs' },
  // Customer-facing pages (no sign-in).
  { name: 'public status lookup', as: 'anonymous', path: '/status' },
  { name: 'public status, not found', as: 'anonymous', status: 404, open: lookUpWrongTicket },
  { name: 'public ticket (reference + email)', as: 'anonymous', open: lookUpTicket },
  { name: 'public ticket (private link, before its button)', as: 'anonymous', path: (f) => `/s/${f.accessToken}` },
  { name: 'public ticket (private link)', as: 'anonymous', open: confirmAccessLink },
  { name: 'public ticket with files (private link)', as: 'anonymous', open: replyWithFiles },
  { name: 'public reply, refused (an empty file)', as: 'anonymous', status: 422, open: replyWithEmptyFile },
  { name: 'public request form', as: 'anonymous', path: '/request?title=label+printer+offline' },
  { name: 'public request sent', as: 'anonymous', status: 201, open: sendRequest },
  { name: 'public request sent with a screenshot', as: 'anonymous', status: 201, open: sendRequestWithScreenshot },
  { name: 'public request, refused (an empty file)', as: 'anonymous', status: 422, open: sendRequestWithEmptyFile },
  { name: 'public help', as: 'anonymous', path: '/help?q=label+printer' },
  { name: 'public help article', as: 'anonymous', path: (f) => `/help/${f.publicArticleId}` },
];

/** An admin adds an organization: its page (with its domain, its people and tickets: none yet). */
/** A run book written and published through its form (a value to record, then a fix). */
async function addRunbook(page: Page): Promise<Response> {
  await goto(page, '/runbooks/new');
  await page.locator('form input[name=title]').fill('Printer queue stuck');
  await page.locator('form input[name=keywords]').fill('printer, spooler, queue');
  await page.locator('form input[name=s0_title]').fill('Count the jobs waiting');
  await page.locator('form textarea[name=s0_instructions]').fill('Open **Devices and printers**, then the queue.');
  await page.locator('form select[name=s0_checkKind]').selectOption('VALUE');
  await page.locator('form input[name=s0_checkLabel]').fill('Jobs waiting');
  await page.locator('form input[name=s1_title]').fill('Restart the spooler');
  await page.locator('form input[name=s1_isFix]').check();
  return navigate(page, () => page.getByRole('button', { name: 'Save and publish' }).click());
}

/** The new run book form sent with a step that records a value but does not say which: 422. */
async function submitBadRunbook(page: Page): Promise<Response> {
  await goto(page, '/runbooks/new');
  await page.locator('form input[name=title]').fill('Half a run book');
  await page.locator('form input[name=s0_title]').fill('Check something');
  await page.locator('form select[name=s0_checkKind]').selectOption('VALUE');
  return navigate(page, () => page.getByRole('button', { name: 'Save as draft' }).click(), 422);
}

/** The fixture ticket with the run book attached: its checklist and the next step's form. */
async function attachRunbookToTicket(page: Page, f: Fixtures): Promise<Response> {
  await goto(page, `/tickets/${f.reference}`);
  await page.getByLabel('Attach a run book').selectOption({ label: 'Printer queue stuck' });
  return navigate(page, () => page.locator('#runbooks form.row').getByRole('button', { name: 'Attach' }).click());
}

async function addOrganization(page: Page): Promise<Response> {
  await goto(page, '/organizations/new');
  await page.locator('form input[name=name]').fill('Okafor Logistics');
  await page.locator('form textarea[name=domains]').fill('okafor-logistics.example');
  await page.locator('form textarea[name=contract]').fill('Gold, 8-18 weekdays.');
  return navigate(page, () => page.getByRole('button', { name: 'Add the organization' }).click());
}

/** The status form filled in with the fixture ticket's reference and its customer's email. */
async function lookUpTicket(page: Page, f: Fixtures, email = 'amara.okafor@example.com', expected = 200): Promise<Response> {
  await goto(page, '/status');
  await page.getByLabel('Reference number').fill(f.reference.toLowerCase());
  await page.getByLabel('Your email address').fill(email);
  return navigate(page, () => page.getByRole('button', { name: 'Show the ticket' }).click(), expected);
}
function lookUpWrongTicket(page: Page, f: Fixtures): Promise<Response> {
  return lookUpTicket(page, f, 'someone.else@example.com', 404);
}

/** The private link opened and its "Show my request" button pressed: the ticket's page. */
async function confirmAccessLink(page: Page, f: Fixtures): Promise<Response> {
  await goto(page, `/s/${f.accessToken}`);
  return navigate(page, () => page.getByRole('button', { name: 'Show my request' }).click(), 200);
}

// A 1×1 PNG, and a log: what customers attach.
const LOG = Buffer.from('2026-12-04 10:00:01 ERROR label printer offline\n');
type PickedFile = { name: string; mimeType: string; buffer: Buffer };

/** The private link's page with a reply sent from it, with `files` (the page it comes back to). */
async function reply(page: Page, f: Fixtures, files: PickedFile[], expected: number): Promise<Response> {
  await goto(page, `/s/${f.accessToken}`);
  if (await page.getByRole('button', { name: 'Show my request' }).count()) {
    await navigate(page, () => page.getByRole('button', { name: 'Show my request' }).click());
  }
  await page.getByLabel('Add a reply').fill('The printer log and a photo of its display.');
  await page.getByLabel('Attach files').setInputFiles(files);
  return navigate(page, () => page.getByRole('button', { name: 'Send reply' }).click(), expected);
}
function replyWithFiles(page: Page, f: Fixtures): Promise<Response> {
  return reply(page, f, [{ name: 'display.png', mimeType: 'image/png', buffer: PNG }, { name: 'printer.log', mimeType: 'text/plain', buffer: LOG }], 200);
}
function replyWithEmptyFile(page: Page, f: Fixtures): Promise<Response> {
  return reply(page, f, [{ name: 'empty.log', mimeType: 'text/plain', buffer: Buffer.alloc(0) }], 422);
}

/** The public request form, filled in and sent: the page with the new reference. */
async function sendRequest(page: Page, _f?: Fixtures, files: PickedFile[] = [], expected = 201): Promise<Response> {
  await goto(page, '/request');
  await page.getByLabel('Your name').fill('Noor Haddad');
  await page.getByLabel('Your email address').fill('noor.haddad@example.com');
  await page.getByLabel('Summary').fill('Badge printer prints blank cards');
  await page.getByLabel('What happens').fill('Every card comes out blank since the update.');
  if (files.length) await page.getByLabel('Attach files').setInputFiles(files);
  return navigate(page, () => page.getByRole('button', { name: 'Send the request' }).click(), expected);
}
function sendRequestWithScreenshot(page: Page, f: Fixtures): Promise<Response> {
  return sendRequest(page, f, [{ name: 'blank card.png', mimeType: 'image/png', buffer: PNG }]);
}
function sendRequestWithEmptyFile(page: Page, f: Fixtures): Promise<Response> {
  return sendRequest(page, f, [{ name: 'empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) }], 422);
}

/** The new-ticket form sent empty (the browser's own checks switched off): the server's 422 page. */
async function submitEmptyNewTicket(page: Page): Promise<Response> {
  await goto(page, '/tickets/new');
  await page.locator('form[action="/tickets"]').evaluate((form) => form.setAttribute('novalidate', ''));
  return navigate(page, () => page.getByRole('button', { name: 'Create ticket' }).click(), 422);
}

/** A stale urgency form sent after someone else changed the ticket in another tab: the 409 page. */
async function openConflictPage(page: Page, f: Fixtures): Promise<Response> {
  await goto(page, `/tickets/${f.reference}`);
  const other = await page.context().newPage();
  try {
    await goto(other, `/tickets/${f.reference}`);
    const urgency = other.getByLabel('Set urgency to');
    await urgency.selectOption((await urgency.inputValue()) === 'LOW' ? 'NONE' : 'LOW');
    await navigate(other, () => other.getByRole('button', { name: 'Change urgency' }).click());
  } finally {
    await other.close();
  }
  await page.getByLabel('Set urgency to').selectOption({ label: 'High' });
  return navigate(page, () => page.getByRole('button', { name: 'Change urgency' }).click(), 409);
}

let browser: Browser;
let admin: BrowserContext;
let anonymous: BrowserContext;
const fx = {} as Fixtures;

/** The number at the end of the link `locator` points to. */
async function idFrom(page: Page, selector: string): Promise<number> {
  const href = await page.locator(selector).first().getAttribute('href');
  const id = Number(/\/(\d+)$/.exec(href ?? '')?.[1]);
  if (!id) throw new Error(`No id in ${selector} (${href}) on ${page.url()}`);
  return id;
}

beforeAll(async () => {
  browser = await launchBrowser();
  anonymous = await newContext(browser, baseUrl);
  admin = await newContext(browser, baseUrl);
  const page = await admin.newPage();
  await signIn(page, ADMIN);

  fx.reference = await createTicket(baseUrl, ADMIN, {
    customerName: 'Amara Okafor',
    customerEmail: 'amara.okafor@example.com',
    customerPhone: '+234 1 555 0100',
    title: 'Accessibility audit: label printer offline',
    description: 'The label printer shows as offline on every workstation.',
  });

  // An article, written as the admin.
  await goto(page, '/articles/new');
  await page.getByLabel('Title').fill('Label printer shows offline');
  await page.getByLabel('Text (Markdown)').fill('# Check the queue\n\n1. Open **Printers**\n2. Remove stale jobs\n\n`lpstat -p` lists them.');
  await page.getByLabel('Category').fill('Printing');
  await navigate(page, () => page.getByRole('button', { name: /Save/ }).click());
  fx.articleId = Number(/\/articles\/(\d+)$/.exec(new URL(page.url()).pathname)?.[1]);
  expect(fx.articleId).toBeGreaterThan(0);

  // A public article for the help centre (staff and customers), published.
  await goto(page, '/articles/new');
  await page.getByLabel('Title').fill('Label printer offline: what you can try');
  await page.getByLabel('Text (Markdown)').fill('Switch the printer off and on, then print a test label.');
  await page.getByLabel('Who can read it').selectOption('PUBLIC');
  await navigate(page, () => page.getByRole('button', { name: /Save/ }).click());
  fx.publicArticleId = Number(/\/articles\/(\d+)$/.exec(new URL(page.url()).pathname)?.[1]);
  await navigate(page, () => page.getByRole('button', { name: 'Publish' }).click());
  fx.accessToken = await accessTokenFor(fx.reference);

  await goto(page, '/customers?q=amara.okafor%40example.com');
  fx.customerId = await idFrom(page, 'table a[href^="/customers/"]');
  await goto(page, '/admin/users');
  fx.userId = await idFrom(page, 'table a[href^="/admin/users/"]');
  await page.close();
});

afterAll(async () => {
  await browser?.close();
});

describe('the audit itself', () => {
  it('reports a serious violation readably (so a clean result means something)', async () => {
    const page = await anonymous.newPage();
    await page.setContent('<!doctype html><html lang="en"><head><title>t</title></head><body><main><img src="data:,"><input type="text"></main></body></html>');
    const error = await expectAccessible(page, 'a broken test page', false).then(
      () => null,
      (e: unknown) => e as Error,
    );
    await page.close();
    expect(error?.message).toMatch(/\[critical\] image-alt: Images must have alternative text/);
    expect(error?.message).toMatch(/\[critical\] label: Form elements must have labels/);
    expect(error?.message).toContain('at img');
  });
});

describe('every page has no serious or critical accessibility violation', () => {
  it.each(PAGES)('$name', async (entry) => {
    const context = entry.as === 'anonymous' ? anonymous : admin;
    const page = await context.newPage();
    try {
      const res = entry.open
        ? await entry.open(page, fx)
        : await goto(page, typeof entry.path === 'function' ? entry.path(fx) : entry.path!, null);
      expect(res.status(), `status of ${entry.name} (${page.url()})`).toBe(entry.status ?? 200);
      if (entry.as !== 'anonymous') expect(new URL(page.url()).pathname, 'still signed in').not.toBe('/login');
      await screenshot(page, `pages--${entry.name}`);
      await expectAccessible(page, entry.name);
    } finally {
      await page.close();
    }
  });
});
