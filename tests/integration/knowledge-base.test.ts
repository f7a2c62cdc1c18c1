// The knowledge base: articles with revisions and history, safe Markdown, ranked full-text
// search, and the links between articles and tickets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import type TestAgent from 'supertest/lib/agent.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { expectRefused, signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { createArticle, setArticleStatus, updateArticle } from '../../src/services/knowledge/manage-articles.js';
import { searchArticles } from '../../src/services/knowledge/read-articles.js';
import { resolveTicket } from '../../src/services/tickets/resolve-ticket.js';
import { markdownToHtml } from '../../src/web/presenters/markdown.js';

let db: TestDatabase;
let app: Express;
let admin: Actor;
let tech: Actor;
let adminAgent: TestAgent;
let adminCsrf: string;
let techAgent: TestAgent;
let techCsrf: string;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
  tech = await buildUser(db, { name: 'Tom Tech' });
  ({ agent: adminAgent, csrf: adminCsrf } = await signIn(app, admin.email));
  ({ agent: techAgent, csrf: techCsrf } = await signIn(app, tech.email));
});
afterAll(() => db?.close());

async function published(title: string, body: string, tags: string[] = []) {
  const a = await createArticle(as(db, admin), { title, body, tags });
  return setArticleStatus(as(db, admin), a.id, a.version, 'PUBLISHED');
}

describe('Markdown', () => {
  it('renders to HTML with scripts, javascript: links and event handlers removed', () => {
    const html = markdownToHtml(
      '# Fix\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1)) <img src="https://x.test/a.png" onerror="alert(1)"> ' +
        '<a href="https://ok.test" onclick="steal()">ok</a> <iframe src="https://evil.test"></iframe>\n\n**bold** `code`',
    );
    expect(html).toContain('<h1>Fix</h1>');
    expect(html).toContain('<strong>bold</strong>');
    expect(html).not.toMatch(/<script|javascript:|onerror|onclick|<iframe|alert\(1\)<\/script>/i);
    expect(html).toContain('href="https://ok.test"');
  });
});

describe('search', () => {
  it('ranks a title match above a body match, highlights hits, and tolerates typos in titles', async () => {
    const inBody = await published('Office network basics', 'When the printer spooler hangs, restart it from services.');
    const inTitle = await published('Printer spooler hangs', 'Restart the service and clear the queue folder.');
    const { hits } = await searchArticles(as(db, tech), { q: 'spooler' });
    expect(hits.map((h) => h.id).slice(0, 2)).toEqual([inTitle.id, inBody.id]);
    expect(hits.find((h) => h.id === inBody.id)!.snippet).toContain('\u0002spooler\u0003');
    const typo = await searchArticles(as(db, tech), { q: 'Priner spooler hangz' });
    expect(typo.hits.map((h) => h.id)).toContain(inTitle.id);
    const excluded = await searchArticles(as(db, tech), { q: 'spooler -network' });
    expect(excluded.hits.map((h) => h.id)).toEqual([inTitle.id]);
    const phrase = await searchArticles(as(db, tech), { q: '"clear the queue"' });
    expect(phrase.hits.map((h) => h.id)).toEqual([inTitle.id]);
  });

  it('the list page shows snippets with only <mark> as markup', async () => {
    await published('Café wifi drops', 'Reconnect to <b>guest</b> network.');
    const res = await techAgent.get('/articles?q=cafe').expect(200); // accents do not matter
    expect(res.text).toContain('Café wifi drops');
    expect(res.text).not.toContain('<b>guest</b>');
    expect(res.text).toMatch(/<mark>wifi<\/mark>|guest/);
  });
});

