// Scenario 3: two technicians work on the same ticket at once, in two browser contexts. The
// second one's stale form changes a field the first one changed: it is refused with the conflict
// page, which keeps everything they typed and shows the fields they did not touch as they are
// now, so applying it keeps the first one's change too. A stale form that changes only other
// fields merges without a conflict.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTicket, createUsers, goto, launchBrowser, navigate, newContext, Scenario, signIn, text } from './support.js';

const { baseUrl } = inject('e2e');
const ADA = { name: 'Ada Firstsave', email: 'ada.conflict@caseboard.test', password: 'ada-conflict-password-1' };
const BEN = { name: 'Ben Lateedit', email: 'ben.conflict@caseboard.test', password: 'ben-conflict-password-1' };
const ORIGINAL = 'The VPN client drops the connection every few minutes.';
const BEN_DESCRIPTION = 'The VPN client drops the connection every 5 minutes, only on the office Wi-Fi, never on the cable.';
const BEN_ENVIRONMENT = 'Windows 11 23H2, GlobalProtect 6.2.1, Intel AX211 Wi-Fi';
const BEN_WORKAROUND = 'Use the cable in the meeting rooms until the Wi-Fi driver is updated.';
const ADA_TITLE = 'VPN keeps disconnecting on office Wi-Fi';
const ADA_DESCRIPTION = 'The VPN client drops the connection on the office Wi-Fi; the customer sent a log.';

let browser: Browser;
let reference: string;

beforeAll(async () => {
  browser = await launchBrowser();
  await createUsers(baseUrl, [ADA, BEN]);
  reference = await createTicket(baseUrl, ADA, {
    customerName: 'Olu Bankole',
    customerEmail: 'olu.bankole@example.com',
    title: 'VPN keeps disconnecting',
    description: ORIGINAL,
  });
});

afterAll(async () => {
  await browser?.close();
});

describe('two technicians edit the same ticket at once', () => {
  it('the second one sees what changed, keeps their input, and applies it without undoing the first change', async () => {
    const sc = new Scenario('conflict');
    const ada = await sc.open(await newContext(browser, baseUrl));
    const ben = await sc.open(await newContext(browser, baseUrl));
    await signIn(ada, ADA, (step) => sc.check(ada, `ada-${step}`));
    await sc.check(ada, 'ada-queue');
    await signIn(ben, BEN, (step) => sc.check(ben, `ben-${step}`));
    await sc.check(ben, 'ben-queue');

    // Both open the ticket.
    await goto(ada, `/tickets/${reference}`);
    await sc.check(ada, 'ada-ticket');
    await goto(ben, `/tickets/${reference}`);
    await sc.check(ben, 'ben-ticket');

    // Ben starts editing the details (his form carries the version he opened)...
    await ben.getByText('Edit details').click();
    await ben.getByRole('textbox', { name: 'Description' }).fill(BEN_DESCRIPTION);
    await ben.getByRole('textbox', { name: "Customer's environment" }).fill(BEN_ENVIRONMENT);

    // ...while Ada corrects the title and the description and saves first.
    await ada.getByText('Edit details').click();
    await ada.getByRole('textbox', { name: 'Title' }).fill(ADA_TITLE);
    await ada.getByRole('textbox', { name: 'Description' }).fill(ADA_DESCRIPTION);
    await navigate(ada, () => ada.getByRole('button', { name: 'Save details' }).click());
    await sc.check(ada, 'ada-details-saved');
    // Ben saves: his description meets Ada's (the same field changed meanwhile): the conflict page.
    await navigate(ben, () => ben.getByRole('button', { name: 'Save details' }).click(), 409);
    await sc.check(ben, 'ben-conflict-page');
    expect(await text(ben.getByRole('heading', { level: 1 }))).toBe(`Someone changed ${reference} meanwhile`);
    expect(await text(ben.getByRole('alert'))).toContain('The description of ticket');
    expect(await text(ben.getByRole('alert'))).toContain('Nothing of yours was saved');
    // What changed, and who did it.
    const changed = await text(ben.locator('section', { has: ben.getByRole('heading', { name: 'What changed since you opened the page' }) }));
    expect(changed).toContain(`${ADA.name} changed title from VPN keeps disconnecting to ${ADA_TITLE}`);
    expect(changed).toContain(`${ADA.name} edited the description`);
    // Everything Ben typed is there, ready to apply; the title he did not touch is Ada's.
    expect(await ben.getByRole('textbox', { name: 'Description' }).inputValue()).toBe(BEN_DESCRIPTION);
    expect(await ben.getByRole('textbox', { name: "Customer's environment" }).inputValue()).toBe(BEN_ENVIRONMENT);
    expect(await ben.getByRole('textbox', { name: 'Title' }).inputValue()).toBe(ADA_TITLE);
    // Nothing of Ben's was saved yet: Ada still sees her description.
    await goto(ada, `/tickets/${reference}`);
    await sc.check(ada, 'ada-after-refusal');
    expect(await text(ada.locator('#problem-details .prose').first())).toBe(ADA_DESCRIPTION);
    // Ben applies his change to the current version: his description and environment, Ada's title.
    await navigate(ben, () => ben.getByRole('button', { name: 'Apply my change to the current version' }).click());
    expect(new URL(ben.url()).pathname).toBe(`/tickets/${reference}`);
    await sc.check(ben, 'ben-applied');
    expect(await text(ben.locator('#problem-details .prose').first())).toBe(BEN_DESCRIPTION);
    expect(await text(ben.locator('#problem-details'))).toContain(BEN_ENVIRONMENT);
    expect(await text(ben.locator('.ticket-head h1'))).toBe(ADA_TITLE);

    // A change of another field meanwhile blocks nothing: Ada raises the urgency while Ben, on the
    // page he loaded before it, writes a workaround — it is saved, and Ada's urgency stands.
    await ben.getByText('Edit details').click();
    await ben.getByRole('textbox', { name: 'Workaround' }).fill(BEN_WORKAROUND);
    await goto(ada, `/tickets/${reference}`);
    await sc.check(ada, 'ada-ticket-again');
    await ada.getByLabel('Set urgency to').selectOption({ label: 'Critical' });
    await navigate(ada, () => ada.getByRole('button', { name: 'Change urgency' }).click());
    await sc.check(ada, 'ada-urgency-critical');
    await navigate(ben, () => ben.getByRole('button', { name: 'Save details' }).click());
    await sc.check(ben, 'ben-merged');
    expect(await text(ben.locator('#problem-details'))).toContain(BEN_WORKAROUND);
    expect(await text(ben.locator('.ticket-head [title=Urgency]'))).toBe('Critical');
    expect(await text(ben.locator('.ticket-head h1'))).toBe(ADA_TITLE);
    const history = await text(ben.locator('#history'));
    expect(history).toContain(`${ADA.name} changed urgency from Normal to Critical`);
    expect(history).toContain(`${BEN.name} edited the description`);
    expect(history).toContain(`${BEN.name} wrote the environment`);
    expect(history).toContain(`${BEN.name} wrote the workaround`);
    expect(history).not.toContain(`${BEN.name} changed title`);
    sc.finish();
  });
});
