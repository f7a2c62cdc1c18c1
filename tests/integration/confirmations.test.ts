// After each ticket action the redirect carries a fixed key (?done=...) and keeps its anchor; the
// page shows that key's text as a polite status where the user lands. Unknown keys show nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import type TestAgent from 'supertest/lib/agent.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { createArticle, setArticleStatus } from '../../src/services/knowledge/manage-articles.js';

let db: TestDatabase;
let app: Express;
let tech: Actor;
let admin: Actor;
let agent: TestAgent;
let csrf: string;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  tech = await buildUser(db, { name: 'Tia Tech' });
  admin = await buildUser(db, { name: 'Ada Admin', role: 'ADMIN' });
  ({ agent, csrf } = await signIn(app, tech.email));
});
afterAll(() => db?.close());

/** The status paragraph and the section it sits in (the last section opened before it). */
function confirmationIn(html: string): { text: string; section: string } | null {
  const m = html.match(/<p class="notice done" role="status">([^<]*)<\/p>/);
  if (!m) return null;
  const before = html.slice(0, m.index);
  const sections = [...before.matchAll(/<section[^>]* id="([^"]+)"/g)];
  return { text: m[1]!, section: sections.at(-1)![1]! };
}

async function follow(location: string) {
  const [path] = location.split('#');
  return agent.get(path!).expect(200);
}

describe('ticket actions confirm what they did, where the user lands', () => {
  it('each action: 303 with its key and anchor, and the page says so in that section', async () => {
    const t = await buildTicket(db, tech);
    const other = await buildUser(db, { name: 'Olga Other' });
    const article = await createArticle(as(db, admin), { title: 'Printer blank pages', body: 'Replace the toner.', tags: [] });
    await setArticleStatus(as(db, admin), article.id, article.version, 'PUBLISHED');
    let version = t.version;
    const fresh = async () => (version = (await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } })).version);
    const steps: [string, Record<string, unknown>, string, string, string][] = [
      ['urgency', { urgency: 'HIGH' }, 'urgency-high', 'history', 'Urgency changed to High.'],
      ['take', {}, 'take', 'history', 'You took this ticket.'],
      ['assign', { assigneeId: other.id }, 'assign', 'history', 'Owner changed.'],
      ['assign', { assigneeId: '' }, 'unassign', 'history', 'Ticket unassigned.'],
      ['status', { status: 'IN_PROGRESS' }, 'status-in-progress', 'history', 'Status changed to In progress.'],
      ['details', { title: 'Printer prints blank pages', description: 'Every job.', channel: 'PHONE' }, 'details', 'history', 'Details saved.'],
      ['worklog', { kind: 'NOTE', body: 'Checked the toner.' }, 'worklog-note', 'worklog', 'Note added.'],
      ['worklog', { kind: 'REPLY', body: 'We are on it.' }, 'worklog-reply', 'worklog', 'Reply sent to the customer.'],
      ['articles', { articleId: article.id }, 'articles', 'articles', 'Article linked.'],
      ['unlink-article', { articleId: article.id }, 'unlink-article', 'articles', 'Article unlinked.'],
      ['revoke-links', {}, 'revoke-links', 'history', 'Private links revoked.'],
      ['resolve', { resolutionCode: 'FIXED', resolutionNote: 'New toner.' }, 'resolve-fixed', 'history', 'Ticket resolved: Fixed.'],
      ['reopen', { reason: 'Blank again.' }, 'reopen', 'history', 'Ticket reopened.'],
    ];
    for (const [action, body, key, anchor, text] of steps) {
      await fresh();
      const res = await agent.post(`/tickets/${t.reference}/${action}`).type('form').send({ _csrf: csrf, version, ...body });
      expect(res.status, `${action}: ${res.text.slice(0, 300)}`).toBe(303);
      expect(res.headers.location).toBe(`/tickets/${t.reference}?done=${key}#${anchor}`);
      const page = await follow(res.headers.location as string);
      expect(confirmationIn(page.text), action).toEqual({ text, section: anchor });
      expect(page.headers['cache-control'] ?? '').not.toMatch(/public/);
    }
    // The page without a key says nothing.
    const plain = await agent.get(`/tickets/${t.reference}`).expect(200);
    expect(confirmationIn(plain.text)).toBeNull();
    expect(plain.text).not.toContain('role="status"');
  });

  it('a redaction lands on the file, the confirmation in the section that holds it', async () => {
    const t = await buildTicket(db, tech);
    const { agent: adminAgent, csrf: adminCsrf } = await signIn(app, admin.email);
    await adminAgent.post(`/tickets/${t.reference}/worklog`).field('_csrf', adminCsrf).field('kind', 'NOTE').field('body', 'oops')
      .attach('files', Buffer.from('password: hunter2\n'), { filename: 'secret.txt', contentType: 'text/plain' }).expect(303);
    const file = await db.prisma.attachment.findFirstOrThrow({ where: { ticketId: t.id } });
    const res = await adminAgent.post(`/tickets/${t.reference}/redact-file/${file.id}`).type('form').send({ _csrf: adminCsrf }).expect(303);
    expect(res.headers.location).toBe(`/tickets/${t.reference}?done=redact-file&file=${file.id}#file-${file.id}`);
    const page = await adminAgent.get((res.headers.location as string).split('#')[0]!).expect(200);
    expect(confirmationIn(page.text)).toEqual({ text: 'File redacted.', section: 'worklog' });
  });

  it('an unknown, repeated or hostile key shows nothing and is never echoed', async () => {
    const t = await buildTicket(db, tech);
    for (const done of ['nope', '<script>alert(1)</script>', 'Urgency changed to High.', 'constructor', '__proto__', 'toString']) {
      const page = await agent.get(`/tickets/${t.reference}`).query({ done }).expect(200);
      expect(page.text).not.toContain('role="status"');
      expect(page.text).not.toContain('<script>alert(1)</script>');
      expect(page.text).not.toContain('Urgency changed to High.');
    }
    const twice = await agent.get(`/tickets/${t.reference}?done=take&done=take`).expect(200);
    expect(twice.text).not.toContain('role="status"');
  });

  it('a refused action shows its problem, not a confirmation', async () => {
    const t = await buildTicket(db, tech);
    const res = await agent.post(`/tickets/${t.reference}/urgency?done=take`).type('form').send({ _csrf: csrf, version: t.version, urgency: 'PANIC' }).expect(422);
    expect(res.text).not.toContain('You took this ticket.');
  });
});