describe('permissions and history', () => {
  it('a technician proposes a draft, cannot publish it, and others cannot see it until an admin does', async () => {
    const res = await techAgent
      .post('/articles')
      .type('form')
      .send({ _csrf: techCsrf, title: 'VPN reconnect loop', body: 'Steps…', tags: 'vpn, Network ,vpn', visibility: 'PUBLIC' })
      .expect(303);
    const id = Number(String(res.headers.location).split('?')[0]!.split('/').pop());
    const draft = await db.prisma.article.findUniqueOrThrow({ where: { id } });
    expect(draft).toMatchObject({ status: 'DRAFT', visibility: 'INTERNAL', tags: ['vpn', 'network'], authorId: tech.id });

    await expectRefused(db, () => techAgent.post(`/articles/${id}/status`).type('form').send({ _csrf: techCsrf, version: 1, status: 'PUBLISHED' }), 403);
    const colleague = await buildUser(db);
    const other = await signIn(app, colleague.email);
    await other.agent.get(`/articles/${id}`).expect(404);

    await adminAgent.post(`/articles/${id}/status`).type('form').send({ _csrf: adminCsrf, version: 1, status: 'PUBLISHED' }).expect(303);
    await other.agent.get(`/articles/${id}`).expect(200);
    // Published: only admins edit it now.
    await expectRefused(db, () => techAgent.post(`/articles/${id}`).type('form').send({ _csrf: techCsrf, version: 2, title: 'x', body: 'y' }), 403);
  });

  it('every edit is a revision; revisions can be viewed and compared; the history names each change', async () => {
    let a = await createArticle(as(db, admin), { title: 'Reset a password', body: 'Line one\nLine two', tags: [] });
    a = await updateArticle(as(db, admin), a.id, a.version, { title: 'Reset a user password', body: 'Line one\nLine 2 changed', tags: ['accounts'] });
    a = await setArticleStatus(as(db, admin), a.id, a.version, 'PUBLISHED');
    const revisions = await db.prisma.articleRevision.findMany({ where: { articleId: a.id }, orderBy: { version: 'asc' } });
    expect(revisions.map((r) => [r.version, r.title])).toEqual([[1, 'Reset a password'], [2, 'Reset a user password']]);
    const history = await db.prisma.articleHistory.findMany({ where: { articleId: a.id }, orderBy: { id: 'asc' } });
    expect(history.map((h) => [h.action, h.field, h.oldValue, h.newValue])).toEqual([
      ['CREATED', null, null, expect.any(String)],
      ['CHANGED', 'title', 'Reset a password', 'Reset a user password'],
      ['CHANGED', 'body', 'revision 1', 'revision 2'],
      ['CHANGED', 'tags', '', 'accounts'],
      ['CHANGED', 'status', 'DRAFT', 'PUBLISHED'],
    ]);
    const old = await techAgent.get(`/articles/${a.id}/revisions/1`).expect(200);
    expect(old.text).toContain('Line two');
    const diff = await techAgent.get(`/articles/${a.id}/compare?from=1&to=2`).expect(200);
    expect(diff.text).toContain('<del>Line two</del><ins>Line 2 changed</ins>');
    await techAgent.get(`/articles/${a.id}/revisions/99`).expect(404);
    await expectRefused(db, () => adminAgent.post(`/articles/${a.id}`).type('form').send({ _csrf: adminCsrf, version: 1, title: 'stale', body: 'stale' }), 409, 'changed by someone else', 'stale');
  });

  it('bad input is refused with the reason and writes nothing', async () => {
    const post = (body: Record<string, string>) => adminAgent.post('/articles').type('form').send({ _csrf: adminCsrf, ...body });
    await expectRefused(db, () => post({ title: '', body: 'x' }), 422, 'A title is required.');
    await expectRefused(db, () => post({ title: 't'.repeat(201), body: 'x' }), 422, 'at most 200 characters');
    await expectRefused(db, () => post({ title: 't', body: 'x', visibility: 'EVERYONE' }), 422, 'Choose a valid visibility.');
    await expectRefused(db, () => post({ title: 't', body: 'x', tags: Array.from({ length: 21 }, (_, i) => `t${i}`).join(',') }), 422, 'At most 20 tags.');
    await expectRefused(db, () => post({ title: 't', body: 'x', sourceReference: 'CB-0000000' }), 404);
  });
});

