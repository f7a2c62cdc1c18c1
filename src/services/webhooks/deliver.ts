// Sending webhook deliveries (src/jobs/webhook-worker.ts runs this from the job queue), sending
// one again, and the sweep that queues again a due delivery whose job was lost.
//
// Each attempt: claim the delivery (a lease of the request's timeout plus a margin, so two
// workers never send it at once and a worker that died mid-send lets it go), POST the stored body
// signed with the endpoint's current secret, then in one transaction record the attempt (status,
// the start of the answer, duration) and the delivery's new state. A 2xx is success; a network
// failure, a timeout, 5xx, 408 and 429 are retried with exponential backoff (a new job starting
// at the next attempt's time) until WEBHOOK_MAX_ATTEMPTS; any other answer (3xx — redirects are not
// followed —, 4xx, 410 Gone included) and a refused address (SSRF) fail it at once. Delivery is at
// least once: receivers de-duplicate by Caseboard-Event-Id.
import type { Database } from '../../db/client.js';
import { withTransaction } from '../../db/client.js';
import type { ServiceContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import { OutgoingRefused, outgoingPolicy, sendSignedRequest, type OutgoingPolicy } from '../outgoing/signed-request.js';
import { assertCan } from '../policy.js';
import { logError } from '../../log.js';

export const EVENT_ID_HEADER = 'Caseboard-Event-Id';
export const EVENT_TYPE_HEADER = 'Caseboard-Event';
/** The part of an answer kept in the attempt log. */
export const ATTEMPT_EXCERPT_CHARS = 1000;

export interface WebhookSettings {
  maxAttempts: number;
  /** The wait before the first retry; each later one is 3 times longer. */
  retryBaseMs: number;
}

let settings: WebhookSettings = { maxAttempts: 8, retryBaseMs: 60_000 };

export function configureWebhooks(s: WebhookSettings): void {
  settings = { ...s };
}

export function webhookSettings(): WebhookSettings {
  return settings;
}

/** The wait after the `attempt`-th failed attempt (1-based). */
export const backoffMs = (attempt: number, base: number) => base * 3 ** (attempt - 1);

const retryable = (status: number) => status >= 500 || status === 408 || status === 429;

export type WebhookResult = 'succeeded' | 'failed' | 'retry' | 'skipped';

/** Sends delivery `id` if it is due and nobody else is sending it, and records the attempt. */
export async function deliverWebhook(
  db: Database,
  id: number,
  s: WebhookSettings = settings,
  policy: OutgoingPolicy = outgoingPolicy(),
): Promise<WebhookResult> {
  const leaseMs = policy.timeoutMs + 5_000;
  const claimed = await db.pool.query<{ body: string; eventId: string; eventType: string; attempts: number; url: string; secret: string; usable: boolean }>(
    `UPDATE "WebhookDelivery" d SET "attemptingUntil" = now() + $2 * interval '1 millisecond'
       FROM "WebhookEndpoint" e
      WHERE d.id = $1 AND e.id = d."endpointId" AND d.state = 'QUEUED'
        AND d."nextAttemptAt" <= now() + interval '1 second'
        AND (d."attemptingUntil" IS NULL OR d."attemptingUntil" < now())
      RETURNING d.body, d."eventId", d."eventType", d.attempts, e.url, e.secret, (e.active AND e."deletedAt" IS NULL) AS usable`,
    [id, leaseMs],
  );
  const d = claimed.rows[0];
  if (!d) return 'skipped';

  const startedAt = new Date();
  let status: number | null = null;
  let excerpt: string | null = null;
  let error: string | null = null;
  let final = false;
  try {
    if (!d.usable) throw new OutgoingRefused('The endpoint is disabled or deleted: not sent.');
    const res = await sendSignedRequest(
      {
        url: d.url,
        secret: d.secret,
        body: d.body,
        deliveryId: id,
        userAgent: 'Caseboard-Webhooks/1',
        headers: { [EVENT_ID_HEADER]: d.eventId, [EVENT_TYPE_HEADER]: d.eventType },
      },
      policy,
    );
    status = res.status;
    excerpt = res.excerpt.slice(0, ATTEMPT_EXCERPT_CHARS);
    if (!(status >= 200 && status < 300) && !retryable(status)) final = true;
  } catch (err) {
    error = ((err as Error).message || 'the request failed').slice(0, 1000);
    if (err instanceof OutgoingRefused) final = true;
  }
  const durationMs = Date.now() - startedAt.getTime();
  const ok = status !== null && status >= 200 && status < 300;
  const number = d.attempts + 1;
  if (!ok && number >= s.maxAttempts) final = true;
  const state = ok ? 'SUCCEEDED' : final ? 'FAILED' : 'QUEUED';
  const wait = backoffMs(number, s.retryBaseMs);

  await withTransaction(db.pool, async (c) => {
    const { rowCount } = await c.query(
      `UPDATE "WebhookDelivery" SET attempts = $2, "lastAttemptAt" = $3, "responseStatus" = $4, state = $5::"WebhookDeliveryState",
              "attemptingUntil" = NULL,
              "finishedAt" = CASE WHEN $5 = 'QUEUED' THEN NULL ELSE now() END,
              "nextAttemptAt" = CASE WHEN $5 = 'QUEUED' THEN now() + $6 * interval '1 millisecond' ELSE "nextAttemptAt" END
        WHERE id = $1 AND state = 'QUEUED'`,
      [id, number, startedAt, status, state, wait],
    );
    if (rowCount === 0) return;
    await c.query(
      `INSERT INTO "WebhookAttempt" ("deliveryId", number, "startedAt", "durationMs", status, excerpt, error) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, number, startedAt, durationMs, status, excerpt?.replaceAll('\u0000', '') ?? null, error],
    );
    if (state === 'QUEUED') await c.query(`SELECT "caseboard_queue_webhook"($1, (SELECT "nextAttemptAt" FROM "WebhookDelivery" WHERE id = $1))`, [id]);
  });
  if (!ok && !final) logError(`[webhooks] delivery ${id} attempt ${number} failed (retry in ${Math.round(wait / 1000)} s): ${error ?? `HTTP ${status}`}`);
  return ok ? 'succeeded' : final ? 'failed' : 'retry';
}

/** "Send again": the same event (same body and event id) as a new delivery, queued now. */
export async function resendDelivery(ctx: ServiceContext, endpointId: number, deliveryId: number) {
  assertCan(ctx.actor, 'webhook.manage');
  return ctx.db.$transaction(async (tx) => {
    const d = await tx.webhookDelivery.findUnique({ where: { id: deliveryId }, include: { endpoint: { select: { deletedAt: true } } } });
    if (!d || d.endpointId !== endpointId || d.endpoint.deletedAt) throw new NotFoundError('No such delivery.');
    const again = await tx.webhookDelivery.create({
      data: { eventId: d.eventId, eventType: d.eventType, body: d.body, ticketId: d.ticketId, endpointId, resentById: ctx.actor.id, resendOfId: d.id },
    });
    await tx.webhookEndpointHistory.create({
      data: { endpointId, actorId: ctx.actor.id, action: 'RESENT', refId: again.id, newValue: `delivery ${d.id} (${d.eventType}) sent again as ${again.id}` },
    });
    return again;
  });
}

const SWEEP_LOCK = 72_616_213;

/**
 * Queues again the deliveries that are due and have no job waiting or running (their process
 * died mid-send, or their job was lost): at most `limit` at a time, one sweep at a time across
 * instances (an advisory lock). Returns how many were queued.
 */
export async function sweepWebhookDeliveries(db: Database, limit = 500): Promise<number> {
  return withTransaction(db.pool, async (c) => {
    const { rows } = await c.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [SWEEP_LOCK]);
    if (!rows[0]?.locked) return 0;
    const res = await c.query(
      `WITH live AS (
         SELECT (j.data->>'deliveryId')::int AS id FROM pgboss.job j
          WHERE j.name = 'webhook_delivery'
            AND (j.state IN ('created', 'retry') OR (j.state = 'active' AND j.started_on > now() - interval '10 seconds'))
       ), lost AS (
         SELECT d.id FROM "WebhookDelivery" d
          WHERE d.state = 'QUEUED' AND d."nextAttemptAt" <= now()
            AND (d."attemptingUntil" IS NULL OR d."attemptingUntil" < now())
            AND d.id NOT IN (SELECT id FROM live WHERE id IS NOT NULL)
          ORDER BY d."nextAttemptAt" LIMIT $1
       )
       SELECT "caseboard_queue_webhook"(id, now()) FROM lost`,
      [limit],
    );
    return res.rowCount ?? 0;
  });
}
