// Notifications to staff: who is told of what (assignment, the customer's replies by the private
// link and by mail, mentions, followed tickets' changes), never of their own actions, once per
// change; following and unfollowing; the inbox (pages, marking read, the link into the ticket,
// the header's count); mail preferences; and a burst of changes mailed as one digest.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import type TestAgent from 'supertest/lib/agent.js';
import { countRows, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { expectRefused, signIn, testApp } from '../helpers/http.js';
import { testMessageIds } from '../helpers/inbound.js';
import type { Actor } from '../../src/services/context.js';
import { assignTicket, takeTicket } from '../../src/services/tickets/assign-ticket.js';
import { changeUrgency } from '../../src/services/tickets/change-urgency.js';
import { changeStatus } from '../../src/services/tickets/change-status.js';
import { resolveTicket } from '../../src/services/tickets/resolve-ticket.js';
import { addWorkLog } from '../../src/services/tickets/add-work-log.js';
import { addCustomerReply } from '../../src/services/public/customer-ticket.js';
import { receiveMail, type ParsedInbound } from '../../src/services/mail/inbound.js';
import { attachToTicket } from '../../src/services/mail/quarantine.js';
import { followTicket, unfollowTicket } from '../../src/services/notifications/follow.js';
import { findMentions, MAX_MENTIONS } from '../../src/services/notifications/mentions.js';
import { queueDigest, type StaffNoticePayload } from '../../src/services/notifications/digest.js';
import { notifyTeamAssigned } from '../../src/services/notifications/notify.js';
import { setEmailPreferences } from '../../src/services/notifications/preferences.js';
import { sendQueuedMail } from '../../src/mail/send-mail.js';
import { createMailTransport } from '../../src/mail/transport.js';
import { MessageIds } from '../../src/mail/message-id.js';
import { incomingFile } from '../../src/services/attachments/files.js';
import { createMailer } from '../../src/mail/mailer.js';
import { loadConfig } from '../../src/config/env.js';

let db: TestDatabase;
let app: Express;
/** Owner-to-be, a colleague who acts, a follower. */
let olga: Actor;
let carl: Actor;
let fay: Actor;
const ids = testMessageIds();

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  const tag = randomBytes(3).toString('hex');
  olga = await buildUser(db, { name: `Olga Owner${tag}`, email: `olga${tag}@corp.test` });
  carl = await buildUser(db, { name: `Carl Colleague${tag}`, email: `carl${tag}@corp.test` });
  fay = await buildUser(db, { name: `Fay Follower${tag}`, email: `fay${tag}@corp.test` });
});
afterAll(() => db?.close());

const noticesOf = (user: Actor, ticketId?: number) =>
  db.prisma.notification.findMany({ where: { userId: user.id, ...(ticketId ? { ticketId } : {}) }, orderBy: { id: 'asc' } });
const followers = async (ticketId: number) =>
  (await db.prisma.ticketFollower.findMany({ where: { ticketId }, orderBy: { userId: 'asc' } })).map((f) => f.userId);
const handle = (u: Actor) => u.email.split('@')[0]!;

