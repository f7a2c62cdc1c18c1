// Scenario 4: keyboard only. From the queue, Tab and Enter reach and follow a ticket link; on the
// ticket page, a change is made with the keyboard alone; every element reached shows its focus.
// The shortcuts (public/js/keys.js): focus starts where the work is, j/k/o/a and / on the queue,
// r and n on the ticket page, ? for the list (a dialog that Escape closes, focus going back), and
// none of them while typing in a field.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTicket, createUsers, expectAccessible, focused, goto, launchBrowser, navigate, newContext, Scenario, screenshot, signIn, tabTo, text } from './support.js';

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
  // A second ticket, so that the queue has rows to move between.
  await createTicket(baseUrl, KAI, {
    customerName: 'Rosa Delgado',
    customerEmail: 'rosa.delgado@example.com',
    title: 'Keyboard-only check: second monitor flickers',
    description: 'The second monitor flickers after lunch.',
    urgency: 'Low',
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

    // Focus starts where the work is: on the queue's first ticket, visibly.
    const start = await focused(page);
    expect(start).toMatchObject({ tag: 'a', inMain: true, visible: true });
    expect(await page.locator('table.queue tbody tr').first().locator('a').last().textContent()).toBe(start.name);

    // From the top of a freshly loaded page with no starting focus: the first Tab shows the skip link; Enter on it moves on to the page's content.
    await goto(page, '/articles');
    await sc.check(page, 'articles');
    const skip = await tabTo(page, () => true, 1);
    expect(skip.name).toBe('Skip to content');
    await screenshotFocus(page, 'skip-link');
    await page.keyboard.press('Enter');
    const first = await tabTo(page, () => true, 1);
    expect(first.inMain, `after the skip link, Tab goes into the main content (got ${first.tag} "${first.name}")`).toBe(true);

    // Back on the queue, Tab on to the ticket's link and follow it with Enter.
    await goto(page, '/tickets');
    await sc.check(page, 'queue-again');
    const link = (await focused(page)).name === TITLE ? await focused(page) : await tabTo(page, (f) => f.tag === 'a' && f.name === TITLE);
    expect(link.visible).toBe(true);
    await screenshotFocus(page, 'ticket-link');
    await navigate(page, () => page.keyboard.press('Enter'));
    expect(new URL(page.url()).pathname).toBe(`/tickets/${reference}`);
    await sc.check(page, 'ticket');
    expect(await text(page.locator('.ticket-head [title=Urgency]'))).toBe('Critical');
    // Nobody is waiting on an answer (a technician logged it): focus starts on the first action.
    expect(await focused(page)).toMatchObject({ tag: 'button', name: 'Take it', visible: true });

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

  it('works the queue and the ticket page with shortcuts, shown on ? in a dialog, never while typing', async () => {
    const sc = new Scenario('shortcuts');
    const page = await sc.open(await newContext(browser, baseUrl));
    await signIn(page, KAI, (step) => sc.check(page, step));
    await sc.check(page, 'queue');
    const rows = page.locator('table.queue tbody tr');
    const titleOf = (i: number) => rows.nth(i).locator('a').last().textContent();

    // j and k move between the tickets (the current row is highlighted), / goes to the search.
    expect((await focused(page)).name).toBe(await titleOf(0));
    await page.keyboard.press('j');
    expect(await focused(page)).toMatchObject({ name: await titleOf(1), visible: true });
    await expect.poll(() => rows.nth(1).getAttribute('class')).toContain('current');
    await page.keyboard.press('k');
    expect((await focused(page)).name).toBe(await titleOf(0));
    await page.keyboard.press('/');
    expect((await focused(page)).id).toBe('f-q');
    // Typed into the search, j is a letter, not a move.
    await page.keyboard.type('jk');
    expect(await page.locator('#f-q').inputValue()).toBe('jk');
    expect((await focused(page)).id).toBe('f-q');
    await page.locator('#f-q').fill('');

    // ? lists the shortcuts in a dialog; Escape closes it and the focus goes back.
    await page.keyboard.press('Escape'); // a search box keeps its Escape: leave it with Tab instead
    await page.locator('table.queue tbody tr').first().locator('a').last().focus();
    await page.keyboard.press('?');
    const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await text(dialog)).toContain('Take the ticket (assign it to me)');
    await screenshot(page, 'shortcuts--help-dialog');
    await expectAccessible(page, 'shortcuts / help dialog');
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible()).toBe(false);
    expect((await focused(page)).name).toBe(await titleOf(0));

    // a takes the current ticket: move to our unowned one and take it.
    const ours = await rows.evaluateAll((trs, title) => trs.findIndex((tr) => tr.textContent!.includes(title as string)), TITLE);
    expect(ours).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < ours; i++) await page.keyboard.press('j');
    expect((await focused(page)).name).toBe(TITLE);
    await navigate(page, () => page.keyboard.press('a'));
    await sc.check(page, 'taken');
    expect(new URL(page.url()).pathname).toBe(`/tickets/${reference}`);
    expect(await text(page.locator('.ticket-head'))).toContain(`Owner: ${KAI.name}`);

    // On the ticket: r goes to the reply, where letters are letters; Escape leaves it; n goes to the note.
    await page.locator('body').click({ position: { x: 5, y: 5 } }).catch(() => undefined);
    await page.keyboard.press('r');
    expect((await focused(page)).id).toBe('rp-body');
    await page.keyboard.type('n?');
    expect(await page.locator('#rp-body').inputValue()).toBe('n?');
    expect(await page.getByRole('dialog').count()).toBe(0);
    await page.keyboard.press('Escape');
    expect((await focused(page)).tag).toBe('body');
    await page.keyboard.press('n');
    expect((await focused(page)).id).toBe('w-body');
    // Modifier keys are the browser's: Ctrl+n or Alt+r do nothing here.
    await page.keyboard.press('Escape');
    await page.keyboard.press('Alt+r');
    expect((await focused(page)).tag).toBe('body');
    await page.keyboard.press('?');
    await expect.poll(() => page.getByRole('dialog', { name: 'Keyboard shortcuts' }).isVisible()).toBe(true);
    expect(await text(page.getByRole('dialog'))).toContain('Write an internal note');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').isVisible()).toBe(false);

    sc.finish();
  });
});

/** A screenshot of a focused state (the same page, not loaded again: no new audit). */
async function screenshotFocus(page: Page, what: string) {
  expect((await focused(page)).visible).toBe(true);
  await screenshot(page, `keyboard--focus-${what}`);
}
