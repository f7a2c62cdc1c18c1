// Rendered Markdown is kept by content in PostgreSQL (RenderedMarkdown), shared by every
// instance behind a load balancer, failures included; a failure is tried again after a day.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildUser } from '../helpers/factories.js';
import { signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { createArticle, setArticleStatus } from '../../src/services/knowledge/manage-articles.js';
import { renderingKey } from '../../src/web/rendering/renderer.js';

const TIMEOUT_MS = 1000;

let db: TestDatabase;
let app: Express;
let admin: Actor;
let agent: TestAgent;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db, { RENDER_TIMEOUT_MS: String(TIMEOUT_MS) });
  admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
  ({ agent } = await signIn(app, admin.email));
});
afterAll(() => db?.close());

async function publicArticle(title: string, body: string) {
  const a = await createArticle(as(db, admin), { title, body, visibility: 'PUBLIC' });
  return setArticleStatus(as(db, admin), a.id, a.version, 'PUBLISHED');
}

describe('the rendering cache', () => {
  it('keeps each rendering in PostgreSQL by content, shared by every instance, failures included', async () => {
    const ok = await publicArticle('Printer', '# Printer\n\nRestart the **spooler**.');
    const bad = await publicArticle('Storm', '_a*'.repeat(7000));
    const key = { text: 'SELECT count(*)::int AS n FROM "RenderedMarkdown"' };
    const before = (await db.pool.query<{ n: number }>(key)).rows[0]!.n;
    const page = await agent.get(`/articles/${ok.id}`).expect(200);
    expect(page.text).toContain('<h1>Printer</h1>');
    expect(page.text).toContain('<strong>spooler</strong>');
    await agent.get(`/articles/${bad.id}`).expect(200);
    await agent.get(`/articles/${ok.id}`).expect(200); // the same text again: no new row
    const rows = await db.pool.query<{ html: string | null; failure: string | null }>(
      'SELECT html, failure FROM "RenderedMarkdown" ORDER BY "createdAt" DESC LIMIT 2',
    );
    expect((await db.pool.query<{ n: number }>(key)).rows[0]!.n).toBe(before + 2);
    expect(rows.rows.map((r) => r.html === null)).toEqual([true, false]);
    expect(rows.rows[0]!.failure).toMatch(/took longer than/);

    // Another instance (its own workers and memory) finds both in PostgreSQL at once.
    const other = testApp(db, { RENDER_TIMEOUT_MS: String(TIMEOUT_MS) });
    const t = performance.now();
    const [okPage, badPage] = await Promise.all([request(other).get(`/help/${ok.id}`), request(other).get(`/help/${bad.id}`)]);
    expect(performance.now() - t).toBeLessThan(TIMEOUT_MS / 2);
    expect(okPage.text).toContain('<strong>spooler</strong>');
    expect(badPage.text).toContain('This article is shown as plain text.');
  });

  it('tries a text that could not be rendered again after a day (a busy moment is not for good)', async () => {
    const body = 'Turn it **off** and on again.';
    const a = await publicArticle('Reboot', body);
    await db.pool.query(
      `INSERT INTO "RenderedMarkdown" (key, html, failure, "createdAt") VALUES ($1, NULL, 'formatting took longer than 1000 ms', now() - interval '25 hours')`,
      [renderingKey(body)],
    );
    const page = await request(testApp(db)).get(`/help/${a.id}`).expect(200);
    expect(page.text).toContain('<strong>off</strong>');
    const row = await db.pool.query('SELECT html, failure FROM "RenderedMarkdown" WHERE key = $1', [renderingKey(body)]);
    expect(row.rows[0]).toMatchObject({ html: expect.stringContaining('<strong>off</strong>'), failure: null });
  });
});
