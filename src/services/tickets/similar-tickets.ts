import type { ServiceContext } from '../context.js';
import { assertCan } from '../policy.js';
import { orQuery } from '../knowledge/read-articles.js';

export interface SimilarTicket {
  reference: string;
  title: string;
  status: string;
  urgency: string;
  customerName: string;
}

/**
 * Tickets still being worked whose title and description share words with a new ticket's
 * title, best match first: possible duplicates, offered while the new ticket is typed.
 */
export async function findSimilarTickets(ctx: ServiceContext, title: string, limit = 5): Promise<SimilarTicket[]> {
  assertCan(ctx.actor, 'ticket.read');
  if (title.trim().length < 3) return [];
  return ctx.db.$queryRaw<SimilarTicket[]>`
    WITH q AS (SELECT to_tsquery('caseboard', ${orQuery(title)}) AS query),
    hits AS (
      SELECT t.id, ts_rank_cd(t.search, q.query, 32) AS rank
      FROM "Ticket" t, q
      WHERE t.search @@ q.query AND t.status IN ('NEW', 'OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER')
      ORDER BY rank DESC, t.id DESC
      LIMIT ${limit}
    )
    SELECT t.reference, t.title, t.status::text AS status, t.urgency::text AS urgency, c.name AS "customerName"
    FROM hits JOIN "Ticket" t ON t.id = hits.id JOIN "Customer" c ON c.id = t."customerId"
    ORDER BY hits.rank DESC, t.id DESC`;
}