describe('who is told', () => {
  it('assigning tells the new owner, who follows the ticket from then on; the actor is never told', async () => {
    const t = await buildTicket(db, carl);
    await assignTicket(as(db, carl), { reference: t.reference, version: 1 }, olga.id);
    const [n, ...rest] = await noticesOf(olga, t.id);
    expect(rest).toEqual([]);
    expect(n).toMatchObject({ kind: 'ASSIGNED', actorId: carl.id, actorName: carl.name, readAt: null, emailPending: true });
    // The NEW → OPEN change in the same assignment is merged into it (one notice per change).
    expect(n!.summary).toContain('gave you this ticket');
    expect(await followers(t.id)).toEqual([olga.id]);
    expect(await noticesOf(carl, t.id)).toEqual([]);
  });

  it('taking a ticket (your own action) tells nobody, but you follow it; a creator who takes it follows it too', async () => {
    const t = await buildTicket(db, carl);
    await takeTicket(as(db, olga), { reference: t.reference, version: 1 });
    expect(await noticesOf(olga, t.id)).toEqual([]);
    expect(await followers(t.id)).toEqual([olga.id]);
    const mine = await buildTicket(db, carl, { assignToMe: true });
    expect(await followers(mine.id)).toEqual([carl.id]);
    expect(await db.prisma.notification.count({ where: { ticketId: mine.id } })).toBe(0);
  });

  it('followers are told of changes by others, not their own; unfollowing stops it', async () => {
    const t = await buildTicket(db, carl);
    await followTicket(as(db, fay), t.reference);
    await changeUrgency(as(db, carl), { reference: t.reference, version: 1 }, 'HIGH');
    const [n] = await noticesOf(fay, t.id);
    expect(n).toMatchObject({ kind: 'FOLLOWED_CHANGE', summary: 'changed urgency: Normal → High', emailPending: false });
    // Her own change tells her nothing.
    await changeUrgency(as(db, fay), { reference: t.reference, version: 2 }, 'LOW');
    expect(await noticesOf(fay, t.id)).toHaveLength(1);
    await unfollowTicket(as(db, fay), t.reference);
    await changeUrgency(as(db, carl), { reference: t.reference, version: 3 }, 'CRITICAL');
    expect(await noticesOf(fay, t.id)).toHaveLength(1);
  });

  it("the customer's reply through the private link tells the owner and followers once, even when it also reopens the ticket", async () => {
    const t = await buildTicket(db, carl);
    await assignTicket(as(db, carl), { reference: t.reference, version: 1 }, olga.id);
    await followTicket(as(db, fay), t.reference);
    await resolveTicket(as(db, olga), { reference: t.reference, version: 2 }, { code: 'FIXED', note: 'Replaced the drum.' });
    const before = (await noticesOf(olga, t.id)).length;
    const { entry } = await addCustomerReply(db.prisma, t.id, 'Still blank pages, sorry.');
    for (const who of [olga, fay]) {
      const added = (await noticesOf(who, t.id)).filter((n) => n.workLogEntryId === entry.id);
      expect(added).toHaveLength(1);
      expect(added[0]).toMatchObject({ kind: 'CUSTOMER_REPLY', actorId: null, actorCustomerId: t.customerId, emailPending: true });
      // Both what was said and the reopening, in one notice.
      expect(added[0]!.summary).toContain('replied: Still blank pages, sorry.');
      expect(added[0]!.summary).toContain('status: Resolved → Open');
    }
    expect((await noticesOf(olga, t.id)).length).toBe(before + 1);
  });

  it("the customer's reply by mail tells the owner", async () => {
    const email = `mia-${randomBytes(3).toString('hex')}@customer.test`;
    const t = await buildTicket(db, carl, { customer: { name: 'Mia Mailer', email } });
    await assignTicket(as(db, carl), { reference: t.reference, version: 1 }, olga.id);
    const message: ParsedInbound = {
      messageId: `<n-${randomBytes(4).toString('hex')}@customer.test>`,
      from: { address: email, name: 'Mia Mailer' },
      envelopeSender: email,
      subject: `Re: [${t.reference}] printer`,
      text: 'It works again, thanks.',
      fullText: 'It works again, thanks.',
      inReplyTo: null,
      references: [],
      headers: {},
    };
    await receiveMail(db.prisma, ids, message, { ownAddress: 'support@caseboard.test', maxNewPerHour: 100 });
    const notices = await noticesOf(olga, t.id);
    expect(notices.at(-1)).toMatchObject({ kind: 'CUSTOMER_REPLY', actorName: 'Mia Mailer' });
    expect(notices.at(-1)!.workLogEntryId).not.toBeNull();
  });

  it('quarantined mail attached by staff: the customer\'s tells the owner; a stranger\'s (a note) mentions nobody', async () => {
    const email = `quin-${randomBytes(3).toString('hex')}@customer.test`;
    const closed = await buildTicket(db, carl, { customer: { name: 'Quin Quarantine', email } });
    await resolveTicket(as(db, carl), { reference: closed.reference, version: 1 }, { code: 'FIXED', note: 'Done.' });
    await changeStatus(as(db, carl), { reference: closed.reference, version: 2 }, 'CLOSED');
    const open = await buildTicket(db, carl, { customer: { name: 'Quin Quarantine', email } });
    await assignTicket(as(db, carl), { reference: open.reference, version: 1 }, olga.id);
    const mail = (from: string, text: string): ParsedInbound => ({
      messageId: `<q-${randomBytes(4).toString('hex')}@customer.test>`, from: { address: from, name: 'Q' }, envelopeSender: from,
      subject: `Re: [${closed.reference}] printer`, text, fullText: text, inReplyTo: null, references: [], headers: {},
    });
    const opts = { ownAddress: 'support@caseboard.test', maxNewPerHour: 100 };
    const held = await receiveMail(db.prisma, ids, mail(email, 'Another question.'), opts);
    expect(held.mail.state).toBe('QUARANTINED');
    await attachToTicket(as(db, carl), held.mail.id, open.reference);
    expect((await noticesOf(olga, open.id)).at(-1)).toMatchObject({ kind: 'CUSTOMER_REPLY', actorCustomerId: open.customerId });
    const stranger = await receiveMail(db.prisma, ids, mail('eve@elsewhere.test', `Hey @${handle(fay)}, look`), opts);
    await attachToTicket(as(db, carl), stranger.mail.id, open.reference);
    expect(await noticesOf(fay, open.id)).toEqual([]);
    expect((await noticesOf(olga, open.id)).at(-1)).toMatchObject({ kind: 'FOLLOWED_CHANGE', actorId: carl.id });
  });

  it('a staff reply that also waits on the customer tells each follower once', async () => {
    const t = await buildTicket(db, carl);
    await followTicket(as(db, fay), t.reference);
    await changeStatus(as(db, carl), { reference: t.reference, version: 1 }, 'IN_PROGRESS');
    const before = (await noticesOf(fay, t.id)).length;
    await addWorkLog(as(db, carl), t.reference, { kind: 'REPLY', body: 'Which tray?' }, { waitForCustomer: true });
    const added = (await noticesOf(fay, t.id)).slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]!.summary).toContain('replied to the customer: Which tray?');
    expect(added[0]!.summary).toContain('Waiting on customer');
  });

  it('a refused change tells nobody (the notices roll back with it)', async () => {
    const t = await buildTicket(db, carl);
    await followTicket(as(db, fay), t.reference);
    const before = await countRows(db);
    // A reply that would wait on the customer where that move is not allowed (a New ticket): the
    // entry, and the followers' notices written with it, are rolled back.
    await expect(addWorkLog(as(db, carl), t.reference, { kind: 'REPLY', body: 'Which tray?' }, { waitForCustomer: true })).rejects.toThrow(/Waiting on customer|not allowed|cannot/i);
    // A resolution without a note: refused inside the transaction.
    await expect(resolveTicket(as(db, carl), { reference: t.reference, version: 1 }, { code: 'FIXED', note: ' ' })).rejects.toThrow();
    expect(await countRows(db)).toEqual(before);
  });

  it('deactivated staff are not told', async () => {
    const gone = await buildUser(db, { name: 'Gone Gus' });
    const t = await buildTicket(db, carl);
    await followTicket(as(db, gone), t.reference);
    await db.prisma.user.update({ where: { id: gone.id }, data: { active: false } });
    await changeUrgency(as(db, carl), { reference: t.reference, version: 1 }, 'HIGH');
    expect(await noticesOf(gone, t.id)).toEqual([]);
  });

  it('the seam for teams: notifyTeamAssigned (notifyUsers with TEAM_ASSIGNED) takes the members\' ids, never the actor', async () => {
    const t = await buildTicket(db, carl);
    await db.prisma.$transaction((tx) => notifyTeamAssigned(tx, carl, t, [olga.id, fay.id, carl.id], 'Printers'));
    expect((await noticesOf(olga, t.id)).map((n) => [n.kind, n.summary])).toEqual([['TEAM_ASSIGNED', 'gave your team Printers this ticket']]);
    expect((await noticesOf(fay, t.id)).map((n) => n.kind)).toEqual(['TEAM_ASSIGNED']);
    expect(await noticesOf(carl, t.id)).toEqual([]);
  });
});

