// Scenario: a technician on a phone makes a personal API token (shown once), a program uses it,
// the token list shows its prefix and last use, and the technician revokes it after a
// confirmation; every page is audited with axe and fits the phone's screen. The API reference
// page is readable on a phone too.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createUsers, expectNoHorizontalOverflow, goto, launchBrowser, navigate, newContext, Scenario, signIn } from './support.js';

const { baseUrl } = inject('e2e');
const TECH = { name: 'Toni Token', email: 'toni.token@caseboard.test', password: 'toni-first-password-1' };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('API tokens on a phone', () => {
  it('made, shown once, used, listed, revoked after a confirmation', async () => {
    await createUsers(baseUrl, [TECH]);
    const sc = new Scenario('api-tokens');
    const page = await sc.open(await newContext(browser, baseUrl, PHONE));
    await signIn(page, TECH, (step) => sc.check(page, step));
    await sc.check(page, 'queue');

    await goto(page, '/profile/tokens');
    await sc.check(page, 'tokens-empty');
    await expectNoHorizontalOverflow(page, 'tokens');
    await page.getByLabel('Name (what it is for)').fill('deploy script');
    await page.getByRole('checkbox', { name: /tickets:read/ }).check();
    await page.getByRole('checkbox', { name: /tickets:write/ }).check();
    await navigate(page, () => page.getByRole('button', { name: 'Create token' }).click(), 201);
    await sc.check(page, 'token-shown');
    await expectNoHorizontalOverflow(page, 'token shown');
    const token = await page.getByLabel('Token', { exact: true }).inputValue();
    expect(token).toMatch(/^cbt_/);

    const res = await fetch(`${baseUrl}/api/v1/tickets`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);

    await goto(page, '/profile/tokens');
    await sc.check(page, 'tokens-listed');
    await expectNoHorizontalOverflow(page, 'tokens listed');
    expect(await page.content()).not.toContain(token);
    await navigate(page, () => page.getByRole('link', { name: /Revoke/ }).first().click());
    await sc.check(page, 'revoke-confirm');
    await navigate(page, () => page.getByRole('button', { name: 'Revoke it' }).click());
    await sc.check(page, 'revoked');
    expect(new URL(page.url()).search).toBe('?done=token-revoked');
    expect((await fetch(`${baseUrl}/api/v1/tickets`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);

    await goto(page, '/api/v1/docs');
    await sc.check(page, 'reference');
    await expectNoHorizontalOverflow(page, 'reference');
    sc.finish();
  });
});
