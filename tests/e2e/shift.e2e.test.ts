// Scenario 1: a technician's whole shift on one ticket, through the browser only.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createUsers, fillNewTicket, launchBrowser, navigate, newContext, Scenario, signIn, text } from './support.js';

const { baseUrl } = inject('e2e');
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
    await page.getByLabel('Resolution note').fill('Export one invoice at a time until the renderer is fixed.');
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
      `${TESS.name} logged an attempted fix: Did not help`,
      `${TESS.name} changed urgency from Normal to High`,
      `${TESS.name} handed the ticket to ${HUGO.name} (from ${TESS.name})`,
      `${TESS.name} changed status from New to Resolved`,
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
});