describe('mentions', () => {
  it('@email-local-part and @NameWithoutSpaces tell that colleague, who then follows; unknown @words and inactive people tell nobody', async () => {
    const tag = randomBytes(3).toString('hex');
    const maria = await buildUser(db, { name: `Maria Lopez${tag}`, email: `maria${tag}@corp.test` });
    const nina = await buildUser(db, { name: `Nina Nash${tag}`, email: `nina${tag}@corp.test` });
    const idle = await buildUser(db, { name: 'Idle Ida', email: `idle${tag}@corp.test`, active: false });
    const t = await buildTicket(db, carl);
    const before = await db.prisma.notification.count();
    await addWorkLog(as(db, carl), t.reference, {
      kind: 'NOTE',
      body: `Asked @maria${tag}, and @NINANASH${tag}. — @idle${tag} @nobody${tag} mail me at x@maria${tag}`,
    });
    expect((await noticesOf(maria, t.id)).map((n) => n.kind)).toEqual(['MENTION']);
    expect((await noticesOf(nina, t.id)).map((n) => n.kind)).toEqual(['MENTION']);
    expect(await noticesOf(idle, t.id)).toEqual([]);
    expect(await db.prisma.notification.count()).toBe(before + 2);
    expect(await followers(t.id)).toEqual([maria.id, nina.id].sort((a, b) => a - b));
    // A mention in a reply to the customer is not one (the customer would be mailed the @text).
    await addWorkLog(as(db, carl), t.reference, { kind: 'REPLY', body: `@nina${tag} will call you.` });
    expect((await noticesOf(nina, t.id)).map((n) => n.kind)).toEqual(['MENTION', 'FOLLOWED_CHANGE']);
  });

  it('hostile text costs one pass: 200 KB of @, and at most MAX_MENTIONS handles per entry', async () => {
    const started = performance.now();
    expect(findMentions('@'.repeat(200_000))).toEqual([]);
    expect(findMentions(`${'@a'.repeat(100_000)}`).length).toBeLessThanOrEqual(1);
    expect(findMentions(`@${'x'.repeat(200_000)}`)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(500);
    const many = Array.from({ length: 40 }, (_, i) => `@user${i}`).join(' ');
    expect(new Set(findMentions(many).map((m) => m.handle)).size).toBe(MAX_MENTIONS);
    // Through the service too: a 200 KB note of '@' is taken, and tells nobody.
    const t = await buildTicket(db, carl);
    const before = await db.prisma.notification.count();
    await addWorkLog(as(db, carl), t.reference, { kind: 'NOTE', body: '@'.repeat(19_000) });
    expect(await db.prisma.notification.count()).toBe(before);
  });

  it('a resolved mention is highlighted on the ticket page, escaped', async () => {
    const t = await buildTicket(db, carl);
    await addWorkLog(as(db, carl), t.reference, { kind: 'NOTE', body: `<b>ask</b> @${handle(olga)} please` });
    const { agent } = await signIn(app, carl.email);
    const page = await agent.get(`/tickets/${t.reference}`).expect(200);
    expect(page.text).toContain(`&lt;b&gt;ask&lt;/b&gt; <strong class="mention" title="${olga.name}">@${handle(olga)}</strong> please`);
    expect(page.text).toMatch(/<li class="entry kind-note" id="entry-\d+"[^>]*>/);
    // In an entry with files too (its text goes through the inline-image presenter).
    await addWorkLog(as(db, carl), t.reference, { kind: 'ATTEMPTED_FIX', outcome: 'FAILED', body: `log for @${handle(olga)}`, files: [incomingFile('boot.log', Buffer.from('boot ok\n'))] });
    const again = await agent.get(`/tickets/${t.reference}`).expect(200);
    expect(again.text).toContain(`log for <strong class="mention" title="${olga.name}">@${handle(olga)}</strong>`);
    // A reply to the customer is not marked up.
    await addWorkLog(as(db, carl), t.reference, { kind: 'REPLY', body: `cc @${handle(olga)}` });
    expect((await agent.get(`/tickets/${t.reference}`).expect(200)).text).toContain(`cc @${handle(olga)}</p>`);
  });
});

describe('following on the ticket page', () => {
  it('Follow and Stop following are POST forms; the page names the followers', async () => {
    const t = await buildTicket(db, carl);
    const { agent, csrf } = await signIn(app, fay.email);
    let page = await agent.get(`/tickets/${t.reference}`).expect(200);
    expect(page.text).toContain(`action="/tickets/${t.reference}/follow"`);
    expect(page.text).toContain('Nobody follows it.');
    await agent.post(`/tickets/${t.reference}/follow`).type('form').send({ _csrf: csrf }).expect(303)
      .expect('Location', `/tickets/${t.reference}?done=follow#following`);
    page = await agent.get(`/tickets/${t.reference}?done=follow`).expect(200);
    expect(page.text).toContain(`action="/tickets/${t.reference}/unfollow"`);
    expect(page.text).toContain(`Followers: ${fay.name}`);
    expect(page.text).toContain('You follow this ticket');
    await agent.post(`/tickets/${t.reference}/unfollow`).type('form').send({ _csrf: csrf }).expect(303);
    expect(await followers(t.id)).toEqual([]);
    // An unknown ticket: 404, nothing written.
    await expectRefused(db, () => agent.post('/tickets/CB-0000000/follow').type('form').send({ _csrf: csrf }), 404);
  });
});

describe('the inbox', () => {
  let reader: Actor;
  let agent: TestAgent;
  let csrf: string;
  let ticket: Awaited<ReturnType<typeof buildTicket>>;

  beforeAll(async () => {
    reader = await buildUser(db, { name: 'Rhea Reader' });
    ticket = await buildTicket(db, carl);
    await followTicket(as(db, reader), ticket.reference);
    // 55 changes by a colleague: 55 notices.
    for (let i = 0; i < 55; i++) {
      await addWorkLog(as(db, carl), ticket.reference, { kind: 'NOTE', body: `Step ${i}` });
    }
    ({ agent, csrf } = await signIn(app, reader.email));
  });

  it('lists them newest first, 50 a page, and counts the unread in the header', async () => {
    const first = await agent.get('/notifications').expect(200);
    expect(first.text).toContain('55<span class="visually-hidden"> unread</span>');
    const steps = [...first.text.matchAll(/added a note: Step (\d+)/g)].map((m) => Number(m[1]));
    expect(steps).toEqual(Array.from({ length: 50 }, (_, i) => 54 - i));
    const next = /href="(\/notifications\?after=[^"]+)"/.exec(first.text)![1]!;
    const second = await agent.get(next).expect(200);
    expect([...second.text.matchAll(/added a note: Step (\d+)/g)].map((m) => Number(m[1]))).toEqual([4, 3, 2, 1, 0]);
    expect(second.text).not.toContain('>Older<');
    await agent.get('/notifications?after=garbage').expect(400);
  });

  it('opening one marks it read and lands on its entry; another person\'s is 404', async () => {
    const [n] = await db.prisma.notification.findMany({ where: { userId: reader.id }, orderBy: { id: 'desc' }, take: 1 });
    await agent.get(`/notifications/${n!.id}/open`).expect(303).expect('Location', `/tickets/${ticket.reference}#entry-${n!.workLogEntryId}`);
    expect((await db.prisma.notification.findUnique({ where: { id: n!.id } }))!.readAt).not.toBeNull();
    const page = await agent.get('/notifications').expect(200);
    expect(page.text).toContain('54<span class="visually-hidden"> unread</span>');
    const [other] = await db.prisma.notification.findMany({ where: { userId: { not: reader.id } }, take: 1 });
    const before = await countRows(db);
    await agent.get(`/notifications/${other!.id}/open`).expect(404);
    await agent.get('/notifications/abc/open').expect(404);
    await agent.get('/notifications/99999999999/open').expect(404);
    expect(await countRows(db)).toEqual(before);
    expect((await db.prisma.notification.findUnique({ where: { id: other!.id } }))!.readAt).toBeNull();
  });

  it('a change without an entry links to the history', async () => {
    await changeUrgency(as(db, carl), { reference: ticket.reference, version: ticket.version }, 'HIGH');
    const [n] = await db.prisma.notification.findMany({ where: { userId: reader.id }, orderBy: { id: 'desc' }, take: 1 });
    await agent.get(`/notifications/${n!.id}/open`).expect(303).expect('Location', `/tickets/${ticket.reference}#history`);
  });

  it('mark all read; the count shows 99+ past 99', async () => {
    await agent.post('/notifications/read-all').type('form').send({ _csrf: csrf }).expect(303).expect('Location', '/notifications?done=notifications-read');
    const page = await agent.get('/notifications').expect(200);
    expect(page.text).not.toContain('class="unread-count"');
    expect(await db.prisma.notification.count({ where: { userId: reader.id, readAt: null } })).toBe(0);
    for (let i = 0; i < 120; i++) await addWorkLog(as(db, carl), ticket.reference, { kind: 'NOTE', body: `More ${i}` });
    const busy = await agent.get('/tickets').expect(200);
    expect(busy.text).toContain('99+<span class="visually-hidden"> unread</span>');
  });
});

