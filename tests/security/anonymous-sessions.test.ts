// An anonymous visitor cannot grow the database (issue 9, finding 6): reading the customer-facing
// pages or the sign-in page, with or without cookies, and even sending their forms, stores no
// session row. Their CSRF defence is a signed double-submit cookie (src/web/middleware/csrf.ts),
// which needs no server state: these tests also show it still tells one browser from another.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { buildTicket, buildUser } from '../helpers/factories.js';
import { confirmLink, csrfOf, expectRefused, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { issueAccessToken } from '../../src/services/public/access-links.js';
import { createArticle, setArticleStatus } from '../../src/services/knowledge/manage-articles.js';
import { as } from '../helpers/factories.js';
import { sessionCookie, signInRaw, withCookies } from './route-cases.js';

let db: TestDatabase;
let app: Express;
let tech: Actor;
let pages: string[];
let token: string;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db, { PUBLIC_FORM_LIMIT: '10000' });
  tech = await buildUser(db, { name: 'Nadia Night' });
  const admin = await buildUser(db, { role: 'ADMIN' });
  const ticket = await buildTicket(db, tech, { customer: { name: 'Anna', email: 'anna@customer.test' } });
  token = await issueAccessToken(db.pool, ticket.id, null, 30);
  const a = await createArticle(as(db, admin), { title: 'Printer offline after update', body: 'Restart it.', visibility: 'PUBLIC' });
  await setArticleStatus(as(db, admin), a.id, a.version, 'PUBLISHED');
  pages = [
    '/status', '/request', '/request?title=printer', `/s/${token}`, '/s/not-a-token', '/help',
    '/help?q=printer', '/help/suggest?title=printer', `/help/${a.id}`, '/login', '/login?next=%2Ftickets', '/tickets', '/no-such-page',
  ];
});
afterAll(() => db?.close());

const sessionRows = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM "session"')).rows[0]!.n;

describe('anonymous visitors store nothing', () => {
  it('N cookieless GETs of every public page and the sign-in page add no session row, and set no session cookie', async () => {
    const before = await sessionRows();
    const sessionCookies: string[] = [];
    for (let i = 0; i < 10; i++) {
      for (const page of pages) {
        const res = await request(app).get(page);
        expect(res.status, page).toBeLessThan(500);
        if (sessionCookie(res)) sessionCookies.push(page);
      }
    }
    expect(await sessionRows(), `session rows after ${10 * pages.length} GETs`).toBe(before);
    expect(sessionCookies).toEqual([]);
  });

  it('a browser that keeps its cookies, reads every page and sends every public form, adds no session row either', async () => {
    const before = await sessionRows();
    const agent = request.agent(app);
    for (const page of pages) await agent.get(page);
    const csrf = csrfOf((await agent.get('/request')).text);
    await agent.post('/status').type('form').send({ _csrf: csrf, reference: 'CB-ZZZZZZZ', email: 'anna@customer.test' }).expect(404);
    await agent.post('/request').type('form').send({ _csrf: csrf, name: 'Ann', email: 'ann@customer.test', title: 'Printer offline', description: 'Since today.' }).expect(201);
    await agent.post(`/s/${token}/reply`).type('form').send({ _csrf: csrf, body: 'Still offline.' }).expect(303);
    await agent.post('/login').type('form').send({ _csrf: csrf, email: 'nobody@example.test', password: 'wrong password' }).expect(401);
    expect(await sessionRows()).toBe(before);
    // Confirming a private link (its button) and reading the confirmed link's page: still none.
    const other = await issueAccessToken(db.pool, (await buildTicket(db, tech, { customer: { name: 'Bert', email: 'bert@customer.test' } })).id, null, 30);
    await confirmLink(agent, other);
    for (let i = 0; i < 5; i++) await request(app).get(`/s/${other}`).expect(200);
    expect(await sessionRows()).toBe(before);
  });

  it('a session row is made by signing in, and only then', async () => {
    const before = await sessionRows();
    const s = await signInRaw(app, tech.email);
    expect(await sessionRows()).toBe(before + 1);
    await request(app).get('/tickets').set('Cookie', s.cookie).expect(200);
    expect(await sessionRows()).toBe(before + 1);
  });
});

describe('the stateless CSRF token', () => {
  it('is one browser’s: another browser’s token, or a token without its cookie, is refused', async () => {
    const a = request.agent(app);
    const b = request.agent(app);
    const tokenA = csrfOf((await a.get('/request')).text);
    const tokenB = csrfOf((await b.get('/request')).text);
    expect(tokenA).not.toBe(tokenB);
    const form = { name: 'Eve', email: 'eve@customer.test', title: 'Forged', description: 'Forged.' };
    await expectRefused(db, () => a.post('/request').type('form').send({ ...form, _csrf: tokenB }), 403, 'This form has expired');
    await expectRefused(db, () => request(app).post('/request').type('form').send({ ...form, _csrf: tokenA }), 403);
    // Its own token goes through.
    await a.post('/request').type('form').send({ ...form, _csrf: tokenA }).expect(201);
  });

  it('a token made before sign-in or for another session does not work in a signed-in session', async () => {
    const page = await request(app).get('/login').expect(200);
    const anonymous = { cookie: withCookies(page), csrf: csrfOf(page.text) };
    const s = await signInRaw(app, tech.email);
    const other = await signInRaw(app, tech.email);
    const note = (cookie: string, csrf: string) =>
      request(app).post('/tickets/CB-0000000/worklog').set('Cookie', cookie).type('form').send({ _csrf: csrf, kind: 'NOTE', body: 'x' });
    // The anonymous cookie and token with the signed-in session cookie: bound to no session.
    const sid = s.cookie.split('; ').find((c) => c.startsWith('caseboard.sid='))!;
    await expectRefused(db, () => note(`${sid}; ${anonymous.cookie}`, anonymous.csrf), 403);
    // Another session's cookie and token with this session: bound to the other session.
    const otherCsrfCookie = other.cookie.split('; ').find((c) => c.startsWith('caseboard.csrf='))!;
    await expectRefused(db, () => note(`${sid}; ${otherCsrfCookie}`, other.csrf), 403);
    // The session's own: not refused by the CSRF check (the ticket does not exist).
    expect((await note(s.cookie, s.csrf)).status).toBe(404);
  });
});
