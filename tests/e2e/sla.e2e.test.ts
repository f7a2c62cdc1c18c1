// Scenario: working by the clock. An admin sets up office hours (Mon–Fri 08:00–18:00
// Europe/Berlin, Christmas closed) and a policy for critical tickets (first response 30 min,
// resolution 4 h, urgency up on a breach) and a rule that makes checkout failures critical; a
// customer reports one on the web form, the rule makes it critical: the queue in "SLA due first" order shows it with its time left in
// words, the ticket page explains the clock; her reply meets the first response. Every page is audited (axe) and photographed. The policy
// is switched off at the end (the other scenarios' queues have no Due column).
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN, createUsers, goto, launchBrowser, navigate, newContext, Scenario, signIn, text } from './support.js';

const { baseUrl } = inject('e2e');
const SARA = { name: 'Sara Support', email: 'sara.support@caseboard.test', password: 'sara-support-password-1' };

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
  await createUsers(baseUrl, [SARA]);
});

afterAll(async () => {
  await browser?.close();
});

describe('working by the clock', () => {
  it('sets up office hours and a critical policy; the queue and the ticket page show and explain the clock', async () => {
    const sc = new Scenario('sla');
    const admin = await sc.open(await newContext(browser, baseUrl));
    await signIn(admin, ADMIN, (step) => sc.check(admin, `admin-${step}`));
    await sc.check(admin, 'admin-queue');

    // Admin → SLAs → New calendar: office hours in Berlin, and Christmas.
    await navigate(admin, () => admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'SLAs' }).click());
    await sc.check(admin, 'slas-empty');
    await navigate(admin, () => admin.getByRole('link', { name: 'New calendar' }).click());
    await sc.check(admin, 'new-calendar');
    await admin.getByLabel('Name').fill('Berlin office');
    await admin.getByLabel('Time zone').selectOption('Europe/Berlin');
    // The form starts with 08:00-18:00 on weekdays; a typo is refused with the day named.
    await admin.getByLabel('Wednesday').fill('08:00-1800');
    await navigate(admin, () => admin.getByRole('button', { name: 'Create calendar' }).click(), 422);
    await sc.check(admin, 'calendar-refused');
    expect(await text(admin.locator('main'))).toContain('Wednesday:');
    await admin.getByLabel('Wednesday').fill('08:00-18:00');
    await navigate(admin, () => admin.getByRole('button', { name: 'Create calendar' }).click());
    await sc.check(admin, 'calendar-created');
    await admin.locator('#hf-date').fill('2026-12-25');
    await admin.locator('#hf-holidayName').fill('Christmas Day');
    await navigate(admin, () => admin.getByRole('button', { name: 'Add holiday' }).click());
    await sc.check(admin, 'holiday-added');
    expect(await text(admin.locator('#holidays-h').locator('..'))).toContain('2026-12-25 — Christmas Day');

    // A policy for critical tickets.
    await goto(admin, '/sla/policies/new');
    await sc.check(admin, 'new-policy');
    await admin.getByLabel('Name').fill('Critical, office hours');
    await admin.getByLabel('First response, Critical').fill('30m');
    await admin.getByLabel('Resolution, Critical').fill('4h');
    await admin.getByLabel('Business hours').selectOption({ label: 'Berlin office' });
    await admin.getByRole('checkbox', { name: 'Critical' }).check();
    await admin.getByLabel('On a breach, raise the urgency one step').check();
    await navigate(admin, () => admin.getByRole('button', { name: 'Create policy' }).click());
    await sc.check(admin, 'policy-created');
    await goto(admin, '/sla');
    await sc.check(admin, 'slas');
    expect(await text(admin.locator('main'))).toContain('Critical: 30m / — / 4h');

    // A rule: checkout failures are critical the moment they arrive. Tried first (changes nothing), then saved and switched on.
    await goto(admin, '/rules/new');
    await sc.check(admin, 'new-rule');
    await admin.locator('input[name=name]').fill('Checkout failures → Critical');
    await admin.locator('select[name=event]').selectOption('CREATED');
    await admin.locator('select[name=c0_kind]').selectOption('title');
    await admin.locator('input[name=c0_value]').fill('checkout');
    await admin.locator('select[name=a0_kind]').selectOption('setUrgency');
    await admin.locator('textarea[name=a0_value]').fill('Critical');
    await navigate(admin, () => admin.getByRole('button', { name: /Try it/ }).click());
    await sc.check(admin, 'rule-tried');
    await navigate(admin, () => admin.getByRole('button', { name: 'Create rule' }).click());
    await sc.check(admin, 'rule-created');
    await navigate(admin, () => admin.getByRole('button', { name: 'Switch on' }).click());
    await sc.check(admin, 'rule-on');

    // A customer reports a problem; the rule makes it critical.
    const customer = await sc.open(await newContext(browser, baseUrl));
    await goto(customer, '/request');
    await sc.check(customer, 'request-form');
    await customer.getByLabel('Your name').fill('Ines Customer');
    await customer.getByLabel('Your email address').fill('ines.customer@example.org');
    const title = 'Checkout page returns error 502 for every order';
    await customer.getByLabel('Summary').fill(title);
    await customer.getByLabel('What happens').fill('Since 9:00 every order fails at payment with a 502 page.');
    await navigate(customer, () => customer.getByRole('button', { name: 'Send the request' }).click(), 201);
    await sc.check(customer, 'request-sent');

    const sara = await sc.open(await newContext(browser, baseUrl));
    await signIn(sara, SARA, (step) => sc.check(sara, `sara-${step}`));
    await sc.check(sara, 'sara-queue');
    await goto(sara, `/tickets?q=${encodeURIComponent('Checkout 502')}`);
    await sc.check(sara, 'sara-search');
    const href = (await sara.getByRole('link', { name: title }).first().getAttribute('href'))!;
    const reference = /CB-[0-9A-Z]{7}/.exec(href)![0];
    await goto(sara, `/tickets/${reference}`);
    await sc.check(sara, 'ticket-critical');
    expect(await text(sara.locator('#history'))).toMatch(/Checkout failures → Critical[\s\S]*changed urgency from Normal to Critical/);
    const panel = sara.locator('#sla');
    expect(await text(panel)).toContain('Critical, office hours');
    expect(await text(panel)).toMatch(/First response: (Due in|Overdue by)/);
    expect(await text(panel)).toMatch(/Resolution: (Due in|Overdue by)/);
    await panel.locator('summary').first().click();
    await sc.check(sara, 'ticket-clock-explained');
    expect(await text(panel)).toMatch(/counted|outside business hours|holiday/);

    // The queue, due first: the time left in words.
    await goto(sara, '/tickets?sort=due');
    await sc.check(sara, 'queue-due-first');
    const row = sara.getByRole('row', { name: new RegExp(reference) });
    expect(await text(row)).toMatch(/Due in|Overdue by/);

    // Sara answers the customer: the first response is met.
    await goto(sara, `/tickets/${reference}`);
    await sc.check(sara, 'ticket-before-reply');
    await sara.locator('#reply-form textarea[name=body]').fill('We are on it: which payment provider do you use?');
    await navigate(sara, () => sara.locator('#reply-form').getByRole('button', { name: /Send reply/ }).click());
    await sc.check(sara, 'ticket-replied');
    expect(await text(sara.locator('#sla'))).toMatch(/First response: Met by a reply/);

    // The admin switches the policy off again (the other scenarios have no Due column).
    await goto(admin, '/sla');
    await sc.check(admin, 'slas-again');
    await navigate(admin, () => admin.getByRole('link', { name: 'Critical, office hours' }).click());
    await sc.check(admin, 'policy-page');
    await admin.getByLabel('Active').uncheck();
    await navigate(admin, () => admin.getByRole('button', { name: 'Save policy' }).click());
    await sc.check(admin, 'policy-off');
    await goto(admin, '/rules');
    await sc.check(admin, 'rules');
    await navigate(admin, () => admin.getByRole('link', { name: 'Checkout failures → Critical' }).click());
    await sc.check(admin, 'rule-page');
    expect(await text(admin.locator('main'))).toContain(reference);
    await navigate(admin, () => admin.getByRole('button', { name: 'Switch off' }).click());
    await sc.check(admin, 'rule-off');
    sc.finish();
  }, 240_000);
});
