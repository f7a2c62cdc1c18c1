// Prometheus metrics (prom-client), served at /metrics (src/web/routes/metrics.ts) and on
// METRICS_PORT (src/server.ts).
//
// Two kinds:
// - per process, kept in memory: request durations, inbound mail outcomes, SLA breaches, Node's
//   own (event loop, heap, GC, CPU). Prometheus sums them over the instances.
// - read from the database on each scrape (job queues, outboxes): the same on every instance.
//   A few bounded, indexed queries per scrape; nothing at all per request but one histogram observe.
import client, { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/client.js';

/** This process's metrics (one registry, whatever number of apps a test makes). */
export const processRegistry = new Registry();
client.collectDefaultMetrics({ register: processRegistry });

export const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP requests: time from arrival to the end of the response, by method, route pattern and status class',
  labelNames: ['method', 'route', 'status_class'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [processRegistry],
});

export const inboundMailTotal = new Counter({
  name: 'caseboard_inbound_mail_total',
  help: 'Inbound mail taken by this process, by outcome (new_ticket, added, quarantined, ignored, redelivered, refused, failed)',
  labelNames: ['outcome'] as const,
  registers: [processRegistry],
});

export const slaBreachesTotal = new Counter({
  name: 'caseboard_sla_breaches_total',
  help: 'SLA targets found missed (and acted on) by this process, by target',
  labelNames: ['target'] as const,
  registers: [processRegistry],
});

/** What became of one inbound message (src/mail/inbound-smtp.ts). */
export function countInboundMail(outcome: string): void {
  inboundMailTotal.inc({ outcome: outcome.toLowerCase() });
}

/** SLA checks' results ("FIRST_RESPONSE:1:breach", …: src/services/sla/timer.ts). */
export function countSlaActions(acted: readonly string[]): void {
  for (const a of acted) {
    const [target, , phase] = a.split(':');
    if (phase === 'breach' && target) slaBreachesTotal.inc({ target });
  }
}

/** Each database query of a scrape gives up after this long (a slow database must not pile scrapes up). */
const SCRAPE_QUERY_MS = 2000;

/**
 * The metrics read from one database on scrape: the pool's connections, the job queues, the
 * outboxes. Merged with the process's own into one registry.
 */
export function databaseRegistry(db: Database): Registry {
  const registry = new Registry();
  const pool = db.pool;
  new Gauge({
    name: 'caseboard_db_pool_connections',
    help: "This process's PostgreSQL pool: connections by state (total, idle, waiting = clients queued for one)",
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });

  // One query per scrape for the queues, one for the outboxes, both on partial/state indexes.
  const query = async <R extends Record<string, unknown>>(text: string): Promise<R[]> => {
    const c = await pool.connect();
    try {
      await c.query(`SET statement_timeout = ${SCRAPE_QUERY_MS}`);
      return (await c.query<R>(text)).rows;
    } finally {
      await c.query('RESET statement_timeout').catch(() => undefined);
      c.release();
    }
  };
  const failed = new Gauge({
    name: 'caseboard_metrics_scrape_errors',
    help: '1 when the last scrape could not read the database metrics (their values are then the last ones read)',
    registers: [registry],
  });

  let queuesFailed = false;
  let outboxesFailed = false;
  const noteFailures = () => failed.set(queuesFailed || outboxesFailed ? 1 : 0);
  let queues: Promise<void> | undefined;
  const queueDepth = new Gauge({
    name: 'caseboard_job_queue_depth',
    help: 'Jobs due and waiting to run, per pg-boss queue',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      await readQueues();
    },
  });
  const queueAge = new Gauge({
    name: 'caseboard_job_queue_oldest_seconds',
    help: 'How long the oldest due job of each pg-boss queue has waited (0: none waiting)',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      await readQueues();
    },
  });
  const queueActive = new Gauge({
    name: 'caseboard_job_queue_active',
    help: 'Jobs running now, per pg-boss queue',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      await readQueues();
    },
  });
  // The three queue gauges share one query per scrape.
  function readQueues(): Promise<void> {
    queues ??= (async () => {
      try {
        const rows = await query<{ name: string; due: string; active: string; oldest: number | null }>(
          `SELECT name,
                  count(*) FILTER (WHERE state < 'active' AND start_after <= now()) AS due,
                  count(*) FILTER (WHERE state = 'active') AS active,
                  extract(epoch FROM now() - min(start_after) FILTER (WHERE state < 'active' AND start_after <= now()))::float8 AS oldest
             FROM pgboss.job
            WHERE state <= 'active'
            GROUP BY name`,
        );
        queueDepth.reset();
        queueAge.reset();
        queueActive.reset();
        const names = await query<{ name: string }>('SELECT name FROM pgboss.queue');
        for (const { name } of names) {
          queueDepth.set({ queue: name }, 0);
          queueAge.set({ queue: name }, 0);
          queueActive.set({ queue: name }, 0);
        }
        for (const r of rows) {
          queueDepth.set({ queue: r.name }, Number(r.due));
          queueAge.set({ queue: r.name }, Math.max(0, r.oldest ?? 0));
          queueActive.set({ queue: r.name }, Number(r.active));
        }
        queuesFailed = false;
      } catch {
        queuesFailed = true;
      }
      noteFailures();
    })().finally(() => setImmediate(() => (queues = undefined)));
    return queues;
  }

  let outboxes: Promise<void> | undefined;
  const outboxCount = new Gauge({
    name: 'caseboard_outbox_pending',
    help: 'Outbox rows not yet delivered: mails QUEUED, webhook deliveries QUEUED',
    labelNames: ['outbox'] as const,
    registers: [registry],
    async collect() {
      await readOutboxes();
    },
  });
  const outboxAge = new Gauge({
    name: 'caseboard_outbox_oldest_seconds',
    help: 'Age of the oldest undelivered outbox row (0: none): the outbox lag',
    labelNames: ['outbox'] as const,
    registers: [registry],
    async collect() {
      await readOutboxes();
    },
  });
  function readOutboxes(): Promise<void> {
    outboxes ??= (async () => {
      try {
        const rows = await query<{ outbox: string; n: string; oldest: number | null }>(
          `SELECT 'mail' AS outbox, count(*) AS n, extract(epoch FROM now() - min("createdAt"))::float8 AS oldest
             FROM "OutboundMail" WHERE state = 'QUEUED'
           UNION ALL
           SELECT 'webhook', count(*), extract(epoch FROM now() - min("createdAt"))::float8
             FROM "WebhookDelivery" WHERE state = 'QUEUED'`,
        );
        for (const r of rows) {
          outboxCount.set({ outbox: r.outbox }, Number(r.n));
          outboxAge.set({ outbox: r.outbox }, Math.max(0, r.oldest ?? 0));
        }
        outboxesFailed = false;
      } catch {
        outboxesFailed = true;
      }
      noteFailures();
    })().finally(() => setImmediate(() => (outboxes = undefined)));
    return outboxes;
  }
  return registry;
}

/** Everything one app serves at /metrics: the process's metrics and its database's. */
export function metricsFor(db: Database): Registry {
  return Registry.merge([processRegistry, databaseRegistry(db)]);
}
