// Look-alike customer addresses (issue 9, finding 5): a mail from "ann@cust.tеst" (Cyrillic е)
// made a second customer that looked identical in the list, and merging the two would give that
// mailbox the real customer's tickets. Now international addresses show in punycode and marked,
// records whose addresses look alike say so (list, customer page, ticket page), and the merge
// page warns and refuses such a merge without an explicit confirmation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { domainToASCII } from 'node:url';
import nodemailer from 'nodemailer';
import type TestAgent from 'supertest/lib/agent.js';
import { countRows, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { expectRefused, signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import type { InboundSmtp } from '../../src/mail/inbound-smtp.js';
import { startTestInbound } from '../helpers/inbound.js';
import { ValidationError } from '../../src/services/errors.js';
import { mergeCustomers } from '../../src/services/customers/merge-customers.js';
import { lookalikesOf } from '../../src/services/customers/lookalikes.js';
import { updateCustomer } from '../../src/services/customers/update-customer.js';
import { submitWebRequest } from '../../src/services/public/web-request.js';
import { createTicketForCustomer } from '../../src/services/tickets/create-ticket.js';
import { backfillEmailSkeletons } from '../../src/db/backfill-skeletons.js';
import { emailSkeleton } from '../../src/domain/email-address.js';

const E = '\u0435'; // Cyrillic small letter ie: looks like "e"
const SUPPORT = 'support@caseboard.test';

let db: TestDatabase;
let smtp: InboundSmtp;
let app: Express;
let tech: Actor;
let admin: Actor;
let techAgent: TestAgent;
let adminAgent: TestAgent;
let adminCsrf: string;

beforeAll(async () => {
  db = await createTestDatabase();
  smtp = await startTestInbound(db, { INBOUND_MAX_BYTES: 64 * 1024, INBOUND_MAX_NEW_PER_HOUR: 20, MAIL_FROM: `Caseboard Support <${SUPPORT}>` });
  app = testApp(db);
  tech = await buildUser(db, { name: 'Tia Tech' });
  admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
  ({ agent: techAgent } = await signIn(app, tech.email));
  ({ agent: adminAgent, csrf: adminCsrf } = await signIn(app, admin.email));
});
afterAll(async () => {
  await smtp?.stop();
  await db?.close();
});

/**
 * A new ticket by mail, as the organisation's mail server hands it over: the From header in
 * UTF-8 as an SMTPUTF8 sender writes it (the envelope sender in punycode).
 */
async function mailFrom(name: string, address: string, subject: string) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtp.port, secure: false, ignoreTLS: true });
  const [local, domain] = address.split('@');
  try {
    await transport.sendMail({
      envelope: { from: `${local}@${domainToASCII(domain!)}`, to: SUPPORT },
      raw: [
        `From: ${name} <${address}>`,
        `To: ${SUPPORT}`,
        `Subject: ${subject}`,
        `Message-ID: <${Date.now()}.${Math.random().toString(36).slice(2)}@sender.test>`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Please send me the invoices again.',
        '',
      ].join('\r\n'),
    });
  } finally {
    transport.close();
  }
}

const customerByEmail = (email: string) => db.prisma.customer.findUniqueOrThrow({ where: { email } });
const ticketsOf = (customerId: number) => db.prisma.ticket.findMany({ where: { customerId }, select: { id: true } });

/** The customer list's row for a record (its <tr>). */
function rowOf(html: string, customerId: number): string {
  const rows = html.split('<tr>').filter((r) => r.includes(`<td data-label="Name" class="title"><a href="/customers/${customerId}">`));
  expect(rows).toHaveLength(1);
  return rows[0]!.split('</tr>')[0]!;
}

