// Every signed-in user's profile: their own password (the current one first; their other
// sessions end, this one stays), their time zone (every staff time shown in it, customer pages in
// UTC) and theme. Also two ticket fixes from the same issue: an internal resolution note that
// never reaches the customer, and a ticket created with an owner being Open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Express } from 'express';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser, PASSWORD } from '../helpers/factories.js';
import { confirmLink, csrfOf, expectRefused, signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { issueAccessToken } from '../../src/services/public/access-links.js';
import { renderMail } from '../../src/mail/render.js';
import type { MailPayload } from '../../src/services/mail/outbox.js';
import { changeOwnPassword, updatePreferences } from '../../src/services/users/profile.js';
import { ValidationError } from '../../src/services/errors.js';
import { verifyPassword } from '../../src/services/passwords.js';

let db: TestDatabase;
let app: Express;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
});
afterAll(() => db?.close());

const userRow = (id: number) => db.prisma.user.findUniqueOrThrow({ where: { id } });
const refused = (send: () => PromiseLike<{ status: number; text: string }>, status: number, ...texts: string[]) =>
  expectRefused(db, send, status, ...texts);

/** A user signed in twice (two browsers): the profile is changed from the first. */
async function twoSessions(name: string) {
  const me = await buildUser(db, { name });
  const first = await signIn(app, me.email);
  const second = await signIn(app, me.email);
  return { me, first, second };
}

describe('the profile page', () => {
  it('shows who you are, with the forms, to every signed-in user (not only admins)', async () => {
    const me = await buildUser(db, { name: 'Petra Profile', email: 'petra.profile@example.test' });
    const { agent } = await signIn(app, me.email);
    const page = await agent.get('/profile').expect(200);
    expect(page.text).toContain('Petra Profile');
    expect(page.text).toContain('petra.profile@example.test');
    expect(page.text).toContain('name="currentPassword"');
    expect(page.text).toContain('<option value="UTC" selected>');
    expect(page.text).toMatch(/id="theme-system" name="theme" value="SYSTEM" checked/);
    // The header's name leads to it; the footer says which zone the times are in.
    expect((await agent.get('/tickets').expect(200)).text).toContain('<a href="/profile" >Petra Profile</a>');
    expect(page.text).toContain('Times are shown in UTC.');
  });
});

