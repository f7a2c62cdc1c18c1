// Scenario: an admin writes and publishes a run book; a technician opens a ticket about that kind
// of problem, attaches the suggested run book and works it step by step, through the browser only.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN, createTicket, createUsers, launchBrowser, navigate, newContext, Scenario, signIn, text } from './support.js';

const { baseUrl } = inject('e2e');
const RITA = { name: 'Rita Runbook', email: 'rita.runbook@caseboard.test', password: 'rita-runbook-password-1' };

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
  await createUsers(baseUrl, [RITA]);
});

afterAll(async () => {
  await browser?.close();
});

describe('a run book', () => {
  it('an admin publishes one; a technician attaches the suggested one and works the ticket through it', async () => {
    const sc = new Scenario('runbook');
    const adminContext: BrowserContext = await newContext(browser, baseUrl);
    const page: Page = await sc.open(adminContext);
    const check = (step: string) => sc.check(page, step);

    await signIn(page, ADMIN, check);
    await check('queue');
    await navigate(page, () => page.getByRole('link', { name: 'Run books' }).click());
    await check('run-books');
    await navigate(page, () => page.getByRole('link', { name: 'New run book' }).click());
    await check('new-run-book');
    await page.locator('form input[name=title]').fill('VPN client cannot connect');
    await page.getByLabel('Keywords (comma-separated)').fill('vpn, connect, tunnel');
    const step = (i: number) => page.locator('fieldset.runbook-step-slot').nth(i);
    await step(0).getByLabel('Title').fill('Note the client version');
    await step(0).getByLabel('Instructions (Markdown)').fill('Open **About** in the VPN client.');
    await step(0).getByLabel('Record', { exact: true }).selectOption({ label: 'A value' });
    await step(0).getByLabel('What to record').fill('Client version');
    await step(1).getByLabel('Title').fill('Is the tunnel allowed by the firewall?');
    await step(1).getByLabel('Record', { exact: true }).selectOption({ label: 'Yes or no' });
    await step(1).getByLabel('What to record').fill('Firewall allows the tunnel');
    await step(2).getByLabel('Title').fill('Reinstall the client');
    await step(2).getByLabel(/attempted fix/).check();
    await navigate(page, () => page.getByRole('button', { name: 'Save and publish' }).click());
    await check('published');
    expect(await text(page.locator('h1'))).toBe('VPN client cannot connect');
    expect(await text(page.locator('[role=status]'))).toContain('Version published');

    // A technician logs the call and works it.
    const reference = await createTicket(baseUrl, RITA, {
      customerName: 'Jonas Berg',
      customerEmail: 'jonas.berg@example.com',
      title: 'VPN cannot connect from home',
      description: 'The VPN client says the tunnel cannot be set up since this morning.',
      urgency: 'High',
      channel: 'Phone',
    });
    const techContext = await newContext(browser, baseUrl);
    const tech = await sc.open(techContext);
    const techCheck = (s: string) => sc.check(tech, s);
    await signIn(tech, RITA, techCheck);
    await techCheck('queue');
    await navigate(tech, () => tech.goto(`${baseUrl}/tickets/${reference}`));
    await techCheck('ticket');
    const panel = tech.locator('#runbooks');
    expect(await text(panel)).toContain('Suggested from this ticket’s text');
    await navigate(tech, () => panel.getByRole('button', { name: 'Attach “VPN client cannot connect”' }).click());
    await techCheck('attached');
    expect(await text(panel)).toContain('0 of 3 steps done');

    await panel.getByLabel('Client version').fill('5.2.1');
    await navigate(tech, () => panel.getByRole('button', { name: 'Mark step 1 done' }).click());
    await techCheck('step-1');
    // Step 2 without an answer: the browser itself asks for one (the radio buttons are required).
    expect(await panel.getByRole('radio', { name: 'Yes' }).getAttribute('required')).not.toBeNull();
    await panel.getByRole('radio', { name: 'Yes' }).check();
    await navigate(tech, () => panel.getByRole('button', { name: 'Mark step 2 done' }).click());
    await techCheck('step-2');
    await panel.getByLabel('How did the fix go?').selectOption({ label: 'Solved the problem' });
    await panel.getByLabel('Note (optional)').fill('Reinstalled 5.3.0: connects.');
    await navigate(tech, () => panel.getByRole('button', { name: 'Mark step 3 done' }).click());
    await techCheck('step-3');
    expect(await text(panel)).toContain('3 of 3 steps done');
    expect(await text(panel)).toContain('Client version: 5.2.1');
    expect(await text(panel)).toContain('Firewall allows the tunnel: yes');
    const entry = tech.locator('#worklog .entry').first();
    expect(await text(entry)).toContain(`${RITA.name} tried a fix Solved the problem`);
    expect(await text(entry)).toContain('step 3: Reinstall the client');
    expect(await text(tech.locator('#history'))).toContain('did the run book step VPN client cannot connect — step 3: Reinstall the client');
    sc.finish();
  });
});
