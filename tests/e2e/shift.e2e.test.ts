// Scenario 1: a technician's whole shift on one ticket, through the browser only; then a reply
// with a log file, which the customer gets by mail and reads through their private link.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createUsers, fillNewTicket, launchBrowser, navigate, newContext, Scenario, signIn, text } from './support.js';

const { baseUrl, mailDir } = inject('e2e');
const TESS = { name: 'Tess Shiftworker', email: 'tess.shift@caseboard.test', password: 'tess-shift-password-1' };
const HUGO = { name: 'Hugo Nightshift', email: 'hugo.shift@caseboard.test', password: 'hugo-shift-password-1' };

let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  browser = await launchBrowser();
  await createUsers(baseUrl, [TESS, HUGO]);
  context = await newContext(browser, baseUrl);
});

afterAll(async () => {
  await browser?.close();
});

describe('a technician’s shift', () => {
  it('signs in, logs a phone call, takes it, logs a fix, raises urgency, hands it on, resolves and reopens it', async () => {
    const sc = new Scenario('shift');
    const page: Page = await sc.open(context);
    const check = (step: string) => sc.check(page, step);

    // Sign in: lands on the queue, signed in by name.
    await signIn(page, TESS, check);
    expect(new URL(page.url()).pathname).toBe('/tickets');
    expect(await text(page.locator('.topbar .who'))).toContain(TESS.name);
    await check('queue');

    // A customer calls: log it.
    await navigate(page, () => page.getByRole('link', { name: 'New ticket' }).first().click());
    expect(new URL(page.url()).pathname).toBe('/tickets/new');
    await check('new-ticket');
    const reference = await fillNewTicket(page, {
      customerName: 'Marta Kowalski',
      customerEmail: 'marta.kowalski@example.com',
      customerPhone: '+44 20 7946 0018',
      title: 'Invoices export to PDF with blank pages',
      description: 'Since Monday every invoice exported to PDF has blank pages after the first one.',
      urgency: 'Normal',
      channel: 'Phone',
    });
    await check('ticket-created');
    const head = page.locator('.ticket-head');
    expect(await text(head.locator('h1'))).toBe('Invoices export to PDF with blank pages');
    expect(await text(head.locator('[title=Status]'))).toBe('New');
    expect(await text(head.locator('[title=Urgency]'))).toBe('Normal');
    expect(await text(head)).toContain('Owner: nobody yet');
    expect(await text(head)).toContain(`by ${TESS.name} via Phone`);
    expect(await text(page.locator('#problem-details'))).toContain('marta.kowalski@example.com');

    // Take it.
    await navigate(page, () => page.getByRole('button', { name: 'Take it' }).click());
    await check('taken');
    expect(await text(head)).toContain(`Owner: ${TESS.name}`);
    // A new ticket that somebody takes is open.
    expect(await text(head.locator('[title=Status]'))).toBe('Open');

    // Log an attempted fix that did not help.
    await page.getByRole('combobox', { name: 'Entry', exact: true }).selectOption({ label: 'Attempted fix' });
    await page.getByLabel('Outcome (for a fix)').selectOption({ label: 'Did not help' });
    await page.getByLabel('What was done or found').fill('Cleared the PDF template cache and exported again: still blank pages.');
    await navigate(page, () => page.getByRole('button', { name: 'Add to work log' }).click());
    await check('fix-logged');
    const entry = page.locator('#worklog .entry').first();
    expect(await text(entry)).toContain(`${TESS.name} tried a fix Did not help`);
    expect(await text(entry)).toContain('Cleared the PDF template cache');
    expect(await text(page.getByRole('heading', { name: /Work log/ }))).toBe('Work log (1)');

    // It blocks month-end billing: raise urgency.
    await page.getByLabel('Set urgency to').selectOption({ label: 'High' });
    await navigate(page, () => page.getByRole('button', { name: 'Change urgency' }).click());
    await check('urgency-high');
    expect(await text(head.locator('[title=Urgency]'))).toBe('High');

    // End of shift: hand it on to Hugo.
    await page.getByLabel('Hand to').selectOption({ label: HUGO.name });
    await navigate(page, () => page.getByRole('button', { name: 'Assign' }).click());
    await check('handed-on');
    expect(await text(head)).toContain(`Owner: ${HUGO.name}`);

    // The customer calls back: a workaround solves it for now. Resolve, with a reason.
    await page.getByRole('combobox', { name: 'Reason', exact: true }).selectOption({ label: 'Workaround provided' });
    // The one mailed to the customer (the internal resolution note beside it stays empty).
    await page.getByLabel(/^Resolution note/).fill('Export one invoice at a time until the renderer is fixed.');
    await navigate(page, () => page.getByRole('button', { name: 'Resolve' }).click());
    await check('resolved');
    expect(await text(head.locator('[title=Status]'))).toBe('Resolved');
    expect(await text(page.locator('section.resolution h2'))).toBe('Resolution: Workaround provided');

    // The workaround is not enough: reopen.
    await page.getByLabel('Why (optional)').fill('Customer needs batch export for month end.');
    await navigate(page, () => page.getByRole('button', { name: 'Reopen' }).click());
    await check('reopened');
    expect(await text(head.locator('[title=Status]'))).toBe('Open');
    expect(await text(page.locator('section.resolution h2'))).toBe('Earlier resolution (reopened): Workaround provided');
    expect(await text(head)).toContain(`Owner: ${HUGO.name}`);

    // The history tells the whole shift, in order, with who did it.
    const history = (await page.locator('#history .timeline li > span').allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim());
    const expected = [
      `${TESS.name} created the ticket (Normal urgency, via Phone, for Marta Kowalski)`,
      `${TESS.name} took the ticket`,
      `${TESS.name} changed status from New to Open`,
      `${TESS.name} logged an attempted fix: Did not help`,
      `${TESS.name} changed urgency from Normal to High`,
      `${TESS.name} handed the ticket to ${HUGO.name} (from ${TESS.name})`,
      `${TESS.name} changed status from Open to Resolved`,
      `${TESS.name} changed resolution from — to Workaround provided`,
      `${TESS.name} changed status from Resolved to Open`,
    ];
    for (const line of expected) {
      expect(history.some((h) => h.startsWith(line)), `history has "${line}"; it has:\n${history.join('\n')}`).toBe(true);
    }

    // Back in the queue, the ticket shows its new state.
    await navigate(page, () => page.getByRole('link', { name: 'Queue', exact: true }).click());
    await check('queue-after');
    const row = page.locator('table.tickets tbody tr', { hasText: reference });
    expect(await row.count()).toBe(1);
    const cells = (await row.locator('td').allInnerTexts()).map((s) => s.trim());
    expect(cells.slice(0, 3)).toEqual([reference, 'High', 'Invoices export to PDF with blank pages']);
    expect(cells[4]).toBe('Open');
    expect(cells[5]).toBe(HUGO.name);

    sc.finish();
  });

  it('replies with a log file attached: the customer gets it in the mail and through their private link', async () => {
    const sc = new Scenario('reply-file');
    const staff = await newContext(browser, baseUrl);
    const page: Page = await sc.open(staff);
    const check = (step: string) => sc.check(page, step);
    await signIn(page, TESS, check);
    await check('queue');
    await navigate(page, () => page.getByRole('link', { name: 'New ticket' }).first().click());
    await check('new-ticket');
    const reference = await fillNewTicket(page, {
      customerName: 'Jonas Berg',
      customerEmail: 'jonas.berg@example.com',
      title: 'Nightly export stops at 2 a.m.',
      description: 'The nightly export stops half way; the customer wants to see our side of it.',
    });
    await check('ticket-created');

    // The reply, with the server's log attached through the file field.
    const log = Buffer.from('2026-12-07 02:00:01 export started\n2026-12-07 02:03:17 ERROR disk quota exceeded on /exports\n');
    // The reply has its own form, which names who receives it.
    const replyForm = page.getByRole('form', { name: 'Reply to the customer' });
    await replyForm.getByLabel('Your reply').fill('Our log shows the export stopped when the disk filled up; it is attached.');
    await replyForm.getByLabel('Attach files').setInputFiles({ name: 'export-0207.log', mimeType: 'text/plain', buffer: log });
    await navigate(page, () => replyForm.getByRole('button', { name: 'Send reply to Jonas Berg <jonas.berg@example.com>' }).click());
    await check('reply-with-file');
    const entry = page.locator('#worklog .entry').first();
    expect(await text(entry)).toContain(`${TESS.name} replied to the customer`);
    expect(await text(entry)).toContain('Sent to the customer by mail');
    expect(await text(entry.locator('.files'))).toContain('export-0207.log');

    // The mail carries the file as a real attachment, and the private link.
    const mail = await mailWith(reference, 'export-0207.log');
    const parsed = await simpleParser(mail);
    expect(parsed.attachments.map((a) => [a.filename, a.content.equals(log)])).toEqual([['export-0207.log', true]]);
    const token = /\/s\/([A-Za-z0-9_-]{43})/.exec(parsed.text ?? '')?.[1];
    expect(token, 'the reply mail carries a private link').toBeTruthy();

    // The customer opens it (nobody signed in), confirms, and reads the reply and its file.
    const customerContext = await newContext(browser, baseUrl);
    const customer = await sc.open(customerContext);
    await navigate(customer, () => customer.goto(`${baseUrl}/s/${token}`));
    await sc.check(customer, 'customer-link');
    await navigate(customer, () => customer.getByRole('button', { name: 'Show my request' }).click());
    await sc.check(customer, 'customer-ticket');
    const link = customer.getByRole('link', { name: 'export-0207.log', exact: true });
    expect(await link.count()).toBe(1);
    const download = await customer.request.get(new URL((await link.getAttribute('href'))!, baseUrl).toString());
    expect(download.status()).toBe(200);
    expect((await download.body()).equals(log)).toBe(true);
    sc.finish();
    await staff.close();
    await customerContext.close();
  });
});

/** The raw mail about `reference` that names `fileName` (waits for the mail worker). */
async function mailWith(reference: string, fileName: string): Promise<Buffer> {
  const end = Date.now() + 20_000;
  for (;;) {
    for (const name of existsSync(mailDir) ? readdirSync(mailDir).filter((n) => n.includes(reference)) : []) {
      const raw = readFileSync(join(mailDir, name));
      if (raw.includes(fileName)) return raw;
    }
    if (Date.now() > end) throw new Error(`No mail about ${reference} names ${fileName} in ${mailDir}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
