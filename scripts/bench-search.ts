// Search at scale (issue 14): a fixed, realistic set of searches run through the same service
// functions the pages call — the queue's text search (listQueue: rows, counts per urgency and the
// "N more resolved" hint, as GET /tickets?q= runs them), the knowledge base's search as a
// technician (searchArticles, /articles?q=) and the help centre's (searchHelp, /help?q=) — N times
// each, interleaved, and prints p50/p95/p99 per search and overall.
//
//   npm run bench -- --only search                       (wired into scripts/bench.ts)
//   DATABASE_URL=... npx tsx scripts/bench-search.ts     (alone: no app, no load generator)
//   BENCH_SEARCH_ITERATIONS=30 (default), BENCH_SEARCH_EXPLAIN=1 (EXPLAIN ANALYZE of the slowest searches)
//
// Every search is measured as a new one: the counts a process keeps for a few seconds per search
// are forgotten before each (forgetSearchCounts), so a page's figure includes its counts. One
// round runs first as warm-up and is not counted. Seed first: npm run seed -- --tickets 1000000
// --articles 100000; the words below are taken from the seed's vocabulary (scripts/seed-data.ts)
// by their frequency rank, so they match what the seed's Zipf draws make common, medium or rare.
import { pathToFileURL } from 'node:url';
import { connectDatabase } from '../src/db/client.js';
import { ACTIVE_STATUSES } from '../src/domain/status.js';
import { STATUSES, type TicketStatus } from '../src/domain/enums.js';
import type { ServiceContext } from '../src/services/context.js';
import { forgetSearchCounts, listQueue, queueExplainSql } from '../src/services/tickets/queue.js';
import { searchArticles } from '../src/services/knowledge/read-articles.js';
import { searchHelp } from '../src/services/public/help-articles.js';
import * as W from './seed-data.js';

interface Search {
  name: string;
  kind: 'queue' | 'articles (staff)' | 'help (public)';
  q: string;
  statuses?: readonly TicketStatus[];
}