describe('a look-alike of a known customer’s address', () => {
  // The real customer, on the phone; then a mail from the look-alike address.
  const real = 'ann@cust-one.test';
  const fake = `ann@cust-one.t${E}st`;
  let realId: number;
  let fakeId: number;
  let fakeTicket: string;

  beforeAll(async () => {
    const t = await buildTicket(db, tech, { title: 'Invoices missing', customer: { name: 'Ann Example', email: real } });
    realId = t.customerId;
    await mailFrom('Ann Example', fake, 'Invoices again please');
    const impostor = await customerByEmail(fake); // stored as the mail wrote it: in Unicode
    fakeId = impostor.id;
    fakeTicket = (await db.prisma.ticket.findFirstOrThrow({ where: { customerId: fakeId } })).reference;
  });

  it('is a second record that the list shows apart: in punycode, its odd character marked, and which customer it looks like', async () => {
    expect(fakeId).not.toBe(realId);
    expect((await customerByEmail(fake)).emailSkeleton).toBe((await customerByEmail(real)).emailSkeleton);

    const list = await techAgent.get('/customers?q=cust-one').expect(200);
    const fakeRow = rowOf(list.text, fakeId);
    expect(fakeRow).toContain('ann@cust-one.xn--tst-rdd');
    expect(fakeRow).toContain(`<mark title="U+0435">${E}</mark>`);
    expect(fakeRow).toContain('Look-alike characters');
    expect(fakeRow).toContain('Looks like');
    expect(fakeRow).toContain(`<a href="/customers/${realId}">ann@cust-one.test (customer #${realId})</a>`);
    // The real customer's row says a record looks like theirs; its own address is plain.
    const realRow = rowOf(list.text, realId);
    expect(realRow.split('<br>')[0]).toContain('<td data-label="Email">ann@cust-one.test');
    expect(realRow.split('<br>')[0]).not.toContain('Look-alike characters');
    expect(realRow).toContain(`href="/customers/${fakeId}"`);
    expect(realRow).toContain(`(customer #${fakeId})`);
  });

  it('is flagged on its customer page, on the real customer’s, and on its ticket’s page', async () => {
    const page = await techAgent.get(`/customers/${fakeId}`).expect(200);
    expect(page.text).toContain('Address looks like that of another customer');
    expect(page.text).toContain(`<a href="/customers/${realId}">Ann Example</a>: ann@cust-one.test (customer #${realId}`);
    expect(page.text).toContain('ann@cust-one.xn--tst-rdd');
    expect(page.text).toContain(`The domain part “t${E}st” mixes Latin and Cyrillic letters; it reads as “test”.`);

    const realPage = await techAgent.get(`/customers/${realId}`).expect(200);
    expect(realPage.text).toContain('Address looks like that of another customer');
    expect(realPage.text).toContain(`(customer #${fakeId}`);

    const ticket = await techAgent.get(`/tickets/${fakeTicket}`).expect(200);
    expect(ticket.text).toContain('ann@cust-one.xn--tst-rdd');
    expect(ticket.text).toContain('Look-alike characters');
    expect(ticket.text).toContain(`Looks like <a href="/customers/${realId}">ann@cust-one.test (customer #${realId})</a>`);
  });

  it('makes the merge page warn of an impostor, and a merge without the confirmation is refused, changing nothing', async () => {
    const [keep, dup] = [await customerByEmail(real), await customerByEmail(fake)];
    const search = await adminAgent.get(`/customers/${realId}/merge?q=cust-one`).expect(200);
    expect(search.text).toContain('Looks like ann@cust-one.test, but is another address');
    const page = await adminAgent.get(`/customers/${realId}/merge?mergeId=${fakeId}`).expect(200);
    expect(page.text).toContain('These addresses look alike but are different: this may be an impostor.');
    expect(page.text).toContain('name="confirmLookalike"');
    expect(page.text).toContain('ann@cust-one.xn--tst-rdd');

    const body = { _csrf: adminCsrf, mergeId: String(fakeId), keepVersion: String(keep.version), mergeVersion: String(dup.version) };
    const before = { real: await ticketsOf(realId), fake: await ticketsOf(fakeId) };
    const res = await expectRefused(
      db,
      () => adminAgent.post(`/customers/${realId}/merge`).type('form').send(body),
      422,
      'The addresses ann@cust-one.test and ann@cust-one.xn--tst-rdd look alike but are different mailboxes',
      'Nothing was merged',
      'Confirm that both addresses belong to the same person.',
    );
    expect(res.text).toContain('name="confirmLookalike"'); // the comparison again, to confirm
    expect(await ticketsOf(fakeId)).toEqual(before.fake);
    expect(await ticketsOf(realId)).toEqual(before.real);
    expect(await customerByEmail(fake)).toMatchObject({ mergedIntoId: null, version: dup.version });

    // The service itself refuses it (not only the form).
    const input = { keepId: realId, mergeId: fakeId, keepVersion: keep.version, mergeVersion: dup.version };
    const rows = await countRows(db);
    await expect(mergeCustomers(as(db, admin), input)).rejects.toThrow(ValidationError);
    await expect(mergeCustomers(as(db, admin), input)).rejects.toThrow(/look alike but are different mailboxes/);
    expect(await countRows(db)).toEqual(rows);
  });
});