describe('changing your own password', () => {
  it('refuses a wrong current password, a weak new one or the same one, changing nothing', async () => {
    const { me, first } = await twoSessions('Wanda Wrong');
    const before = await userRow(me.id);
    const post = (body: Record<string, string>) => first.agent.post('/profile/password').type('form').send({ _csrf: first.csrf, ...body });
    await refused(() => post({ currentPassword: 'not my password at all', newPassword: 'a brand new long password' }), 422, 'This is not your current password.');
    await refused(() => post({ currentPassword: '', newPassword: 'a brand new long password' }), 422, 'Your current password is required.');
    await refused(() => post({ currentPassword: PASSWORD, newPassword: 'short' }), 422, 'at least 12 characters');
    await refused(() => post({ currentPassword: PASSWORD, newPassword: PASSWORD }), 422, 'must differ from the current one');
    await refused(() => post({ currentPassword: PASSWORD, newPassword: 'x'.repeat(1025) }), 422, 'at most 1024 characters');
    const after = await userRow(me.id);
    expect(after).toEqual(before); // same hash, same stamp, same version
    // Still signed in, both of them.
    await first.agent.get('/tickets').expect(200);
  });

  it('changes it: recorded without the password, other sessions end, this one stays signed in', async () => {
    const { me, first, second } = await twoSessions('Carl Change');
    const before = await userRow(me.id);
    const sessionsBefore = await db.prisma.session.count();
    const res = await first.agent
      .post('/profile/password')
      .type('form')
      .send({ _csrf: first.csrf, currentPassword: PASSWORD, newPassword: 'my new and longer password' })
      .expect(303);
    expect(res.headers.location).toBe('/profile?done=profile-password');

    const after = await userRow(me.id);
    expect(await verifyPassword('my new and longer password', after.passwordHash)).toBe(true);
    expect(after.securityStamp).not.toBe(before.securityStamp);
    const history = await db.prisma.userHistory.findMany({ where: { userId: me.id } });
    expect(history.map((h) => [h.action, h.field, h.oldValue, h.newValue, h.actorId])).toEqual([['CHANGED', 'password', null, 'reset', me.id]]);
    expect(JSON.stringify(history)).not.toContain('my new and longer password');
    expect(JSON.stringify(history)).not.toContain('scrypt$');

    // This browser: still signed in, on a new session, with the confirmation.
    const page = await first.agent.get(res.headers.location!).expect(200);
    expect(page.text).toContain('Password changed. Your other sessions were signed out.');
    // The other browser: signed out.
    const other = await second.agent.get('/tickets');
    expect(other.status).toBe(303);
    expect(other.headers.location).toMatch(/^\/login/);
    // One of the two sessions is left: this browser's new one.
    expect(await db.prisma.session.count()).toBe(sessionsBefore - 1);
    // The old password no longer signs in; the new one does.
    const login = await request.agent(app).get('/login');
    await request(app).post('/login').set('Cookie', login.headers['set-cookie']!).type('form')
      .send({ _csrf: csrfOf(login.text), email: me.email, password: PASSWORD }).expect(401);
    await signIn(app, me.email, 'my new and longer password');
    // The admin's view of the user's history says who did it.
    const admin = await buildUser(db, { role: 'ADMIN' });
    const adminView = await (await signIn(app, admin.email)).agent.get(`/admin/users/${me.id}`).expect(200);
    expect(adminView.text).toContain('changed their own password');
  });

  it('the service checks the current password too', async () => {
    const me = await buildUser(db);
    const before = await countRows(db);
    await expect(changeOwnPassword(as(db, me), 'wrong', 'a good long password')).rejects.toThrow(ValidationError);
    expect(await countRows(db)).toEqual(before);
  });
});

describe('time zone', () => {
  it('shows every staff time in the chosen zone with its offset; customer pages stay in UTC', async () => {
    const me = await buildUser(db, { name: 'Ishan Zone' });
    const { agent, csrf } = await signIn(app, me.email);
    // Asia/Kolkata is what newer zone data and browsers say; this runtime lists it as Asia/Calcutta.
    await agent.post('/profile/preferences').type('form').send({ _csrf: csrf, timeZone: 'Asia/Kolkata', theme: 'SYSTEM' }).expect(303);
    const row = await userRow(me.id);
    expect(row.timeZone).toBe('Asia/Calcutta');
    const history = await db.prisma.userHistory.findMany({ where: { userId: me.id } });
    expect(history.map((h) => [h.field, h.oldValue, h.newValue, h.actorId])).toEqual([['timeZone', 'UTC', 'Asia/Calcutta', me.id]]);

    const t = await buildTicket(db, me);
    const page = await agent.get(`/tickets/${t.reference}`).expect(200);
    // Kolkata is UTC+05:30 all year: the creation time, shifted by hand.
    const local = new Date(t.createdAt.getTime() + 330 * 60_000).toISOString();
    const hhmm = local.slice(11, 16);
    const utc = t.createdAt.toISOString().slice(11, 16);
    expect(page.text).toContain(`, ${hhmm} UTC+05:30`);
    expect(page.text).not.toContain(`, ${utc} UTC`);
    expect(page.text).toContain('Times are shown in Asia/Calcutta (UTC+05:30 now).');
    // The queue's titles too.
    expect((await agent.get('/tickets').expect(200)).text).toContain(`${hhmm} UTC+05:30`);

    // The customer's private link, opened in the same browser: UTC, said so.
    const link = await confirmLink(agent, await issueAccessToken(db.pool, t.id, null, 30));
    expect(link.text).toContain(`${utc} UTC`);
    expect(link.text).not.toContain('UTC+05:30');
    expect(link.text).not.toContain('Times are shown in');
  });

  it('refuses a zone that is not on the list, and a theme that does not exist, changing nothing', async () => {
    const me = await buildUser(db);
    const { agent, csrf } = await signIn(app, me.email);
    const post = (body: Record<string, string>) => agent.post('/profile/preferences').type('form').send({ _csrf: csrf, ...body });
    for (const timeZone of ['Mars/Olympus_Mons', '', 'Asia/Kolkata<script>', 'x'.repeat(5000), '../../etc/passwd', '+05:30']) {
      const res = await refused(() => post({ timeZone, theme: 'DARK' }), 422, 'Choose a time zone from the list.');
      expect(res.text).not.toContain('<script>'); // the typed value is escaped if shown at all
    }
    await refused(() => post({ timeZone: 'Europe/Paris', theme: 'PURPLE' }), 422, 'Choose a valid theme.');
    await refused(() => post({ timeZone: 'Europe/Paris' }), 422, 'Choose a valid theme.');
    expect(await userRow(me.id)).toMatchObject({ timeZone: 'UTC', theme: 'SYSTEM', version: 1 });
    // The service refuses it too, whoever calls it.
    await expect(updatePreferences(as(db, me), { timeZone: 'Nowhere/Land', theme: 'DARK' })).rejects.toThrow(ValidationError);
  });
});

