// Scenario 5: a phone-sized screen (390×844, touch). The queue and the ticket page are usable:
// nothing makes the page wider than the screen, the controls are on screen and work by tapping.
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTicket, createUsers, expectNoHorizontalOverflow, goto, launchBrowser, navigate, newContext, Scenario, signIn, text } from './support.js';

const { baseUrl } = inject('e2e');
const PIA = { name: 'Pia Onthego', email: 'pia.phone@caseboard.test', password: 'pia-phone-password-1' };
// Long words with no place to break are what usually push a phone layout sideways.
const TITLE = 'Outlook error 0x800CCC0E sending through smtp.office365.com:587/STARTTLS from Surface-Pro-9-WS0042';
const CUSTOMER_EMAIL = 'accounts-payable.northern-region@very-long-subsidiary-name.example.com';

let browser: Browser;
let reference: string;

beforeAll(async () => {
  browser = await launchBrowser();
  await createUsers(baseUrl, [PIA]);
  reference = await createTicket(baseUrl, PIA, {
    customerName: 'Jonathan Featherstonehaugh-Montgomery',
    customerEmail: CUSTOMER_EMAIL,
    title: TITLE,
    description: 'Sending fails with 0x800CCC0E since the password change; receiving works. Log: C:\\Users\\jfm\\AppData\\Local\\Microsoft\\Outlook\\Logs\\OPMLog.log',
    urgency: 'Critical',
  });
});

afterAll(async () => {
  await browser?.close();
});

/** The element is laid out inside the screen's width (no sideways scrolling needed to reach it). */
async function expectOnScreen(page: Page, locator: Locator, what: string) {
  const box = await locator.boundingBox();
  expect(box, `${what} is displayed`).not.toBeNull();
  const width = page.viewportSize()!.width;
  expect(box!.x, `${what} starts on screen`).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width, `${what} ends on screen (${width}px)`).toBeLessThanOrEqual(width);
}

describe('on a phone', () => {
  it('the queue and the ticket page fit the screen and work by touch', async () => {
    const sc = new Scenario('phone');
    const context = await newContext(browser, baseUrl, {
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 1, // CSS pixels are what is checked; 1 keeps the full-page screenshots quick
      isMobile: true,
      hasTouch: true,
    });
    const page = await sc.open(context);

    await signIn(page, PIA, async (step) => {
      await sc.check(page, step);
      await expectNoHorizontalOverflow(page, 'sign-in page');
    });
    expect(new URL(page.url()).pathname).toBe('/tickets');
    await sc.check(page, 'queue');
    await expectNoHorizontalOverflow(page, 'queue');

    // The ticket is in the queue, readable, and its link is on screen; tap it.
    const link = page.getByRole('link', { name: TITLE });
    await link.scrollIntoViewIfNeeded();
    await expectOnScreen(page, link, 'the ticket link in the queue');
    await navigate(page, () => link.tap());
    expect(new URL(page.url()).pathname).toBe(`/tickets/${reference}`);
    await sc.check(page, 'ticket');
    await expectNoHorizontalOverflow(page, 'ticket page');
    expect(await text(page.getByRole('heading', { level: 1 }))).toBe(TITLE);

    // The actions are reachable on screen and work by tapping: take it, then add a note.
    const take = page.getByRole('button', { name: 'Take it' });
    await take.scrollIntoViewIfNeeded();
    await expectOnScreen(page, take, '"Take it"');
    await navigate(page, () => take.tap());
    await sc.check(page, 'taken');
    await expectNoHorizontalOverflow(page, 'ticket page after taking it');
    expect(await text(page.locator('.ticket-head'))).toContain(`Owner: ${PIA.name}`);

    const body = page.getByRole('textbox', { name: /What was done or found/ });
    await body.scrollIntoViewIfNeeded();
    await expectOnScreen(page, body, 'the work log text box');
    await body.tap();
    await page.keyboard.type('Called back from the car park: password re-entered in the account settings.');
    const add = page.getByRole('button', { name: 'Add to work log' });
    await expectOnScreen(page, add, '"Add to work log"');
    await navigate(page, () => add.tap());
    await sc.check(page, 'note-added');
    await expectNoHorizontalOverflow(page, 'ticket page with a work log entry');
    expect(await text(page.locator('#worklog'))).toContain('Called back from the car park');

    const urgency = page.getByRole('button', { name: 'Change urgency' });
    await urgency.scrollIntoViewIfNeeded();
    await expectOnScreen(page, urgency, '"Change urgency"');

    // Back to the queue with the navigation bar.
    const queue = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Queue', exact: true });
    await queue.scrollIntoViewIfNeeded();
    await expectOnScreen(page, queue, 'the "Queue" link');
    await navigate(page, () => queue.tap());
    await sc.check(page, 'queue-again');
    await expectNoHorizontalOverflow(page, 'queue');

    // Logging a new ticket works on the phone too.
    const newTicket = page.getByRole('link', { name: 'New ticket' }).first();
    await navigate(page, () => newTicket.tap());
    await sc.check(page, 'new-ticket');
    await expectNoHorizontalOverflow(page, 'new ticket form');

    sc.finish();
  });

  it('a 200-character title without spaces does not make the queue, the ticket or the customer page scroll sideways', async () => {
    // A pasted path or URL: one "word" with nowhere to break.
    const longTitle = ('C:\\Users\\finance-shared\\Q4-reconciliation\\' + 'x'.repeat(200)).slice(0, 200);
    expect(longTitle).toHaveLength(200);
    const longRef = await createTicket(baseUrl, PIA, {
      customerName: 'Wendy Widepath',
      customerEmail: 'wendy.widepath@caseboard.test',
      title: longTitle,
      description: 'The share path in the title is what the customer pasted.',
      urgency: 'Critical', // first in the queue
    });
    const sc = new Scenario('long-title');
    for (const [label, options] of [
      ['desktop', { viewport: { width: 1280, height: 900 } }],
      ['phone', { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true }],
    ] as const) {
      const context = await newContext(browser, baseUrl, options);
      const page = await sc.open(context);
      await signIn(page, PIA, (step) => sc.check(page, `${label}-${step}`));
      await sc.check(page, `${label}-queue`);
      await expectNoHorizontalOverflow(page, `queue (${label})`);
      const link = page.getByRole('link', { name: longTitle });
      await expectOnScreen(page, link, `the long title in the queue (${label})`);

      await navigate(page, () => link.click());
      expect(new URL(page.url()).pathname).toBe(`/tickets/${longRef}`);
      await sc.check(page, `${label}-ticket`);
      await expectNoHorizontalOverflow(page, `ticket page (${label})`);

      await goto(page, '/customers?q=widepath');
      await sc.check(page, `${label}-customers`);
      await navigate(page, () => page.getByRole('link', { name: 'Wendy Widepath' }).first().click());
      expect(new URL(page.url()).pathname).toMatch(/^\/customers\/\d+$/);
      await sc.check(page, `${label}-customer`);
      await expectNoHorizontalOverflow(page, `customer page (${label})`);
      await context.close();
    }
    sc.finish();
  });
});
