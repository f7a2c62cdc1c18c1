// Scenario: a team at work. An admin sets up the Network team (two technicians, automatic
// assignment, its own mail address); a customer's mail is assigned to one of them, who is told
// in the app and by mail; she mentions her colleague in a note; she sees him on the ticket page
// live; the admin hands the ticket to him from the queue (bulk) while she is changing the urgency
// on her older page, which merges cleanly. Every page is audited (axe) and photographed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN, createUsers, goto, launchBrowser, navigate, newContext, Scenario, signIn, text } from './support.js';

const { baseUrl, mailDir, inboundPort } = inject('e2e');
const NORA = { name: 'Nora Netops', email: 'nora.netops@caseboard.test', password: 'nora-netops-password-1' };
const OMAR = { name: 'Omar Netops', email: 'omar.netops@caseboard.test', password: 'omar-netops-password-1' };
const TEAM_ADDRESS = 'network@support.caseboard.test';

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
  await createUsers(baseUrl, [NORA, OMAR]);
});

afterAll(async () => {
  await browser?.close();
});

/** A customer's mail, delivered to the team's address over SMTP as a mail server would. */
async function customerMail(subject: string, body: string): Promise<void> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: inboundPort, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({
      envelope: { from: 'vera.customer@example.org', to: [TEAM_ADDRESS] },
      from: 'Vera Customer <vera.customer@example.org>',
      to: TEAM_ADDRESS,
      subject,
      text: body,
    });
  } finally {
    transport.close();
  }
}

