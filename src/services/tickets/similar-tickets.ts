import type { ServiceContext } from '../context.js';
import { assertCan } from '../policy.js';
import { andQuery, orQuery } from '../knowledge/read-articles.js';
import { boundedSearchText } from '../search-text.js';

export interface SimilarTicket {
  reference: string;
  title: string;
  status: string;
  urgency: string;
  customerName: string;
}

/**
 * Tickets still being worked whose title and description share words with a new ticket's
 * title, best match first: possible duplicates, offered while the new ticket is typed. All the
 * words first, then any of them; ranked among the most recent matches only.
 */
export async function findSimilarTickets(ctx: ServiceContext, title: string, limit = 5): Promise<SimilarTicket[]> {
  assertCan(ctx.actor, 'ticket.read');
  const words = boundedSearchText(title);
  if (words.length < 3) return [];
  for (const query of [andQuery(words), orQuery(words)]) {
    if (!query) break; // no words at all: nothing can match
    const rows = await ctx.db.$queryRaw<SimilarTicket[]>`
      WITH q AS (SELECT to_tsquery('caseboard', ${query}) AS query),
      candidates AS (
        SELECT t.id, t.search FROM "Ticket" t, q
        WHERE t.search @@ q.query AND t.status IN ('NEW', 'OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER')
        ORDER BY t.id DESC
        LIMIT 2000
      ),
      hits AS (
        SELECT c.id, ts_rank_cd(c.search, q.query, 32) AS rank FROM candidates c, q
        ORDER BY rank DESC, c.id DESC
        LIMIT ${limit}
      )
      SELECT t.reference, t.title, t.status::text AS status, t.urgency::text AS urgency, c.name AS "customerName"
      FROM hits JOIN "Ticket" t ON t.id = hits.id JOIN "Customer" c ON c.id = t."customerId"
      ORDER BY hits.rank DESC, t.id DESC`;
    if (rows.length) return rows;
  }
  return [];
}
