// Scenario 2: an admin creates a technician and deactivates them; the deactivated user is signed
// out at once and can no longer sign in.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN, goto, launchBrowser, navigate, newContext, Scenario, signIn, text } from './support.js';

const { baseUrl } = inject('e2e');
const NEW_TECH = { name: 'Priya Newhire', email: 'priya.newhire@caseboard.test', password: 'priya-first-password-1' };

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

describe('user administration', () => {
  it('an admin creates a user, who can sign in; once deactivated, their session ends and sign-in is refused', async () => {
    const sc = new Scenario('users');
    const admin = await sc.open(await newContext(browser, baseUrl));
    const tech = await sc.open(await newContext(browser, baseUrl));

    await signIn(admin, ADMIN, (step) => sc.check(admin, `admin-${step}`));
    await sc.check(admin, 'admin-queue');

    // Admin → Users → New user.
    await navigate(admin, () => admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click());
    expect(new URL(admin.url()).pathname).toBe('/admin/users');
    await sc.check(admin, 'users-list');
    await navigate(admin, () => admin.getByRole('link', { name: 'New user' }).click());
    await sc.check(admin, 'new-user-form');
    await admin.getByLabel('Name').fill(NEW_TECH.name);
    await admin.getByLabel('Email').fill(NEW_TECH.email);
    await admin.getByLabel('Role').selectOption({ label: 'Technician' });
    await admin.getByLabel('Password').fill(NEW_TECH.password);
    await navigate(admin, () => admin.getByRole('button', { name: 'Create user' }).click());
    expect(new URL(admin.url()).pathname).toMatch(/^\/admin\/users\/\d+$/);
    await sc.check(admin, 'user-created');
    expect(await text(admin.locator('h1'))).toBe(NEW_TECH.name);
    expect(await admin.getByLabel('Email').inputValue()).toBe(NEW_TECH.email);
    const userUrl = admin.url();

    // The list shows them, active.
    await goto(admin, '/admin/users');
    await sc.check(admin, 'users-list-with-new');
    const row = admin.getByRole('row', { name: new RegExp(NEW_TECH.name) });
    expect(await text(row)).toContain('Technician');
    expect(await text(row)).toContain('Active');

    // The new technician signs in (so what follows is the deactivation's doing) and works.
    await signIn(tech, NEW_TECH, (step) => sc.check(tech, `tech-${step}`));
    expect(new URL(tech.url()).pathname).toBe('/tickets');
    await sc.check(tech, 'tech-queue');
    expect(await text(tech.locator('.topbar .who'))).toContain(NEW_TECH.name);

    // The admin deactivates them.
    await goto(admin, userUrl);
    await sc.check(admin, 'user-page');
    await navigate(admin, () => admin.getByRole('button', { name: 'Deactivate' }).click());
    await sc.check(admin, 'user-deactivated');
    expect(await text(admin.locator('h1'))).toBe(`${NEW_TECH.name} Deactivated`);
    expect(await admin.getByRole('button', { name: 'Reactivate' }).count()).toBe(1);
    await goto(admin, '/admin/users');
    await sc.check(admin, 'users-list-deactivated');
    expect(await text(admin.getByRole('row', { name: new RegExp(NEW_TECH.name) }))).toContain('Deactivated');

    // Their open session ends at once: the next page asks them to sign in.
    await goto(tech, '/tickets');
    expect(new URL(tech.url()).pathname).toBe('/login');
    await sc.check(tech, 'tech-signed-out');

    // And signing in again is refused, with the one answer for every failed sign-in.
    await tech.getByLabel('Email').fill(NEW_TECH.email);
    await tech.getByLabel('Password').fill(NEW_TECH.password);
    await navigate(tech, () => tech.getByRole('button', { name: 'Sign in' }).click(), 401);
    expect(new URL(tech.url()).pathname).toBe('/login');
    await sc.check(tech, 'tech-sign-in-refused');
    expect(await text(tech.getByRole('alert'))).toBe('Wrong email or password.');
    expect(await tech.locator('.topbar .who').count()).toBe(0);

    sc.finish();
  });
});
