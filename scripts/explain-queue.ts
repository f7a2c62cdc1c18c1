// npm run explain:queue (DATABASE_URL=...): EXPLAIN (ANALYZE, BUFFERS) of each queue sort's first
// page and of the page after it (its keyset cursor), for the default filter and "mine" —
// the figures in README's Performance section. Reads only.
import pg from 'pg';
import { ACTIVE_STATUSES } from '../src/domain/status.js';
import { QUEUE_SORTS, queueExplainSql, type QueueCursor, type QueueFilter, type QueueSort } from '../src/services/tickets/queue.js';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('Set DATABASE_URL.');
const client = new pg.Client({ connectionString: url });
await client.connect();
const { rows: users } = await client.query<{ id: number }>(
  `SELECT "assigneeId" AS id FROM "Ticket" WHERE status = 'IN_PROGRESS' AND "assigneeId" IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
);
const me = users[0]?.id ?? 1;

function cursorOf(sort: QueueSort, r: Record<string, unknown>): QueueCursor {
  const d = (v: unknown) => (v === null ? null : new Date(Number(v)));
  const id = Number(r.id);
  if (sort === 'updated') return { sort, updatedAt: d(r.updatedAt)!, id };
  if (sort === 'age') return { sort, createdAt: d(r.createdAt)!, id };
  if (sort === 'waiting') return { sort, awaitingSince: d(r.awaitingSince), id };
  return { urgency: r.urgency as never, createdAt: d(r.createdAt)!, id };
}

for (const assignee of ['anyone', 'me'] as const) {
  for (const sort of QUEUE_SORTS) {
    let after: QueueCursor | undefined;
    for (const page of [1, 2]) {
      const filter: QueueFilter = { statuses: ACTIVE_STATUSES, assignee, sort, after };
      const q = queueExplainSql({ id: me }, filter);
      await client.query(q.text, q.values); // warm
      const { rows: plan } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${q.text}`, q.values);
      const lines = plan.map((p) => p['QUERY PLAN']);
      const indexes = [...new Set(lines.flatMap((l) => [...l.matchAll(/using "([^"]+)"/g)].map((m) => m[1]!)))];
      const exec = lines.find((l) => l.startsWith('Execution Time'));
      const hits = /shared hit=(\d+)/.exec(lines[0] ?? '')?.[1] ?? lines.find((l) => l.includes('shared hit'))?.match(/hit=(\d+)/)?.[1];
      console.log(`${assignee.padEnd(6)} ${sort.padEnd(8)} page ${page}: ${exec}; buffers hit ${hits}; ${indexes.join(', ')}`);
      if (process.env.VERBOSE) console.log(lines.join('\n'));
      const { rows } = await client.query(q.text, q.values);
      const last = rows[49];
      if (!last) break;
      after = cursorOf(sort, last);
    }
  }
}
await client.end();