describe('mail preferences', () => {
  it('the page shows the defaults, saves a choice, and refuses a kind it does not know (422, nothing changed)', async () => {
    const pat = await buildUser(db, { name: 'Pat Prefs' });
    const { agent, csrf } = await signIn(app, pat.email);
    const page = await agent.get('/profile/notifications').expect(200);
    expect(page.text).toMatch(/value="ASSIGNED" checked/);
    expect(page.text).toMatch(/value="FOLLOWED_CHANGE" >/);
    await expectRefused(db, () => agent.post('/profile/notifications').type('form').send({ _csrf: csrf, email: ['ASSIGNED', 'BOGUS'] }), 422, 'Choose among the kinds listed.');
    await agent.post('/profile/notifications').type('form').send({ _csrf: csrf, email: ['FOLLOWED_CHANGE', 'MENTION'] }).expect(303)
      .expect('Location', '/profile/notifications?done=notification-preferences');
    const saved = await agent.get('/profile/notifications').expect(200);
    expect(saved.text).toMatch(/value="FOLLOWED_CHANGE" checked/);
    expect(saved.text).toMatch(/value="ASSIGNED" >/);
  });

  it('a kind turned off is not mailed (no digest queued); the inbox still has it', async () => {
    const quiet = await buildUser(db, { name: 'Quinn Quiet' });
    await setEmailPreferences(as(db, quiet), []);
    const t = await buildTicket(db, carl);
    await assignTicket(as(db, carl), { reference: t.reference, version: 1 }, quiet.id);
    const [n] = await noticesOf(quiet, t.id);
    expect(n).toMatchObject({ kind: 'ASSIGNED', emailPending: false });
    const jobs = await db.pool.query(`SELECT 1 FROM pgboss.job WHERE name = 'notification_digest' AND singleton_key = $1`, [`user:${quiet.id}`]);
    expect(jobs.rowCount).toBe(0);
    expect(await queueDigest(db.pool, quiet.id)).toBeNull();
  });
});