describe('theme', () => {
  it('puts the chosen theme on <html>; "follow the system" puts none (prefers-color-scheme decides)', async () => {
    const me = await buildUser(db);
    const { agent, csrf } = await signIn(app, me.email);
    expect((await agent.get('/tickets').expect(200)).text).toContain('<html lang="en">');
    const choose = (theme: string) =>
      agent.post('/profile/preferences').type('form').send({ _csrf: csrf, timeZone: 'UTC', theme }).expect(303);
    await choose('DARK');
    let page = await agent.get('/tickets').expect(200);
    expect(page.text).toContain('<html lang="en" data-theme="dark">');
    expect((await agent.get('/profile').expect(200)).text).toMatch(/id="theme-dark" name="theme" value="DARK" checked/);
    await choose('LIGHT');
    page = await agent.get('/tickets').expect(200);
    expect(page.text).toContain('<html lang="en" data-theme="light">');
    await choose('SYSTEM');
    expect((await agent.get('/tickets').expect(200)).text).toContain('<html lang="en">');
    // The stylesheet has both: the explicit choice, and the system's setting.
    const css = (await request(app).get('/public/css/app.css').expect(200)).text;
    expect(css).toContain(':root[data-theme=dark]');
    expect(css).toContain('@media (prefers-color-scheme: dark)');
    expect(css).toContain(':root:not([data-theme=light])');
  });
});

