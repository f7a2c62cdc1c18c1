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

export interface AccessLink {
  ticketId: number;
  /**
   * A person confirmed a link of this ticket (the button on the link's page): the page shows the
   * conversation without asking again. Until then the link's page asks for that one click.
   */
  confirmed: boolean;
}

/**
 * The ticket a token opens, or null when it is malformed, unknown, expired or revoked. Reads
 * only: opening a link (a GET, as mail providers' link scanners do) changes nothing.
 */
export async function accessLinkFor(db: Db, token: string): Promise<AccessLink | null> {
  if (!TOKEN.test(token)) return null;
  const [row] = await sql<AccessLink>(
    db,
    `SELECT k."ticketId",
            EXISTS (SELECT 1 FROM "TicketAccessToken" c WHERE c."ticketId" = k."ticketId" AND c."confirmedAt" IS NOT NULL) AS confirmed
       FROM "TicketAccessToken" k
      WHERE k."tokenHash" = $1 AND k."revokedAt" IS NULL AND k."expiresAt" > now()`,
    [hashOf(token)],
  );
  return row ?? null;
}

/**
 * A person pressed the button on the link's page (a form POST, which link scanners do not send):
 * whoever holds the link reads the ticket's mailbox. Records it on the link (the first time
 * only) and returns the ticket, or null when the link does not open one.
 */
export async function confirmAccessLink(db: Db, token: string): Promise<number | null> {
  if (!TOKEN.test(token)) return null;
  const [row] = await sql<{ ticketId: number }>(
    db,
    `UPDATE "TicketAccessToken" SET "confirmedAt" = coalesce("confirmedAt", now())
      WHERE "tokenHash" = $1 AND "revokedAt" IS NULL AND "expiresAt" > now()
      RETURNING "ticketId"`,
    [hashOf(token)],
  );
  return row?.ticketId ?? null;
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