/** Waits for a mail to `to` whose text matches, in the app's mail folder (.eml files). */
async function waitForMail(to: string, match: RegExp, timeoutMs: number): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    for (const name of existsSync(mailDir) ? readdirSync(mailDir) : []) {
      const raw = readFileSync(join(mailDir, name), 'utf8').replace(/=\r?\n/g, '');
      if (new RegExp(`^To:.*${to.replace(/[.]/g, '\\.')}`, 'mi').test(raw) && match.test(raw)) return raw;
    }
    if (Date.now() > end) throw new Error(`No mail to ${to} matching ${match} in ${mailDir}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The ticket page's reference of the newest ticket with this title, from the queue. */
async function findTicket(page: Page, title: string, check: (step: string) => Promise<void>): Promise<string> {
  const end = Date.now() + 20_000;
  for (;;) {
    await goto(page, `/tickets?q=${encodeURIComponent(title)}&status=all`);
    await check('search');
    const link = page.getByRole('link', { name: title }).first();
    if (await link.count()) {
      const href = (await link.getAttribute('href')) ?? '';
      return /\/tickets\/(CB-[0-9A-Z]{7})/.exec(href)![1]!;
    }
    if (Date.now() > end) throw new Error(`No ticket titled ${title}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('a team at work', () => {
  it('sets up a team, routes and assigns a mail, notifies, mentions, and merges a stale form', async () => {
    const sc = new Scenario('team');
    const admin = await sc.open(await newContext(browser, baseUrl));
    await signIn(admin, ADMIN, (step) => sc.check(admin, `admin-${step}`));
    await sc.check(admin, 'admin-queue');

    // Admin → Teams → New team: Network, round robin, its own address.
    await navigate(admin, () => admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Teams' }).click());
    await sc.check(admin, 'teams');
    await navigate(admin, () => admin.getByRole('link', { name: 'New team' }).click());
    await sc.check(admin, 'new-team');
    await admin.getByLabel('Name').fill('Network');
    await admin.getByLabel('Mail address').fill(TEAM_ADDRESS);
    await admin.getByLabel('Automatic assignment').selectOption('ROUND_ROBIN');
    await admin.getByLabel('Cap of open tickets per person').fill('20');
    await navigate(admin, () => admin.getByRole('button', { name: 'Create team' }).click());
    await sc.check(admin, 'team-created');
    expect(await text(admin.locator('[role=status]'))).toContain('Team created.');
    for (const person of [NORA, OMAR]) {
      await admin.getByLabel('Person', { exact: true }).selectOption({ label: person.name });
      await navigate(admin, () => admin.getByRole('button', { name: 'Add', exact: true }).click());
      await sc.check(admin, `member-${person.name.split(' ')[0]!.toLowerCase()}`);
    }
    const members = await text(admin.getByRole('table'));
    expect(members).toContain(NORA.name);
    expect(members).toContain(OMAR.name);

    // Omar is away: the next mail goes to Nora.
    const omar = await sc.open(await newContext(browser, baseUrl));
    await signIn(omar, OMAR, (step) => sc.check(omar, `omar-${step}`));
    await sc.check(omar, 'omar-queue');
    await goto(omar, admin.url().replace(baseUrl, ''));
    await sc.check(omar, 'omar-team-page');
    await navigate(omar, () => omar.getByRole('button', { name: /Mark away/ }).click());
    await sc.check(omar, 'omar-away');
    expect(await text(omar.getByRole('row', { name: new RegExp(OMAR.name) }))).toContain('Away');

    // A customer writes to the team's address: a Network ticket, given to Nora by the rule.
    const subject = 'VPN tunnel drops every 20 minutes at the Lyon office';
    await customerMail(subject, 'Since Monday our site-to-site VPN drops every 20 minutes. Firewall: FortiGate 60F, FortiOS 7.2.8.');
    const nora = await sc.open(await newContext(browser, baseUrl));
    await signIn(nora, NORA, (step) => sc.check(nora, `nora-${step}`));
    await sc.check(nora, 'nora-queue');
    const reference = await findTicket(nora, subject, (step) => sc.check(nora, `nora-${step}`));
    await goto(nora, `/tickets/${reference}`);
    await sc.check(nora, 'nora-ticket');
    expect(await text(nora.locator('.ticket-head .meta'))).toContain(`Owner: ${NORA.name}`);
    expect(await text(nora.locator('.ticket-head .meta'))).toContain('Team: Network');
    expect(await text(nora.locator('#history'))).toContain('Automatic assignment (rule)');

    // Nora is told in the app: the header counts it, the inbox lists it (opened later: a notice
    // read in the app before its digest goes out is not mailed).
    await goto(nora, '/tickets');
    await sc.check(nora, 'nora-queue-with-notice');
    expect(await text(nora.locator('.nav-notifications'))).toMatch(/Notifications\s*\d+/);
    await navigate(nora, () => nora.locator('.nav-notifications').click());
    await sc.check(nora, 'nora-inbox');
    expect(await text(nora.getByRole('link', { name: new RegExp(reference) }).first())).toContain(subject);

    // Her mail preferences page.
    await goto(nora, '/profile/notifications');
    await sc.check(nora, 'nora-notification-preferences');

    // Omar is back; Nora mentions him in a note: he is told, and now follows the ticket.
    await goto(omar, admin.url().replace(baseUrl, ''));
    await sc.check(omar, 'omar-team-page-again');
    await navigate(omar, () => omar.getByRole('button', { name: /Mark available/ }).click());
    await sc.check(omar, 'omar-available');
    await goto(nora, `/tickets/${reference}`);
    await sc.check(nora, 'nora-ticket-again');
    await nora.locator('#add-worklog textarea[name=body]').fill('Tunnel logs attached to the firewall case. @omar.netops can you check the IKE lifetimes on the hub?');
    await navigate(nora, () => nora.locator('#add-worklog button[type=submit]').click());
    await sc.check(nora, 'nora-note-with-mention');
    await goto(omar, '/notifications');
    await sc.check(omar, 'omar-inbox');
    expect(await text(omar.locator('main'))).toContain('mentioned you');

    // Live presence: Omar opens the ticket; Nora's page (open in her browser) shows him, without a reload.
    await goto(nora, `/tickets/${reference}`);
    await sc.check(nora, 'nora-ticket-before-presence');
    await goto(omar, `/tickets/${reference}`);
    await sc.check(omar, 'omar-ticket');
    await expect.poll(async () => (await nora.locator('#presence').isVisible()) && (await text(nora.locator('#presence'))), { timeout: 15_000 }).toContain(OMAR.name);
    await sc.check(nora, 'nora-sees-omar');

    // A per-field merge: Nora starts raising the urgency; meanwhile the admin hands the ticket to
    // Omar from the queue (a bulk reassignment); Nora's change, from the older page, goes through
    // and keeps Omar as the owner.
    await nora.locator('#urgency select').selectOption('HIGH');
    await goto(admin, `/tickets?status=all&q=${reference}`);
    await sc.check(admin, 'admin-queue-for-bulk');
    await admin.getByRole('checkbox', { name: `Select ${reference}` }).check();
    await admin.locator('#b-assignee').selectOption({ label: OMAR.name });
    await navigate(admin, () => admin.getByRole('button', { name: 'Assign', exact: true }).click());
    await sc.check(admin, 'bulk-result');
    expect(await text(admin.locator('main'))).toContain('1 changed');
    await expect.poll(async () => (await nora.locator('#live-banner').isVisible()) && (await text(nora.locator('#live-banner'))), { timeout: 15_000 }).toContain('changed');
    await sc.check(nora, 'nora-banner');
    await navigate(nora, () => nora.locator('#urgency button[type=submit]').click());
    await sc.check(nora, 'nora-urgency-merged');
    const head = await text(nora.locator('.ticket-head'));
    expect(head).toContain(`Owner: ${OMAR.name}`);
    expect(head).toContain('High');
    expect(await text(nora.locator('#history'))).toContain('changed urgency from Normal to High');

    // And by mail: Nora's digest of what happened to her ticket (a minute after the first notice).
    const mail = await waitForMail(NORA.email, new RegExp(reference), 120_000);
    expect(mail).toContain(subject);
    // Then she opens the notice from her inbox: it leads to the ticket and is read.
    await goto(nora, '/notifications');
    await sc.check(nora, 'nora-inbox-later');
    const notice = nora.getByRole('link', { name: new RegExp(reference) }).last();
    await navigate(nora, () => notice.locator('.ref').click());
    expect(new URL(nora.url()).pathname).toBe(`/tickets/${reference}`);
    await sc.check(nora, 'nora-from-inbox');

    sc.finish();
  }, 240_000);
});
