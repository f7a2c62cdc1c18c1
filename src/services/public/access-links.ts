// Private access links: a long random token in each mail to the customer opens their ticket's
// status page without typing anything. Only its SHA-256 is stored; each expires after
// ACCESS_LINK_DAYS; staff can revoke a ticket's links at once (recorded in its history).
import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { sql, type Db } from '../../db/client.js';
import type { ServiceContext } from '../context.js';
import { assertCan } from '../policy.js';
import { findTicketOrThrow } from '../tickets/rules.js';
import type { TicketTarget } from '../tickets/mutate.js';

const TOKEN = /^[A-Za-z0-9_-]{43}$/; // 32 random bytes, base64url

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** A new token for the ticket (in the caller's transaction); returns the token itself, never stored. */
export async function issueAccessToken(
  client: Pick<pg.PoolClient, 'query'>,
  ticketId: number,
  mailId: number | null,
  validDays: number,
): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await client.query(
    `INSERT INTO "TicketAccessToken" ("tokenHash", "ticketId", "mailId", "expiresAt")
     VALUES ($1, $2, $3, now() + make_interval(days => $4::int))`,
    [hashOf(token), ticketId, mailId, validDays],
  );
  return token;
}

/**
 * The ticket a token opens, or null when it is malformed, unknown, expired or revoked. Its first
 * use is recorded: whoever opened it reads the ticket's mailbox.
 */
export async function ticketIdForToken(db: Db, token: string): Promise<number | null> {
  if (!TOKEN.test(token)) return null;
  const [row] = await sql<{ id: number; ticketId: number; used: boolean }>(
    db,
    `SELECT id, "ticketId", "usedAt" IS NOT NULL AS used FROM "TicketAccessToken"
      WHERE "tokenHash" = $1 AND "revokedAt" IS NULL AND "expiresAt" > now()`,
    [hashOf(token)],
  );
  if (!row) return null;
  if (!row.used) await sql(db, `UPDATE "TicketAccessToken" SET "usedAt" = now() WHERE id = $1 AND "usedAt" IS NULL`, [row.id]);
  return row.ticketId;
}

/**
 * Staff: every link to the ticket stops working now (closed tickets too: withdrawing access is
 * always allowed). The next mail carries a fresh one.
 */
export function revokeAccessLinks(ctx: ServiceContext, target: Pick<TicketTarget, 'reference'>): Promise<number> {
  assertCan(ctx.actor, 'ticket.update');
  return ctx.db.$transaction(async (tx) => {
    const ticket = await findTicketOrThrow(tx, target.reference);
    const now = new Date();
    const { count } = await tx.ticketAccessToken.updateMany({
      where: { ticketId: ticket.id, revokedAt: null, expiresAt: { gt: now } },
      data: { revokedAt: now },
    });
    await tx.ticketHistory.create({
      data: {
        ticketId: ticket.id,
        actorId: ctx.actor.id,
        action: 'ACCESS_REVOKED',
        field: 'accessLinks',
        newValue: `${count} link${count === 1 ? '' : 's'} revoked`,
        ticketVersion: ticket.version,
        createdAt: now,
      },
    });
    return count;
  });
}
