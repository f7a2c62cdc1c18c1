// Mail to staff about their notifications, one message per burst. A notification to be mailed
// queues its person's digest job, 60 s later, in the change's own transaction (the trigger in the
// migration 20261207060000_notifications; at most one waiting job per person). The job runs this:
// one statement takes everything still pending for the person (unread; read in the app meanwhile
// it is not mailed), marks it mailed and writes ONE outbox row listing it all; the outbox sends it
// like any mail (send-mail.ts, its retries). Being one statement, it is all or nothing; a job
// that runs twice, or two instances running jobs for one person, take turns on a lock of the
// person's and the second finds nothing pending: no second mail.
import type pg from 'pg';
import { withTransaction } from '../../db/client.js';
import type { NotificationKind } from '../../domain/enums.js';

/** Items listed in one mail; the rest are counted ("and 12 more") and are in the inbox. */
export const DIGEST_MAX_ITEMS = 100;

export interface StaffNoticeItem {
  id: number;
  kind: NotificationKind;
  reference: string;
  title: string;
  actorName: string;
  summary: string;
}

/** What a STAFF_NOTICE mail says (its outbox payload). */
export interface StaffNoticePayload {
  name: string;
  count: number;
  items: StaffNoticeItem[];
}

const DIGEST = `
WITH due AS (
  UPDATE "Notification" SET "emailPending" = false, "emailedAt" = now()
  WHERE "userId" = $1::int AND "readAt" IS NULL AND "emailPending"
  RETURNING id, kind, "ticketId", "actorName", summary, "createdAt"
), listed AS (
  SELECT due.id, due.kind, t.reference, t.title, due."actorName", due.summary, due."createdAt"
  FROM due JOIN "Ticket" t ON t.id = due."ticketId"
  ORDER BY due."createdAt", due.id
  LIMIT ${DIGEST_MAX_ITEMS}
)
INSERT INTO "OutboundMail" (kind, recipient, payload)
SELECT 'STAFF_NOTICE', u.email,
       jsonb_build_object('name', u.name, 'count', (SELECT count(*) FROM due),
         'items', (SELECT jsonb_agg(jsonb_build_object('id', l.id, 'kind', l.kind, 'reference', l.reference, 'title', l.title,
                                                       'actorName', l."actorName", 'summary', l.summary)
                                    ORDER BY l."createdAt", l.id) FROM listed l))
FROM "User" u
WHERE u.id = $1::int AND u.active AND EXISTS (SELECT 1 FROM due)
RETURNING id`;

/**
 * The digest job's work for one person: one mail with what is pending for them, or none when
 * nothing is (a job run again, read meanwhile, or a deactivated person: their notices are marked
 * done unmailed). Returns the outbox row's id.
 */
export async function queueDigest(pool: pg.Pool, userId: number): Promise<number | null> {
  // One digest of a person at a time, whichever instance runs it: two at once locked the same
  // rows in different orders and one died of a deadlock (seen in CI). The second waits, then
  // finds nothing pending.
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))', [`caseboard.digest:${userId}`]);
    const { rows } = await client.query<{ id: number }>(DIGEST, [userId]);
    return rows[0]?.id ?? null;
  });
}
