// Scenario: a technician opens their profile from the top bar, chooses a time zone and the dark
// theme; the pages then show times in that zone and are dark (axe, colour contrast included, on
// each), the work-log kinds and the internal resolution note stay distinct. An explicit light
// choice wins over a dark system setting; "follow the system" follows it; customer pages follow
// the system too.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createUsers, FormSession, goto, launchBrowser, navigate, newContext, Scenario, signIn, text } from './support.js';

const { baseUrl } = inject('e2e');
const TECH = { name: 'Dara Nightshift', email: 'dara.nightshift@caseboard.test', password: 'dara-first-password-1' };

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

/** The page's background colour as the browser computed it. */
const background = (page: Page) => page.evaluate('getComputedStyle(document.documentElement).backgroundColor');
const LIGHT_BG = 'rgb(243, 244, 247)';
const DARK_BG = 'rgb(15, 19, 26)';

async function choose(page: Page, zone: string, theme: 'Follow the system' | 'Light' | 'Dark') {
  await page.locator('select[name=timeZone]').selectOption(zone);
  await page.getByRole('radio', { name: theme, exact: true }).check();
  await navigate(page, () => page.getByRole('button', { name: 'Save' }).click());
  expect(new URL(page.url()).search).toBe('?done=profile-preferences');
}

describe('profile: time zone and theme', () => {
  it('a technician chooses a zone and the dark theme; the pages follow, and stay accessible', async () => {
    await createUsers(baseUrl, [TECH]);
    // A ticket with one entry of each kind, for the dark work log.
    const session = await FormSession.signIn(baseUrl, TECH);
    const reference = await session.createTicket({
      customerName: 'Noor Customer',
      customerEmail: 'noor.customer@example.test',
      title: 'Screen flickers after the docking station update',
      description: 'Both monitors flicker every few seconds since Monday.',
      urgency: 'High',
    });
    const page = `/tickets/${reference}`;
    await session.post(page, `${page}/worklog`, { kind: 'NOTE', body: 'Customer uses the older dock (model 2).' });
    await session.post(page, `${page}/worklog`, { kind: 'ATTEMPTED_FIX', body: 'Rolled the dock firmware back.', outcome: 'PARTIAL' });
    await session.post(page, `${page}/worklog`, { kind: 'REPLY', body: 'Could you try another cable while we look?' });
    await session.close();

    const sc = new Scenario('profile');
    const tech = await sc.open(await newContext(browser, baseUrl));
    await signIn(tech, TECH, (step) => sc.check(tech, step));
    await sc.check(tech, 'queue-light');
    expect(await background(tech)).toBe(LIGHT_BG);

    // The name in the top bar leads to the profile.
    await navigate(tech, () => tech.locator('.topbar .who').getByRole('link', { name: TECH.name }).click());
    expect(new URL(tech.url()).pathname).toBe('/profile');
    await sc.check(tech, 'profile');
    expect(await text(tech.locator('main'))).toContain(TECH.email);
    expect(await tech.locator('select[name=timeZone]').inputValue()).toBe('UTC');

    await choose(tech, 'Asia/Calcutta', 'Dark');
    await sc.check(tech, 'profile-dark');
    expect(await tech.locator('html').getAttribute('data-theme')).toBe('dark');
    expect(await background(tech)).toBe(DARK_BG);
    expect(await text(tech.getByRole('status'))).toBe('Settings saved.');
    expect(await text(tech.locator('.page-foot'))).toContain('Asia/Calcutta (UTC+05:30 now)');
    expect(await tech.getByRole('radio', { name: 'Dark', exact: true }).isChecked()).toBe(true);

    // The ticket page, dark, its times in the zone; then resolved with an internal note.
    await goto(tech, page);
    await sc.check(tech, 'ticket-dark');
    expect(await tech.locator('.meta time').first().getAttribute('title')).toMatch(/UTC\+05:30$/);
    await tech.getByRole('combobox', { name: 'Reason', exact: true }).selectOption({ label: 'Workaround provided' });
    await tech.getByLabel(/^Resolution note/).fill('Use the USB-C cable until the new dock arrives.');
    await tech.getByLabel('Internal resolution note (staff only)').fill('Dock model 2 is on the recall list; order model 3.');
    await navigate(tech, () => tech.getByRole('button', { name: 'Resolve' }).click());
    await sc.check(tech, 'ticket-resolved-dark');
    expect(await text(tech.locator('.internal-resolution'))).toContain('Internal — not visible to the customer');

    await goto(tech, '/tickets?status=all');
    await sc.check(tech, 'queue-dark');

    // On a device set to dark: an explicit Light wins; "follow the system" is dark.
    const dark = await sc.open(await newContext(browser, baseUrl, { colorScheme: 'dark' }));
    await signIn(dark, TECH, (step) => sc.check(dark, `system-dark-${step}`));
    await sc.check(dark, 'system-dark-queue');
    await goto(dark, '/profile');
    await sc.check(dark, 'system-dark-profile');
    await choose(dark, 'Asia/Calcutta', 'Light');
    await sc.check(dark, 'system-dark-chose-light');
    expect(await background(dark)).toBe(LIGHT_BG);
    await choose(dark, 'Asia/Calcutta', 'Follow the system');
    await sc.check(dark, 'system-dark-follows');
    expect(await dark.locator('html').getAttribute('data-theme')).toBeNull();
    expect(await background(dark)).toBe(DARK_BG);

    // Customer pages follow the device too, and their times are in UTC.
    const customer = await sc.open(await newContext(browser, baseUrl, { colorScheme: 'dark' }));
    await goto(customer, '/request');
    await sc.check(customer, 'customer-request-dark');
    expect(await background(customer)).toBe(DARK_BG);

    sc.finish();
  });
});