/** The searches: what people type into a help desk's search boxes. */
export function searchSet(reference: string): Search[] {
  const common = W.VOCAB_COMPONENTS[3]!; // a common word (~10% of tickets)
  const medium = W.VOCAB_COMPONENTS[40]!; // ~0.5–1%
  const rare = W.VOCAB_PRODUCTS[900]!; // a made-up product name far down the list (~0.02%)
  const words: [string, string][] = [
    ['common word', common],
    ['medium word', medium],
    ['rare word', rare],
    ['two words', `${W.VOCAB_PRODUCTS[0]} ${W.VOCAB_COMPONENTS[1]}`],
    ['"phrase"', '"certificate error"'],
    ['OR', `${W.VOCAB_COMPONENTS[20]} OR ${W.VOCAB_COMPONENTS[25]}`],
    ['-negation', `${common} -${W.VOCAB_COMPONENTS[0]}`],
    ['error code', W.VOCAB_ERRORS[0]!],
  ];
  const out: Search[] = [];
  const queue: [string, string][] = [
    ...words,
    ['customer name fragment', 'nguy'],
    ['reference, typed loosely', reference.replace(/^CB-/, '').toLowerCase().replace(/(.{4})/, '$1 ')],
    ['reference-like, no such ticket', 'CB-ZZZZ99Z'],
  ];
  for (const [name, q] of queue) {
    out.push({ name: `${name}: ${q} (open)`, kind: 'queue', q, statuses: ACTIVE_STATUSES });
    out.push({ name: `${name}: ${q} (all statuses)`, kind: 'queue', q, statuses: STATUSES });
  }
  for (const [name, q] of [...words, ['typo (title look-alikes)', 'certficate eror']] as [string, string][]) {
    out.push({ name: `${name}: ${q}`, kind: 'articles (staff)', q });
    out.push({ name: `${name}: ${q}`, kind: 'help (public)', q });
  }
  return out;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

/**
 * Runs the set `iterations` times (plus one warm-up round) as the technician `actorId` (any active
 * technician when omitted) and prints the table. Returns every sample, by search.
 */
export async function benchSearch(databaseUrl: string, opts: { actorId?: number; iterations?: number; explain?: boolean } = {}): Promise<Map<string, number[]>> {
  const iterations = opts.iterations ?? Number(process.env.BENCH_SEARCH_ITERATIONS ?? 30);
  const db = connectDatabase(databaseUrl, 4);
  try {
    const { rows: actors } = await db.pool.query<{ id: number; name: string; email: string }>(
      `SELECT id, name, email FROM "User" WHERE role = 'TECHNICIAN' AND active AND kind = 'PERSON' ${opts.actorId ? 'AND id = $1' : ''} ORDER BY id LIMIT 1`,
      opts.actorId ? [opts.actorId] : [],
    );
    if (!actors[0]) throw new Error('No active technician: seed the database first.');
    const ctx: ServiceContext = { db: db.prisma, actor: { ...actors[0], role: 'TECHNICIAN' } };
    const { rows: refs } = await db.pool.query<{ reference: string }>(`SELECT reference FROM "Ticket" ORDER BY id LIMIT 1 OFFSET 1000`);
    if (!refs[0]) throw new Error('The database has no tickets: seed it first.');
    const searches = searchSet(refs[0].reference);
    const { rows: size } = await db.pool.query<{ tickets: string; articles: string }>(
      `SELECT (SELECT count(*) FROM "Ticket")::text AS tickets, (SELECT count(*) FROM "Article")::text AS articles`,
    );
    console.log(
      `\nSearch bench: ${Number(size[0]!.tickets).toLocaleString('en')} tickets, ${Number(size[0]!.articles).toLocaleString('en')} articles; ` +
        `${searches.length} searches × ${iterations} (after one warm-up round), interleaved, each as a new search (counts not kept).`,
    );

    const run = async (s: Search): Promise<number> => {
      forgetSearchCounts();
      const t0 = process.hrtime.bigint();
      if (s.kind === 'queue') await listQueue(ctx, { statuses: s.statuses!, assignee: 'anyone', text: s.q });
      else if (s.kind === 'articles (staff)') await searchArticles(ctx, { q: s.q });
      else await searchHelp(db.prisma, s.q);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const samples = new Map<string, number[]>(searches.map((s) => [`${s.kind} | ${s.name}`, []]));
    const shown = new Map<string, string>();
    for (const s of searches) {
      await run(s);
      // What the page shows (first page): rows, the total of the counts, the "N more resolved" hint.
      if (s.kind === 'queue') {
        const page = await listQueue(ctx, { statuses: s.statuses!, assignee: 'anyone', text: s.q });
        shown.set(`${s.kind} | ${s.name}`, `${page.total.toLocaleString('en')}${page.hiddenDone !== null ? ` (+${page.hiddenDone === 1001 ? '1,000+' : page.hiddenDone} done)` : ''}`);
      } else {
        const r = s.kind === 'articles (staff)' ? await searchArticles(ctx, { q: s.q }) : await searchHelp(db.prisma, s.q);
        shown.set(`${s.kind} | ${s.name}`, `${r.hits.length}${r.hasMore ? '+' : ''} on page 1`);
      }
    }
    for (let i = 0; i < iterations; i++) {
      for (const s of searches) samples.get(`${s.kind} | ${s.name}`)!.push(await run(s));
    }

    console.log('\n| Search | Search box | Finds | p50 ms | p95 ms | p99 ms | max ms |');
    console.log('|---|---|---:|---:|---:|---:|---:|');
    const all: number[] = [];
    const worst: { key: string; p99: number; s: Search }[] = [];
    for (const s of searches) {
      const key = `${s.kind} | ${s.name}`;
      const xs = [...samples.get(key)!].sort((a, b) => a - b);
      all.push(...xs);
      worst.push({ key, p99: percentile(xs, 99), s });
      console.log(
        `| ${s.name} | ${s.kind} | ${shown.get(key)} | ${percentile(xs, 50).toFixed(1)} | ${percentile(xs, 95).toFixed(1)} | ${percentile(xs, 99).toFixed(1)} | ${xs[xs.length - 1]!.toFixed(1)} |`,
      );
    }
    all.sort((a, b) => a - b);
    for (const kind of ['queue', 'articles (staff)', 'help (public)'] as const) {
      const xs = searches.filter((s) => s.kind === kind).flatMap((s) => samples.get(`${s.kind} | ${s.name}`)!).sort((a, b) => a - b);
      console.log(`| **all ${kind} searches** | | | ${percentile(xs, 50).toFixed(1)} | ${percentile(xs, 95).toFixed(1)} | ${percentile(xs, 99).toFixed(1)} | ${xs[xs.length - 1]!.toFixed(1)} |`);
    }
    console.log(`| **overall** | | | ${percentile(all, 50).toFixed(1)} | ${percentile(all, 95).toFixed(1)} | ${percentile(all, 99).toFixed(1)} | ${all[all.length - 1]!.toFixed(1)} |`);
    const over = worst.filter((w) => w.p99 >= 100);
    console.log(over.length ? `\n${over.length} searches have p99 ≥ 100 ms (target < 100 ms).` : '\nEvery search has p99 < 100 ms.');

    if (opts.explain ?? process.env.BENCH_SEARCH_EXPLAIN === '1') {
      // The status-filtered common-word page, and the slowest queue searches' pages.
      const explainOf = [searches[0]!, ...worst.filter((w) => w.s.kind === 'queue' && w.s !== searches[0]).sort((a, b) => b.p99 - a.p99).slice(0, 2).map((w) => w.s)];
      for (const s of explainOf) {
        // As listQueue runs it: the words parsed into a tsquery first.
        const { rows: parsed } = await db.pool.query<{ q: string }>(`SELECT websearch_to_tsquery('caseboard', caseboard_search_text($1))::text AS q`, [s.q]);
        const q = queueExplainSql(ctx.actor, { statuses: s.statuses!, assignee: 'anyone', text: s.q, parsed: parsed[0]!.q });
        const { rows: plan } = await db.pool.query<{ 'QUERY PLAN': string }>({ text: `EXPLAIN (ANALYZE, BUFFERS) ${q.text}`, values: q.values });
        console.log(`\nEXPLAIN (ANALYZE, BUFFERS) of the queue page for ${s.name}:\n`);
        console.log(plan.map((r) => r['QUERY PLAN']).join('\n'));
      }
    }
    return samples;
  } finally {
    await db.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL=postgresql://... npx tsx scripts/bench-search.ts (seed it first: npm run seed -- --tickets 1000000 --articles 100000)');
    process.exit(2);
  }
  benchSearch(url).catch((err: unknown) => {
    console.error('Search bench failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
