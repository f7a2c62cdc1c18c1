// Scenario 4: keyboard only. From the queue, Tab and Enter reach and follow a ticket link; on the
// ticket page, a change is made with the keyboard alone; every element reached shows its focus.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTicket, createUsers, focused, launchBrowser, navigate, newContext, Scenario, screenshot, signIn, tabTo, text } from './support.js';

const { baseUrl } = inject('e2e');
const KAI = { name: 'Kai Keyboard', email: 'kai.keyboard@caseboard.test', password: 'kai-keyboard-password-1' };
const TITLE = 'Keyboard-only check: scanner not detected';

let browser: Browser;
let reference: string;

beforeAll(async () => {
  browser = await launchBrowser();
  await createUsers(baseUrl, [KAI]);
  // Critical, so that it is at the top of the queue (critical first) whatever other scenarios logged.
  reference = await createTicket(baseUrl, KAI, {
    customerName: 'Rosa Delgado',
    customerEmail: 'rosa.delgado@example.com',
    title: TITLE,
    description: 'The document scanner is no longer detected after the last update.',
    urgency: 'Critical',
  });
});

afterAll(async () => {
  await browser?.close();
});

describe('keyboard-only use', () => {
  it('reaches and follows a ticket link from the queue, and changes the urgency, with Tab, arrows and Enter', async () => {
    const sc = new Scenario('keyboard');
    const page = await sc.open(await newContext(browser, baseUrl));
    await signIn(page, KAI, (step) => sc.check(page, step));
    await sc.check(page, 'queue');

    // From the top of the freshly loaded queue: the first Tab shows the skip link; Enter on it moves on to the page's content.
    const skip = await tabTo(page, () => true, 1);
    expect(skip.name).toBe('Skip to content');
    await screenshotFocus(page, 'skip-link');
    await page.keyboard.press('Enter');
    const first = await tabTo(page, () => true, 1);
    expect(first.inMain, `after the skip link, Tab goes into the main content (got ${first.tag} "${first.name}")`).toBe(true);

    // Tab on to the ticket's link and follow it with Enter.
    const link = await tabTo(page, (f) => f.tag === 'a' && f.name === TITLE);
    expect(link.visible).toBe(true);
    await screenshotFocus(page, 'ticket-link');
    await navigate(page, () => page.keyboard.press('Enter'));
    expect(new URL(page.url()).pathname).toBe(`/tickets/${reference}`);
    await sc.check(page, 'ticket');
    expect(await text(page.locator('.ticket-head [title=Urgency]'))).toBe('Critical');

    // Tab to the urgency choice, lower it with the arrow keys, Tab to its button and press Enter.
    const select = await tabTo(page, (f) => f.tag === 'select' && f.id === 'u-urgency');
    expect(select.visible).toBe(true);
    await page.keyboard.press('ArrowDown'); // Critical → High
    expect(await page.getByLabel('Set urgency to').inputValue()).toBe('HIGH');
    const button = await tabTo(page, () => true, 1);
    expect(button).toMatchObject({ tag: 'button', name: 'Change urgency', visible: true });
    await screenshotFocus(page, 'change-urgency-button');
    await navigate(page, () => page.keyboard.press('Enter'));
    await sc.check(page, 'urgency-changed');
    expect(await text(page.locator('.ticket-head [title=Urgency]'))).toBe('High');
    expect(await text(page.locator('#history'))).toContain(`${KAI.name} changed urgency from Critical to High`);

    // Still operable from here: Tab moves on from wherever the page put the focus, visibly.
    const next = await tabTo(page, () => true, 1);
    expect(next.tag).not.toBe('body');

    sc.finish();
  });
});

/** A screenshot of a focused state (the same page, not loaded again: no new audit). */
async function screenshotFocus(page: Page, what: string) {
  expect((await focused(page)).visible).toBe(true);
  await screenshot(page, `keyboard--focus-${what}`);
}