describe('the other staff pages confirm the same way', () => {
  const statusText = (html: string) => html.match(/<p class="notice done" role="status">([^<]*)<\/p>/)?.[1] ?? null;

  it('customers: an edit lands on the history with "Customer saved."', async () => {
    const t = await buildTicket(db, tech);
    const c = await db.prisma.customer.findUniqueOrThrow({ where: { id: t.customerId } });
    const res = await agent.post(`/customers/${c.id}`).type('form')
      .send({ _csrf: csrf, version: String(c.version), name: 'Renamed Person', email: c.email, phone: '', organization: '', environment: '' }).expect(303);
    expect(res.headers.location).toBe(`/customers/${c.id}?done=customer-saved#history`);
    const page = await follow(res.headers.location as string);
    expect(confirmationIn(page.text)).toEqual({ text: 'Customer saved.', section: 'history' });
    expect(statusText((await agent.get(`/customers/${c.id}?done=nope`).expect(200)).text)).toBeNull();
  });

  it('admin users: created, saved, deactivated, each said at the top of the user page', async () => {
    const { agent: adminAgent, csrf: adminCsrf } = await signIn(app, admin.email);
    const created = await adminAgent.post('/admin/users').type('form')
      .send({ _csrf: adminCsrf, email: 'conf@example.test', name: 'Con Firm', role: 'TECHNICIAN', password: 'a-long-enough-password' }).expect(303);
    const u = await db.prisma.user.findUniqueOrThrow({ where: { email: 'conf@example.test' } });
    expect(created.headers.location).toBe(`/admin/users/${u.id}?done=user-created`);
    expect(statusText((await adminAgent.get(created.headers.location as string).expect(200)).text)).toBe('User created.');
    const saved = await adminAgent.post(`/admin/users/${u.id}`).type('form').send({ _csrf: adminCsrf, version: u.version, email: u.email, name: 'Con Firmed', role: 'TECHNICIAN' }).expect(303);
    expect(statusText((await adminAgent.get(saved.headers.location as string).expect(200)).text)).toBe('User saved.');
    const off = await adminAgent.post(`/admin/users/${u.id}/active`).type('form').send({ _csrf: adminCsrf, version: u.version + 1, active: 'false' }).expect(303);
    expect(off.headers.location).toBe(`/admin/users/${u.id}?done=user-active`);
    expect(statusText((await adminAgent.get(off.headers.location as string).expect(200)).text)).toBe('Active state changed.');
  });

  it('articles: created, published', async () => {
    const { agent: adminAgent, csrf: adminCsrf } = await signIn(app, admin.email);
    const created = await adminAgent.post('/articles').type('form')
      .send({ _csrf: adminCsrf, title: 'Confirm me', body: 'Text.', tags: '', visibility: 'INTERNAL' }).expect(303);
    expect(created.headers.location).toMatch(/^\/articles\/\d+\?done=article-created$/);
    expect(statusText((await adminAgent.get(created.headers.location as string).expect(200)).text)).toBe('Article created.');
    const id = Number(/\/articles\/(\d+)/.exec(created.headers.location as string)![1]);
    const a = await db.prisma.article.findUniqueOrThrow({ where: { id } });
    const published = await adminAgent.post(`/articles/${id}/status`).type('form').send({ _csrf: adminCsrf, version: a.version, status: 'PUBLISHED' }).expect(303);
    expect(statusText((await adminAgent.get(published.headers.location as string).expect(200)).text)).toBe('Article published.');
  });
});