describe('look-alikes from every way a customer is added or changed', () => {
  it('flags a web request typed with the look-alike domain in punycode (as the form accepts it)', async () => {
    const t = await buildTicket(db, tech, { customer: { name: 'Bo Real', email: 'bo@shop-two.test' } });
    const web = await submitWebRequest(db.prisma, {
      name: 'Bo Real',
      email: 'bo@shop-two.xn--tst-rdd',
      title: 'Change my delivery address',
      description: 'Please send everything to the new address.',
    });
    expect(web.customerId).not.toBe(t.customerId);
    expect((await lookalikesOf(db.prisma, { id: web.customerId, email: 'bo@shop-two.xn--tst-rdd' })).map((c) => c.id)).toEqual([t.customerId]);
    const row = rowOf((await techAgent.get('/customers?q=shop-two').expect(200)).text, web.customerId);
    expect(row).toContain('Look-alike characters');
    expect(row).toContain(`bo@shop-two.t<mark title="U+0435">${E}</mark>st`); // what a mail client would show
    expect(row).toContain(`(customer #${t.customerId})`);
  });

  it('flags a look-alike in plain ASCII logged by staff ("rn" for "m"), and an edit of the address updates the flag', async () => {
    const realT = await buildTicket(db, tech, { customer: { name: 'Cy Real', email: 'cy@microsoft-three.test' } });
    const fakeT = await buildTicket(db, tech, { customer: { name: 'Cy Real', email: 'cy@rnicrosoft-three.test' } });
    const row = rowOf((await techAgent.get('/customers?q=three').expect(200)).text, fakeT.customerId);
    expect(row).toContain(`cy@microsoft-three.test (customer #${realT.customerId})`);

    const fake = await db.prisma.customer.findUniqueOrThrow({ where: { id: fakeT.customerId } });
    await updateCustomer(as(db, tech), fake.id, fake.version, { name: fake.name, email: 'cy@other-three.test' });
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: fake.id } })).emailSkeleton).toBe(emailSkeleton('cy@other-three.test'));
    const after = rowOf((await techAgent.get('/customers?q=three').expect(200)).text, fakeT.customerId);
    expect(after).not.toContain('Looks like');
  });

  it('fills in the skeletons of records that have none (the migration’s backfill)', async () => {
    const t = await buildTicket(db, tech, { customer: { name: 'Di Old', email: 'di@old-f\u043eur.test' } });
    await db.pool.query(`UPDATE "Customer" SET "emailSkeleton" = NULL WHERE id = $1`, [t.customerId]);
    expect(await backfillEmailSkeletons(db.pool)).toBeGreaterThanOrEqual(1);
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: t.customerId } })).emailSkeleton).toBe('di@old-four.test');
    expect(await backfillEmailSkeletons(db.pool)).toBe(0);
  });
});

describe('addresses that are not look-alikes', () => {
  it('ordinary different addresses are not flagged, and merge without any confirmation', async () => {
    const a = await buildTicket(db, tech, { customer: { name: 'Eve A', email: 'eve@a-five.test' } });
    const b = await buildTicket(db, tech, { customer: { name: 'Eve B', email: 'eve@b-five.test' } });
    const list = await techAgent.get('/customers?q=five').expect(200);
    for (const t of [a, b]) {
      const row = rowOf(list.text, t.customerId);
      expect(row).not.toContain('Looks like');
      expect(row).not.toContain('badge');
    }
    const page = await adminAgent.get(`/customers/${a.customerId}/merge?mergeId=${b.customerId}`).expect(200);
    expect(page.text).not.toContain('may be an impostor');
    expect(page.text).not.toContain('confirmLookalike');
    const [keep, dup] = await Promise.all([a, b].map((t) => db.prisma.customer.findUniqueOrThrow({ where: { id: t.customerId } })));
    await adminAgent
      .post(`/customers/${keep!.id}/merge`)
      .type('form')
      .send({ _csrf: adminCsrf, mergeId: String(dup!.id), keepVersion: String(keep!.version), mergeVersion: String(dup!.version) })
      .expect(303);
    expect(await ticketsOf(keep!.id)).toHaveLength(2);
  });

  it('a legitimate international address shows as it is, with its punycode, unflagged — until a look-alike of it comes', async () => {
    const idn = 'anna@пример.рф';
    const t = await createTicketForCustomer(db.prisma, {
      title: 'Не работает принтер',
      description: 'Принтер печатает пустые страницы.',
      channel: 'EMAIL',
      urgency: 'NORMAL',
      customer: { name: 'Анна', email: idn },
    });
    const list = await techAgent.get(`/customers?q=${encodeURIComponent('пример')}`).expect(200);
    const row = rowOf(list.text, t.customerId);
    expect(row).toContain(idn);
    expect(row).toContain('anna@xn--e1afmkfd.xn--p1ai');
    expect(row).toContain('International');
    expect(row).not.toContain('Look-alike characters');
    expect(row).not.toContain('Looks like');
    expect(row).not.toContain('<mark');

    // A Latin "p" in the Cyrillic word: looks the same, mixes scripts.
    const fake = 'anna@пpимер.рф';
    const f = await createTicketForCustomer(db.prisma, {
      title: 'Смена адреса',
      description: 'Пришлите всё на новый адрес.',
      channel: 'EMAIL',
      urgency: 'NORMAL',
      customer: { name: 'Анна', email: fake },
    });
    const again = await techAgent.get(`/customers?q=${encodeURIComponent('рф')}`).expect(200);
    const fakeRow = rowOf(again.text, f.customerId);
    expect(fakeRow).toContain('Look-alike characters');
    expect(fakeRow).toContain(`(customer #${t.customerId})`);
    expect(rowOf(again.text, t.customerId)).toContain(`(customer #${f.customerId})`);
    expect(rowOf(again.text, t.customerId).split('<br>')[0]).not.toContain('Look-alike characters'); // its own address is fine
  });
});
