// The work log's kinds of entry look unmistakable, the reply form names who receives it, and a
// reply can set "waiting on customer" in the same step (issue 11), all through HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import type TestAgent from 'supertest/lib/agent.js';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { expectRefused, signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { changeStatus } from '../../src/services/tickets/change-status.js';

let db: TestDatabase;
let app: Express;
let tech: Actor;
let agent: TestAgent;
let csrf: string;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  tech = await buildUser(db, { name: 'Tia Tech' });
  ({ agent, csrf } = await signIn(app, tech.email));
});
afterAll(() => db?.close());

const post = (reference: string, body: Record<string, string>) =>
  agent.post(`/tickets/${reference}/worklog`).type('form').send({ _csrf: csrf, ...body });

/** The text of each work-log entry on the ticket page, tags stripped. */
async function entries(reference: string): Promise<string[]> {
  const page = await agent.get(`/tickets/${reference}`).expect(200);
  return [...page.text.matchAll(/<li class="entry kind-[a-z_]+"[^>]*>([\s\S]*?)<\/li>/g)].map((m) =>
    m[1]!.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim(),
  );
}

async function inProgress(name = 'Dana Customer', email = `dana-${Date.now()}@customer.test`) {
  const t = await buildTicket(db, tech, { customer: { name, email } });
  await changeStatus(as(db, tech), { reference: t.reference }, 'IN_PROGRESS');
  return t;
}

describe('entry kinds', () => {
  it('each kind shows its own label, saying who sees it', async () => {
    const t = await buildTicket(db, tech);
    await post(t.reference, { kind: 'NOTE', body: 'Checked the spooler.' }).expect(303);
    await post(t.reference, { kind: 'ATTEMPTED_FIX', outcome: 'FAILED', body: 'Restarted the spooler.' }).expect(303);
    await post(t.reference, { kind: 'REPLY', body: 'Could you send a photo of a page?' }).expect(303);
    await db.prisma.workLogEntry.create({ data: { ticketId: t.id, authorCustomerId: t.customerId, kind: 'CUSTOMER_REPLY', body: 'Photo attached.' } });
    const byBody = (b: string) => (list: string[]) => list.find((e) => e.includes(b))!;
    const list = await entries(t.reference);
    expect(byBody('Checked the spooler.')(list)).toContain('Internal note · Internal — not visible to the customer');
    expect(byBody('Restarted the spooler.')(list)).toContain('Attempted fix · Internal — not visible to the customer');
    expect(byBody('Could you send a photo')(list)).toContain('Reply to customer · Sent to the customer by mail');
    expect(byBody('Photo attached.')(list)).toContain('Customer reply · From the customer');
  });

  it('the reply form is its own form and names who will receive the reply', async () => {
    const t = await buildTicket(db, tech, { customer: { name: 'Rita Recipient', email: 'rita@customer.test' } });
    const page = await agent.get(`/tickets/${t.reference}`).expect(200);
    expect(page.text).toContain('Send reply to Rita Recipient &lt;rita@customer.test&gt;</button>');
    expect(page.text).toContain('id="reply-h"><span class="kind-mark" aria-hidden="true">↗</span> Reply to the customer');
    expect(page.text).toContain('Internal note or attempted fix');
    // Both forms keep the file picker.
    expect(page.text).toContain('id="rp-files"');
    expect(page.text).toContain('id="w-files"');
  });
});

describe('a reply that waits on the customer', () => {
  it('writes the reply, moves the status in the same step, and mails one reply', async () => {
    const t = await inProgress();
    const before = await countRows(db);
    await post(t.reference, { kind: 'REPLY', body: 'Which printer model is it?', waitForCustomer: '1' }).expect(303);
    const after = await countRows(db);
    const added = (table: string) => after[table]! - before[table]!;
    expect(added('WorkLogEntry')).toBe(1);
    expect(added('TicketHistory')).toBe(2);
    // One mail, the reply: not a second "waiting on you" mail as well.
    expect(added('OutboundMail')).toBe(1);
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } });
    expect(ticket.status).toBe('WAITING_ON_CUSTOMER');
    const history = await db.prisma.ticketHistory.findMany({ where: { ticketId: t.id }, orderBy: { id: 'asc' } });
    expect(history.slice(-2).map((h) => [h.action, h.field, h.newValue])).toEqual([
      ['WORKLOG_ADDED', 'REPLY', null],
      ['CHANGED', 'status', 'WAITING_ON_CUSTOMER'],
    ]);
    const mails = await db.prisma.outboundMail.findMany({ where: { ticketId: t.id }, orderBy: { id: 'asc' } });
    expect(mails.map((m) => m.kind)).toEqual(['TICKET_CREATED', 'REPLY']);
  });

  it('a reply without the box leaves the status as it is', async () => {
    const t = await inProgress();
    await post(t.reference, { kind: 'REPLY', body: 'Looking into it.' }).expect(303);
    expect((await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } })).status).toBe('IN_PROGRESS');
  });

  it('refused when the ticket cannot wait from its status: 422 with the reason, nothing written', async () => {
    const t = await buildTicket(db, tech);
    const res = await expectRefused(db, () => post(t.reference, { kind: 'REPLY', body: 'Which model?', waitForCustomer: '1' }), 422,
      'A ticket cannot go from New to Waiting on customer.');
    expect(res.text).toContain('Which model?');
  });

  it('refused for a note, and for a value other than the box', async () => {
    const t = await inProgress();
    await expectRefused(db, () => post(t.reference, { kind: 'NOTE', body: 'Internal.', waitForCustomer: '1' }), 422,
      'Only a reply to the customer can wait for their answer.');
    await expectRefused(db, () => post(t.reference, { kind: 'REPLY', body: 'Hi.', waitForCustomer: 'yes' }), 422);
  });
});