describe('mail digests', () => {
  it('50 changes in a burst: one digest job, one mail listing all 50, never a second', async () => {
    const dana = await buildUser(db, { name: 'Dana Digest' });
    await setEmailPreferences(as(db, dana), ['FOLLOWED_CHANGE']);
    const t = await buildTicket(db, carl);
    await followTicket(as(db, dana), t.reference);
    for (let i = 0; i < 50; i++) await addWorkLog(as(db, carl), t.reference, { kind: 'NOTE', body: `Burst ${i}` });
    const jobs = await db.pool.query<{ start_after: Date; state: string }>(
      `SELECT start_after, state FROM pgboss.job WHERE name = 'notification_digest' AND singleton_key = $1`,
      [`user:${dana.id}`],
    );
    expect(jobs.rows).toHaveLength(1);
    expect(jobs.rows[0]!.state).toBe('created');
    expect(jobs.rows[0]!.start_after.getTime()).toBeGreaterThan(Date.now() + 30_000);
    expect(await db.prisma.outboundMail.count({ where: { kind: 'STAFF_NOTICE' } })).toBe(0);

    // The job's work, driven directly (instead of waiting a minute), twice at once and once more.
    const results = await Promise.all([queueDigest(db.pool, dana.id), queueDigest(db.pool, dana.id)]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(await queueDigest(db.pool, dana.id)).toBeNull();
    const mails = await db.prisma.outboundMail.findMany({ where: { kind: 'STAFF_NOTICE', recipient: dana.email } });
    expect(mails).toHaveLength(1);
    expect(mails[0]!.ticketId).toBeNull();
    const payload = mails[0]!.payload as unknown as StaffNoticePayload;
    expect(payload.count).toBe(50);
    expect(payload.items.map((i) => i.summary)).toEqual(Array.from({ length: 50 }, (_, i) => `added a note: Burst ${i}`));
    expect(await db.prisma.notification.count({ where: { userId: dana.id, emailPending: true } })).toBe(0);

    // Sent like any outbox mail, to the staff member, without a private link.
    const dir = await mkdtemp(join(tmpdir(), 'cb-notice-'));
    try {
      const sender = {
        pool: db.pool, transport: createMailTransport({ mailDir: dir }), ids: new MessageIds('a-secret-long-enough-for-the-test-123', 'caseboard.test'),
        from: 'Help Desk <help@caseboard.test>', publicUrl: 'https://help.example.test', accessLinkDays: 30,
      };
      const tokens = await db.prisma.ticketAccessToken.count();
      await expect(sendQueuedMail(sender, mails[0]!.id)).resolves.toBe('sent');
      await expect(sendQueuedMail(sender, mails[0]!.id)).resolves.toBe('skipped');
      expect(await db.prisma.ticketAccessToken.count()).toBe(tokens);
      const [file] = await readdir(dir);
      const eml = await readFile(join(dir, file!), 'utf8');
      expect(eml).toContain(`To: ${dana.email}`);
      expect(eml).toContain('Subject: 50 updates on your tickets');
      expect(eml).toContain('Auto-Submitted: auto-generated');
      expect(eml).not.toContain('/s/');
      expect(eml).toContain('Burst 49');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // The staff mail is not in the ticket page's list of mails to the customer.
    const { agent } = await signIn(app, carl.email);
    const page = await agent.get(`/tickets/${t.reference}`).expect(200);
    expect(page.text).not.toContain('Notice to staff');
  });

  it("the app's job worker runs a due digest job, and the mail worker sends what it queued", async () => {
    const wes = await buildUser(db, { name: 'Wes Worker' });
    const t = await buildTicket(db, carl);
    await assignTicket(as(db, carl), { reference: t.reference, version: 1 }, wes.id);
    // Its minute is up (instead of waiting for it).
    await db.pool.query(`UPDATE pgboss.job SET start_after = now() WHERE name = 'notification_digest' AND singleton_key = $1`, [`user:${wes.id}`]);
    const dir = await mkdtemp(join(tmpdir(), 'cb-worker-'));
    const mailer = createMailer(db, loadConfig({ NODE_ENV: 'test', DATA_DIR: dir, MAIL_POLL_MS: '100' }), 'a-secret-long-enough-for-the-test-123');
    try {
      await mailer.startWorker();
      const end = Date.now() + 20_000;
      let sent = null;
      while (!sent && Date.now() < end) {
        sent = await db.prisma.outboundMail.findFirst({ where: { kind: 'STAFF_NOTICE', recipient: wes.email, state: 'SENT' } });
        if (!sent) await new Promise((r) => setTimeout(r, 200));
      }
      expect(sent).not.toBeNull();
      expect(await db.prisma.notification.count({ where: { userId: wes.id, emailPending: true } })).toBe(0);
      // (The worker sends the customers' queued mails too: the staff member's is the one to them.)
      const emls = await Promise.all((await readdir(join(dir, 'mail'))).map((f) => readFile(join(dir, 'mail', f), 'utf8')));
      const notice = emls.find((m) => m.includes(`To: ${wes.email}`));
      expect(notice).toContain(`/notifications/`);
      expect(notice).toContain('gave you this ticket');
    } finally {
      await mailer.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a notification read in the app before the digest runs is not mailed', async () => {
    const rae = await buildUser(db, { name: 'Rae Reads' });
    const t = await buildTicket(db, carl);
    await assignTicket(as(db, carl), { reference: t.reference, version: 1 }, rae.id);
    const [n] = await noticesOf(rae, t.id);
    const { agent } = await signIn(app, rae.email);
    await agent.get(`/notifications/${n!.id}/open`).expect(303);
    expect(await queueDigest(db.pool, rae.id)).toBeNull();
  });

  it('a single notice makes a mail about it alone', async () => {
    const sol = await buildUser(db, { name: 'Sol Single' });
    const t = await buildTicket(db, carl);
    await assignTicket(as(db, carl), { reference: t.reference, version: 1 }, sol.id);
    const id = await queueDigest(db.pool, sol.id);
    const mail = await db.prisma.outboundMail.findUniqueOrThrow({ where: { id: id! } });
    const payload = mail.payload as unknown as StaffNoticePayload;
    expect(payload.count).toBe(1);
    expect(payload.items[0]).toMatchObject({ kind: 'ASSIGNED', reference: t.reference, actorName: carl.name });
  });
});