describe('internal resolution note', () => {
  it('is kept, shown to staff marked internal, and never reaches the customer (mail or private link)', async () => {
    const tech = await buildUser(db, { name: 'Rita Resolver' });
    const { agent, csrf } = await signIn(app, tech.email);
    const t = await buildTicket(db, tech);
    await agent
      .post(`/tickets/${t.reference}/resolve`)
      .type('form')
      .send({
        _csrf: csrf,
        version: t.version,
        resolutionCode: 'FIXED',
        resolutionNote: 'We replaced the toner cartridge.',
        internalResolutionNote: 'STAFF-ONLY: cartridge was a grey-market one, supplier flagged.',
      })
      .expect(303);
    const row = await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } });
    expect(row).toMatchObject({ status: 'RESOLVED', internalResolutionNote: 'STAFF-ONLY: cartridge was a grey-market one, supplier flagged.' });
    const history = await db.prisma.ticketHistory.findMany({ where: { ticketId: t.id, field: 'internalResolutionNote' } });
    expect(history.map((h) => [h.oldValue, h.newValue, h.actorId])).toEqual([[null, row.internalResolutionNote, tech.id]]);

    // Staff see it, marked internal, and the history says it was written.
    const page = await agent.get(`/tickets/${t.reference}`).expect(200);
    expect(page.text).toContain('STAFF-ONLY: cartridge was a grey-market one');
    expect(page.text).toContain('Internal resolution note');
    expect(page.text).toContain('Internal — not visible to the customer');
    expect(page.text).toContain('wrote the internal resolution note');

    // The mail the customer gets: neither its payload nor its rendered text or HTML has it.
    const mail = await db.prisma.outboundMail.findFirstOrThrow({ where: { ticketId: t.id, kind: 'RESOLVED' } });
    expect(JSON.stringify(mail.payload)).not.toContain('STAFF-ONLY');
    const rendered = renderMail('RESOLVED', mail.payload as unknown as MailPayload, 'http://localhost/s/x');
    expect(rendered.text).toContain('We replaced the toner cartridge.');
    expect(rendered.text + rendered.html + rendered.subject).not.toContain('STAFF-ONLY');

    // The customer's private link and the status lookup.
    const customer = request.agent(app);
    const link = await confirmLink(customer, await issueAccessToken(db.pool, t.id, null, 30));
    expect(link.text).toContain('We replaced the toner cartridge.');
    expect(link.text).not.toContain('STAFF-ONLY');
  });

  it('is optional; an over-long one is refused with nothing written', async () => {
    const tech = await buildUser(db);
    const { agent, csrf } = await signIn(app, tech.email);
    const t = await buildTicket(db, tech);
    const send = (extra: Record<string, string>) =>
      agent.post(`/tickets/${t.reference}/resolve`).type('form').send({ _csrf: csrf, version: t.version, resolutionCode: 'FIXED', resolutionNote: 'Done.', ...extra });
    await refused(() => send({ internalResolutionNote: 'x'.repeat(20_001) }), 422, 'An internal resolution note can be at most 20000 characters.');
    await send({ internalResolutionNote: '   ' }).expect(303);
    const row = await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } });
    expect(row).toMatchObject({ status: 'RESOLVED', internalResolutionNote: null });
    expect(await db.prisma.ticketHistory.count({ where: { ticketId: t.id, field: 'internalResolutionNote' } })).toBe(0);
  });
});

describe('a ticket created with an owner', () => {
  it('is Open from the start, with its one creation row; without an owner it is New', async () => {
    const tech: Actor = await buildUser(db, { name: 'Olga Owner' });
    const { agent, csrf } = await signIn(app, tech.email);
    const form = {
      _csrf: csrf,
      title: 'VPN drops every hour',
      description: 'Since the update.',
      urgency: 'NORMAL',
      channel: 'PHONE',
      customerName: 'Vic VPN',
      customerEmail: 'vic.vpn@customer.test',
    };
    const mine = await agent.post('/tickets').type('form').send({ ...form, assignToMe: '1' }).expect(303);
    const nobodys = await agent.post('/tickets').type('form').send(form).expect(303);
    const byRef = (res: { headers: Record<string, string> }) =>
      db.prisma.ticket.findUniqueOrThrow({ where: { reference: res.headers.location!.split('/')[2]!.split('?')[0]! }, include: { history: true } });
    const taken = await byRef(mine);
    expect(taken).toMatchObject({ status: 'OPEN', assigneeId: tech.id, version: 1 });
    expect(taken.history).toHaveLength(1);
    expect(taken.history[0]).toMatchObject({ action: 'CREATED', actorId: tech.id, newRefId: tech.id, ticketVersion: 1 });
    expect(JSON.parse(taken.history[0]!.newValue!)).toMatchObject({ status: 'OPEN', assignee: 'Olga Owner' });
    expect((await agent.get(`/tickets/${taken.reference}`).expect(200)).text).toContain('and took it (Open)');

    const open = await byRef(nobodys);
    expect(open).toMatchObject({ status: 'NEW', assigneeId: null });
    expect(open.history).toHaveLength(1);
    expect(JSON.parse(open.history[0]!.newValue!)).toMatchObject({ status: 'NEW', assignee: null });
  });
});
