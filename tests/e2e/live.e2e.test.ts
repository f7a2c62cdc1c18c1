// Scenario: two technicians have the same ticket open, in two browser contexts. Each sees the
// other on the page; while one writes a note, the other sees "… is writing an internal note…";
// the note and a change of urgency appear on the other's page without a reload, and what the
// other was typing meanwhile stays where it was. A form they had started (a different urgency
// chosen) is not replaced: a banner offers the latest instead. The app runs as `npm start` runs
// it, on the embedded database: the changes reach the page through the feed's polling.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTicket, createUsers, goto, launchBrowser, navigate, newContext, Scenario, signIn, text } from './support.js';

const { baseUrl } = inject('e2e');
const LIV = { name: 'Liv Watcher', email: 'liv.live@caseboard.test', password: 'liv-live-password-1' };
const MOE = { name: 'Moe Writer', email: 'moe.live@caseboard.test', password: 'moe-live-password-1' };
const NOTE = 'Checked the mail server logs: the relay refuses the attachment size.';
const DRAFT = 'Dear customer, we are looking into';

let browser: Browser;
let reference: string;

beforeAll(async () => {
  browser = await launchBrowser();
  await createUsers(baseUrl, [LIV, MOE]);
  reference = await createTicket(baseUrl, LIV, {
    customerName: 'Ines Okafor',
    customerEmail: 'ines.okafor@example.com',
    title: 'Large attachments bounce',
    description: 'Mails with attachments over 10 MB come back as undeliverable.',
  });
});

afterAll(async () => {
  await browser?.close();
});

describe('a ticket page open in two browsers', () => {
  it('shows who else is there and what they write, and their changes without a reload, keeping what is typed', async () => {
    const sc = new Scenario('live');
    const liv = await sc.open(await newContext(browser, baseUrl));
    const moe = await sc.open(await newContext(browser, baseUrl));
    await signIn(liv, LIV, (step) => sc.check(liv, `liv-${step}`));
    await sc.check(liv, 'liv-queue');
    await signIn(moe, MOE, (step) => sc.check(moe, `moe-${step}`));
    await sc.check(moe, 'moe-queue');

    await goto(liv, `/tickets/${reference}`);
    await sc.check(liv, 'liv-ticket');
    await goto(moe, `/tickets/${reference}`);
    await sc.check(moe, 'moe-ticket');

    // Each sees the other (never themself).
    await expect.poll(() => text(liv.locator('#presence')), { timeout: 10_000 }).toBe(`Also viewing: ${MOE.name}.`);
    await expect.poll(() => text(moe.locator('#presence')), { timeout: 10_000 }).toBe(`Also viewing: ${LIV.name}.`);

    // Liv starts a reply; the page must not be reloaded from here on (a marker would be lost).
    await liv.evaluate('window.stillHere = true');
    await liv.getByRole('textbox', { name: 'Your reply' }).fill(DRAFT);

    // Moe writes a note: Liv sees it being written, then the note itself.
    await moe.getByRole('textbox', { name: 'What was done or found' }).pressSequentially('Checked the mail ', { delay: 20 });
    await expect.poll(() => text(liv.locator('#presence')), { timeout: 10_000 }).toContain(`${MOE.name} is writing an internal note…`);
    await moe.getByRole('textbox', { name: 'What was done or found' }).fill(NOTE);
    await navigate(moe, () => moe.getByRole('button', { name: 'Add to work log (internal)' }).click());
    await sc.check(moe, 'moe-note-added');

    await expect.poll(() => text(liv.locator('#worklog ol.worklog')), { timeout: 10_000 }).toContain(NOTE);
    await expect.poll(() => text(liv.locator('#live-banner')), { timeout: 10_000 }).toContain('1 new entry');
    expect(await text(liv.locator('#presence'))).not.toContain('is writing');
    expect(await liv.getByRole('textbox', { name: 'Your reply' }).inputValue()).toBe(DRAFT);
    expect(await liv.evaluate('window.stillHere')).toBe(true);
    await sc.check(liv, 'liv-sees-the-note');

    // Liv picks another urgency but has not sent it; Moe changes the urgency meanwhile. Liv's
    // header shows the new urgency at once; her started form keeps its version, and a banner
    // offers the latest.
    const livVersion = await liv.locator('#urgency input[name=version]').inputValue();
    await liv.getByLabel('Set urgency to').selectOption('LOW');
    await moe.getByLabel('Set urgency to').selectOption('HIGH');
    await navigate(moe, () => moe.getByRole('button', { name: 'Change urgency' }).click());
    await sc.check(moe, 'moe-urgency-high');
    await expect.poll(() => text(liv.locator('.ticket-head [title=Urgency]')), { timeout: 10_000 }).toBe('High');
    await expect.poll(() => text(liv.locator('#live-banner')), { timeout: 10_000 }).toContain('This ticket changed');
    expect(await liv.locator('#urgency input[name=version]').inputValue()).toBe(livVersion);
    expect(await liv.getByLabel('Set urgency to').inputValue()).toBe('LOW');
    expect(await liv.getByRole('textbox', { name: 'Your reply' }).inputValue()).toBe(DRAFT);
    expect(await liv.evaluate('window.stillHere')).toBe(true);
    await sc.check(liv, 'liv-banner');

    // Moe leaves: Liv sees nobody else.
    await moe.close();
    await expect.poll(() => liv.locator('#presence').isHidden(), { timeout: 10_000 }).toBe(true);

    // Without JavaScript the page is as it was: no presence shown, none announced, forms work.
    // (Not audited: axe runs as a script. The same pages were audited above.)
    const plain = await (await newContext(browser, baseUrl, { javaScriptEnabled: false })).newPage();
    await signIn(plain, MOE);
    await goto(plain, `/tickets/${reference}`);
    expect(await plain.locator('#presence').isHidden()).toBe(true);
    expect(await plain.getByRole('button', { name: /Keyboard shortcuts/ }).count()).toBe(0);
    await plain.getByRole('textbox', { name: 'What was done or found' }).fill('Raised the relay limit to 25 MB.');
    await navigate(plain, () => plain.getByRole('button', { name: 'Add to work log (internal)' }).click());
    expect(await text(plain.locator('#worklog ol.worklog'))).toContain('Raised the relay limit to 25 MB.');
    // Liv gets the note live, and still sees nobody else (a page without the script is not counted).
    await expect.poll(() => text(liv.locator('#worklog ol.worklog')), { timeout: 10_000 }).toContain('Raised the relay limit to 25 MB.');
    expect(await liv.locator('#presence').isHidden()).toBe(true);
    sc.finish();
  });
});
