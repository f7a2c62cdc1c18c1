// Idempotency-Key for API creates: the key (per token), a hash of the request and the answer
// are stored in the creation's own transaction. The key's row is claimed first
// (INSERT … ON CONFLICT DO NOTHING): a concurrent retry with the same key waits on the unique
// index until the first transaction ends, then finds its row and replays its answer, so two
// concurrent retries create one ticket. A failed request stores nothing (its transaction rolls
// back) and may be retried. Keys are kept 24 hours (src/jobs/api-cleanup.ts).
import { createHash } from 'node:crypto';
import type { Db, Tx } from '../../db/client.js';
import { ApiProblem } from './problem.js';

export const IDEMPOTENCY_KEY_MAX = 255;
export const IDEMPOTENCY_TTL_HOURS = 24;

export interface StoredAnswer {
  status: number;
  body: unknown;
  version?: number | undefined;
  location?: string | undefined;
}

export function checkKey(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (raw.length < 1 || raw.length > IDEMPOTENCY_KEY_MAX || !/^[\x21-\x7e]+$/.test(raw)) {
    throw new ApiProblem(400, `An Idempotency-Key is 1 to ${IDEMPOTENCY_KEY_MAX} visible ASCII characters.`);
  }
  return raw;
}

/** What identifies a request: its method, path and body as the schema parsed it (key order and spacing do not count). */
export const requestHash = (method: string, path: string, body: unknown): string =>
  createHash('sha256').update(`${method} ${path}\n${JSON.stringify(body ?? null)}`).digest('hex');

export async function withIdempotencyKey(
  db: Db,
  tokenId: number,
  key: string,
  hash: string,
  run: (tx: Tx) => Promise<StoredAnswer>,
): Promise<StoredAnswer & { replayed: boolean }> {
  return db.$transaction(
    async (tx) => {
      const claimed = await tx.$queryRaw<{ id: number }[]>`
        INSERT INTO "ApiIdempotencyKey" ("tokenId", key, "requestHash", status, response)
        VALUES (${tokenId}, ${key}, ${hash}, 0, 'null'::jsonb)
        ON CONFLICT ("tokenId", key) DO NOTHING RETURNING id`;
      if (claimed.length === 0) {
        const [row] = await tx.$queryRaw<{ requestHash: string; status: number; response: StoredAnswer }[]>`
          SELECT "requestHash", status, response FROM "ApiIdempotencyKey" WHERE "tokenId" = ${tokenId} AND key = ${key}`;
        if (!row) throw new ApiProblem(409, 'That Idempotency-Key is being used by another request right now; retry.');
        if (row.requestHash !== hash) {
          throw new ApiProblem(422, 'This Idempotency-Key was already used with a different request. Use a new key for a new request.');
        }
        return { ...row.response, status: row.status, replayed: true };
      }
      const answer = await run(tx);
      await tx.$executeRaw`UPDATE "ApiIdempotencyKey" SET status = ${answer.status}, response = ${JSON.stringify(answer)}::jsonb WHERE id = ${claimed[0]!.id}`;
      return { ...answer, replayed: false };
    },
    { timeout: 30_000 },
  );
}

/** Deletes keys older than the TTL; returns how many. */
export async function deleteOldIdempotencyKeys(db: Db): Promise<number> {
  return db.$executeRaw`DELETE FROM "ApiIdempotencyKey" WHERE "createdAt" < now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS})`;
}