describe('articles and tickets', () => {
  it('links an article to a ticket and resolves "by article", recorded in the ticket history', async () => {
    const article = await published('Outlook safe mode', 'Start Outlook with /safe.');
    const t = await buildTicket(db, tech);
    await techAgent.post(`/tickets/${t.reference}/articles`).type('form').send({ _csrf: techCsrf, articleId: article.id }).expect(303);
    await techAgent.post(`/tickets/${t.reference}/articles`).type('form').send({ _csrf: techCsrf, articleId: article.id }).expect(303); // once only
    const resolved = await resolveTicket(as(db, tech), { reference: t.reference, version: t.version }, {
      code: 'WORKAROUND',
      note: 'Safe mode works',
      articleId: article.id,
    });
    expect(resolved.resolutionArticleId).toBe(article.id);
    const rows = await db.prisma.ticketHistory.findMany({ where: { ticketId: t.id }, orderBy: { id: 'asc' } });
    expect(rows.filter((r) => r.action === 'LINKED').map((r) => r.newRefId)).toEqual([article.id]);
    expect(rows.find((r) => r.field === 'resolutionArticleId')).toMatchObject({ newRefId: article.id, newValue: 'Outlook safe mode' });
    const page = await techAgent.get(`/tickets/${t.reference}`).expect(200);
    expect(page.text).toContain('linked the article “Outlook safe mode”');
    expect(page.text).toContain('resolved it with the article “Outlook safe mode”');
    // A draft cannot be linked.
    const draft = await createArticle(as(db, admin), { title: 'Not yet', body: 'x' });
    await expectRefused(db, () => techAgent.post(`/tickets/${t.reference}/articles`).type('form').send({ _csrf: techCsrf, articleId: draft.id }), 422, 'Choose a published article.');
  });

  it('turns a resolution into a pre-filled draft that remembers its ticket', async () => {
    let t = await buildTicket(db, tech, { title: 'Scanner saves blank PDFs', description: 'Every scan is a blank PDF.' });
    t = await resolveTicket(as(db, tech), { reference: t.reference, version: t.version }, { code: 'FIXED', note: 'Updated the TWAIN driver to 4.2.' });
    const form = await techAgent.get(`/articles/new?fromTicket=${t.reference}`).expect(200);
    expect(form.text).toContain('Scanner saves blank PDFs');
    expect(form.text).toContain('Updated the TWAIN driver to 4.2.');
    expect(form.text).toContain(`name="sourceReference" value="${t.reference}"`);
    const res = await techAgent
      .post('/articles')
      .type('form')
      .send({ _csrf: techCsrf, title: 'Scanner saves blank PDFs', body: '## Resolution\n\nUpdate the driver.', sourceReference: t.reference })
      .expect(303);
    const id = Number(String(res.headers.location).split('?')[0]!.split('/').pop());
    expect((await db.prisma.article.findUniqueOrThrow({ where: { id } })).sourceTicketId).toBe(t.id);
    const open = await buildTicket(db, tech);
    await techAgent.get(`/articles/new?fromTicket=${open.reference}`).expect(422);
  });
});

describe('suggestions while a ticket is typed', () => {
  it('offers matching articles and open tickets, and logs the call as a duplicate of one in one go', async () => {
    await published('Badge reader rejects cards', 'Re-enrol the badge at reception.');
    const original = await buildTicket(db, tech, { title: 'Badge reader at the north door rejects every card' });
    const suggest = await techAgent.get('/tickets/suggest?title=' + encodeURIComponent('badge reader rejects')).expect(200);
    expect(suggest.text).toContain('Badge reader rejects cards');
    expect(suggest.text).toContain(original.reference);
    // Without JavaScript: the form's "Look for similar problems first" button (GET) keeps the input.
    const form = await techAgent.get('/tickets/new?title=badge+reader+rejects&customerName=Kim').expect(200);
    expect(form.text).toContain(`value="${original.reference}"`);
    expect(form.text).toContain('value="Kim"');

    const res = await techAgent
      .post('/tickets')
      .type('form')
      .send({
        _csrf: techCsrf, title: 'Badge reader rejects my card', description: 'Same door.', urgency: 'NORMAL', channel: 'PHONE',
        customerName: 'Kim', customerEmail: 'kim@example.com', duplicateOf: original.reference,
      })
      .expect(303);
    const reference = String(res.headers.location).split('/').pop()!;
    const dup = await db.prisma.ticket.findUniqueOrThrow({ where: { reference } });
    expect(dup).toMatchObject({ status: 'RESOLVED', resolutionCode: 'DUPLICATE', duplicateOfId: original.id });
    const rows = await db.prisma.ticketHistory.findMany({ where: { ticketId: dup.id }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => r.action === 'CREATED' ? 'CREATED' : r.field)).toEqual(['CREATED', 'status', 'resolutionCode', 'resolutionNote', 'duplicateOfId']);
    // An unknown original: refused, nothing written (not even the new ticket).
    await expectRefused(db, () =>
      techAgent.post('/tickets').type('form').send({
        _csrf: techCsrf, title: 'x', description: 'y', urgency: 'NORMAL', channel: 'PHONE',
        customerName: 'Kim', customerEmail: 'kim@example.com', duplicateOf: 'CB-ZZZZZZZ',
      }), 422, 'No ticket has the reference CB-ZZZZZZZ.');
  });
});
