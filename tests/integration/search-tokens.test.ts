// What the search finds after caseboard_search_text (migration 20261204010000_bounded_search):
// ordinary text is indexed exactly as PostgreSQL's parser indexed it before — words, stems,
// accents, emails, hosts, URLs, file names and paths, hyphenated words, version numbers — and is
// found by the queue's and the knowledge base's search boxes as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import type { Actor } from '../../src/services/context.js';
import { addWorkLog } from '../../src/services/tickets/add-work-log.js';
import { listQueue } from '../../src/services/tickets/queue.js';
import { createArticle, setArticleStatus } from '../../src/services/knowledge/manage-articles.js';
import { searchArticles } from '../../src/services/knowledge/read-articles.js';
import { searchHelp } from '../../src/services/public/help-articles.js';
import { STATUSES } from '../../src/domain/enums.js';

let db: TestDatabase;
let tech: Actor;
let admin: Actor;
beforeAll(async () => {
  db = await createTestDatabase();
  tech = await buildUser(db);
  admin = await buildUser(db, { role: 'ADMIN' });
});
afterAll(() => db?.close());

/** Ordinary support text, one kind of token per line. */
const ORDINARY = [
  'The printers were printing blank pages after the update; résumé templates crash Word.',
  'Mail jane.doe@example.com and it-support@corp.example.org about the outage.',
  'The host intranet.example.com:8443 and 10.0.12.7 do not answer.',
  'See https://intranet.example.com/kb/article/4711?lang=en#step-2 and http://wiki.corp.test/Printer_Setup.',
  'Open C:\\Users\\dana\\Documents\\report-final.docx or /var/log/cups/error_log or ~/Library/Preferences/com.apple.print.plist.',
  'The file quarterly_report_2024.xlsx and config.yaml.bak were restored.',
  'Wi-Fi drops on the e-mail client; the self-service portal (co-operative mode) hangs.',
  'Upgraded from 10.4.2 to 11.0.1-beta3, build 2024.11.07; error 0x80070005, code -1073741819, 3.5e-3 s.',
  'Snake_case names like print_queue_max and __init__ appear in logs; &amp; &#169; entities too.',
  'Un café à Zürich, ÆØÅ, Привет мир, 東京 printer, naïve coöperation.',
  'Markdown: **bold**, `inline code`, [a link](https://example.com/a_b-c.d/e?f=g&h=i), - list item, > quote.',
  'Tabs\tand\nnewlines\r\nand  double  spaces, a 64-character token: abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl.',
];

describe('ordinary text is indexed as before', () => {
  it('caseboard_search_text leaves the tsvector of ordinary text exactly as the parser alone makes it', async () => {
    for (const text of [...ORDINARY, ORDINARY.join(' '), ORDINARY.join('\n\n').repeat(40)]) {
      const { rows } = await db.pool.query<{ same: boolean; lexemes: number }>(
        `SELECT to_tsvector('caseboard', caseboard_search_text($1)) = to_tsvector('caseboard', $1) AS same,
                length(to_tsvector('caseboard', $1)) AS lexemes`,
        [text],
      );
      expect(rows[0]!.same, text.slice(0, 80)).toBe(true);
      expect(rows[0]!.lexemes).toBeGreaterThan(3);
    }
  });

  it('the queue search finds tickets by words, emails, hosts, URLs, files, hyphenated words and versions', async () => {
    const titles: string[] = [];
    for (const [i, description] of ORDINARY.entries()) {
      const t = await buildTicket(db, tech, { title: `Case ${i} ${['alpha', 'bravo', 'charlie'][i % 3]}`, description });
      titles.push(t.title);
    }
    const logged = await buildTicket(db, tech, { title: 'Logged case', description: 'Nothing special.' });
    await addWorkLog(as(db, tech), logged.reference, { kind: 'NOTE', body: 'Fixed in /etc/cups/cupsd.conf, see ticket-4711 and v2.3.1.' });

    const search = async (text: string) =>
      (await listQueue(as(db, tech), { statuses: STATUSES, assignee: 'anyone', text })).rows.map((r) => r.title).sort();
    const expectations: [string, string[]][] = [
      ['templating', [titles[0]!]], // stemmed ("templates")
      ['printing', [titles[0]!, titles[8]!]], // "printing", "print_queue_max"
      ['resume', [titles[0]!]], // accents ignored
      ['jane.doe@example.com', [titles[1]!]],
      ['it-support@corp.example.org', [titles[1]!]],
      ['intranet.example.com', [titles[3]!]], // (with its port, in the line before, it is another token)
      ['10.0.12.7', [titles[2]!]],
      ['wiki.corp.test', [titles[3]!]],
      ['report-final.docx', [titles[4]!]],
      ['/var/log/cups/error_log', [titles[4]!]],
      ['quarterly_report_2024.xlsx', [titles[5]!]],
      ['config.yaml.bak', [titles[5]!]],
      ['wi-fi', [titles[6]!]],
      ['e-mail', [titles[6]!]],
      ['"self-service portal"', [titles[6]!]],
      ['10.4.2', [titles[7]!]],
      ['11.0.1-beta3', [titles[7]!]],
      ['0x80070005', [titles[7]!]],
      ['print_queue_max', [titles[8]!]],
      ['cafe zurich', [titles[9]!]],
      ['Привет', [titles[9]!]],
      ['abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl', [titles[11]!]],
      ['/etc/cups/cupsd.conf', ['Logged case']], // in the work log
      ['v2.3.1', ['Logged case']],
      ['printing -blank', [titles[8]!]],
    ];
    const got = [];
    for (const [q] of expectations) got.push([q, await search(q)]);
    expect(got).toEqual(expectations.map(([q, expected]) => [q, expected.sort()]));
  });

  it('the knowledge base finds articles by the same tokens, with highlighted snippets', async () => {
    const a = await createArticle(as(db, admin), {
      title: 'Printer setup on the corp network',
      body: ORDINARY.join('\n\n'),
      tags: ['wi-fi', 'e-mail', 'v10.4.2'],
    });
    const published = await setArticleStatus(as(db, admin), a.id, a.version, 'PUBLISHED');
    await db.prisma.article.update({ where: { id: published.id }, data: { visibility: 'PUBLIC' } });
    for (const q of ['printing', 'jane.doe@example.com', 'intranet.example.com', 'report-final.docx', 'wi-fi', '10.4.2', 'café', '"blank pages"']) {
      const { hits } = await searchArticles(as(db, tech), { q });
      expect(hits.map((h) => h.id), q).toContain(published.id);
      expect(hits.find((h) => h.id === published.id)!.snippet, q).toMatch(/\u0002[^\u0003]+\u0003/);
      expect((await searchHelp(db.prisma, q)).hits.map((h) => h.id), q).toContain(published.id);
    }
    // The snippet is the text as written (ordinary text is not changed by the bounding).
    const { hits } = await searchArticles(as(db, tech), { q: 'outage' });
    expect(hits[0]!.snippet).toContain('it-support@corp.example.org about the \u0002outage\u0003');
  });

  it('a token longer than 100 characters is split, and the text around it and its host are still found', async () => {
    const url = `https://files.example.com/${'sub-directory/'.repeat(10)}archive.tar.gz`;
    expect(url.length).toBeGreaterThan(100);
    const t = await buildTicket(db, tech, { title: 'Long link', description: `Download ${url} again, unchanged.` });
    for (const text of ['files.example.com', 'unchanged', 'download']) {
      const found = await listQueue(as(db, tech), { statuses: STATUSES, assignee: 'anyone', text });
      expect(found.rows.map((r) => r.reference), text).toEqual([t.reference]);
    }
  });
});
