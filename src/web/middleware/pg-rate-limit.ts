// express-rate-limit's counters in PostgreSQL, so that every instance behind the load balancer
// counts the same requests: one statement per request (an upsert that starts a new window when
// the old one has passed, and returns the count and the window's end). Every throttle of the app
// uses it (the REST API's per token, sign-in, password spraying, the public forms), each apart by
// its key prefix ('api:', 'login:', 'spray:', 'public:'), in one table ("ApiRateLimit": the name is
// from when only the API used it). Works the same on the embedded PGlite.
//
// Why not @acpr/rate-limit-postgresql: it brings its own `pg` (8.11) and pool built from
// connection settings rather than taking ours, and creates its own schema at run time with
// postgres-migrations — outside this app's hand-written migrations (and the schema test that
// checks them), with connections the app's pool does not count. A Store is ~40 lines here.
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import { createHash } from 'node:crypto';
import type pg from 'pg';

const HIT = `
INSERT INTO "ApiRateLimit" (key, hits, "resetAt") VALUES ($1, 1, now() + make_interval(secs => $2::float8 / 1000))
ON CONFLICT (key) DO UPDATE SET
  hits = CASE WHEN "ApiRateLimit"."resetAt" <= now() THEN 1 ELSE "ApiRateLimit".hits + 1 END,
  "resetAt" = CASE WHEN "ApiRateLimit"."resetAt" <= now() THEN EXCLUDED."resetAt" ELSE "ApiRateLimit"."resetAt" END
RETURNING hits, "resetAt"`;

/** The column holds 100 characters: a longer key (an address and a long email) is kept as its hash. */
const KEY_MAX = 100;

export class PostgresRateLimitStore implements Store {
  windowMs = 60_000;
  /** Each throttle's counters are apart by prefix; every instance with the same prefix shares them. */
  constructor(
    private readonly pool: pg.Pool,
    readonly prefix = 'api:',
  ) {}

  /** Shared across instances: express-rate-limit must not assume one process sees every hit. */
  readonly localKeys = false;

  private keyOf(key: string): string {
    const full = this.prefix + key;
    return full.length <= KEY_MAX ? full : `${this.prefix}#${createHash('sha256').update(key).digest('hex')}`;
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const { rows } = await this.pool.query<{ hits: number; resetAt: Date }>(
      `SELECT hits, "resetAt" FROM "ApiRateLimit" WHERE key = $1 AND "resetAt" > now()`,
      [this.keyOf(key)],
    );
    return rows[0] ? { totalHits: rows[0].hits, resetTime: rows[0].resetAt } : undefined;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const { rows } = await this.pool.query<{ hits: number; resetAt: Date }>(HIT, [this.keyOf(key), this.windowMs]);
    return { totalHits: rows[0]!.hits, resetTime: rows[0]!.resetAt };
  }

  async decrement(key: string): Promise<void> {
    await this.pool.query(`UPDATE "ApiRateLimit" SET hits = greatest(hits - 1, 0) WHERE key = $1`, [this.keyOf(key)]);
  }

  async resetKey(key: string): Promise<void> {
    await this.pool.query(`DELETE FROM "ApiRateLimit" WHERE key = $1`, [this.keyOf(key)]);
  }

  /** Windows long over (the cleanup job). */
  static async deleteExpired(pool: pg.Pool): Promise<number> {
    const { rowCount } = await pool.query(`DELETE FROM "ApiRateLimit" WHERE "resetAt" < now() - interval '1 hour'`);
    return rowCount ?? 0;
  }
}
