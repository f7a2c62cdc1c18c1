import { sql } from '../../db/client.js';
import type { Customer, Ticket, TicketHistory, WorkLogEntry } from '../../generated/prisma/client.js';
import type { MailKind, MailState } from '../../generated/prisma/enums.js';
import { SYSTEM_ACTORS, type ServiceContext, type SystemActorKey } from '../context.js';
import { NotFoundError } from '../errors.js';
import { assertCan } from '../policy.js';
import { LOOKALIKE_LIMIT, type Lookalike } from '../customers/lookalikes.js';

const person = { select: { id: true, name: true } } as const;

export interface Person {
  id: number;
  name: string;
}

/** Who wrote an entry or made a change: a staff member, or the ticket's customer (id is then theirs). */
export interface Author {
  id: number;
  name: string;
  customer: boolean;
  /** A rule acting on its own (automatic assignment, an automation rule), not a person. */
  system?: boolean;
  /** The automation rule (its page: /rules/:id). */
  ruleId?: number;
  /** Done through the REST API with this token ("Ann Lee · API token “deploy script”"). */
  token?: { id: number; name: string };
}

/** A file as the ticket page lists it (the bytes are read only when downloaded). */
export interface FileLine {
  id: number;
  fileName: string;
  mediaType: string;
  size: number;
  inline: boolean;
  contentId: string | null;
  workLogEntryId: number | null;
  createdAt: Date;
  /** Set when an admin redacted it: the name stays, the bytes are gone. */
  redacted: { at: Date; by: string } | null;
}

export interface TicketView {
  ticket: Ticket & {
    customer: Pick<Customer, 'id' | 'name' | 'email' | 'phone' | 'createdAt' | 'updatedAt'> & {
      /** The organization's name. */
      organization: string | null;
      /** Other customers whose address looks like this one's (a possible impostor). */
      lookalikes: Lookalike[];
    };
    team: Person;
    assignee: Person | null;
    /** Null when the customer reported it themselves (web form, email). */
    createdBy: Person | null;
    duplicateOf: { reference: string; title: string } | null;
    resolutionArticle: { id: number; title: string } | null;
    /** Knowledge-base articles linked to the ticket, in the order they were linked. */
    articles: { id: number; title: string; status: string }[];
  };
  workLog: (WorkLogEntry & { author: Author; files: FileLine[]; /** The inbound mail it came from ("show the whole message"). */ mailId: number | null })[];
  /** Files of the initial report. */
  reportFiles: FileLine[];
  /** The inbound mail the ticket was opened by, if its whole text was kept. */
  reportMailId: number | null;
  history: (TicketHistory & { actor: Author })[];
  /** Mails to the customer about this ticket (the outbox), oldest first. */
  mails: MailLine[];
  /** Private access links that still work. */
  activeLinks: number;
  /** Staff following the ticket (the first FOLLOWERS_SHOWN by name), how many in all, and whether the viewer is one. */
  followers: Person[];
  followerCount: number;
  following: boolean;
  /** Whether run books are attached (their checklists are read only then). */
  hasRunbooks: boolean;
}

export interface MailLine {
  id: number;
  kind: MailKind;
  state: MailState;
  recipient: string;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  sentAt: Date | null;
}

/** Followers named on the page (the rest are counted). */
export const FOLLOWERS_SHOWN = 50;

/** A timestamp as epoch milliseconds: far cheaper to turn into a Date than PostgreSQL's text. */
const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;

/**
 * The whole ticket page in one statement: the ticket with its customer and people, and its work
 * log and history (each in page order, as JSON arrays read through their (ticketId, createdAt, id)
 * indexes), and its followers (is the viewer one?). Customers whose address looks like the customer's are found through the skeleton's
 * index (services/customers/lookalikes.ts).
 *
 * The same statement records that the user ($2) opened the ticket (TicketView: the version seen,
 * and when), for the queue's "updated since you last looked" and "new customer reply" marks: a
 * data-modifying WITH runs whether or not the SELECT reads it, in the statement's own
 * transaction, so the page stays one round trip. It writes only when there is something new to
 * record (a newer version, or a customer reply since the last visit): reading a page again
 * costs a primary-key probe, not a row version and its WAL. The SELECT sees the snapshot from
 * before the upsert, and does not read TicketView anyway.
 */
const TICKET_VIEW = `
WITH seen AS (
  INSERT INTO "TicketView" ("userId", "ticketId", "seenVersion", "seenAt")
  SELECT $2::int, s.id, s.version, now() FROM "Ticket" s
   WHERE s.reference = $1::varchar
     AND NOT EXISTS (SELECT 1 FROM "TicketView" o
                      WHERE o."userId" = $2::int AND o."ticketId" = s.id AND o."seenVersion" = s.version
                        AND o."seenAt" >= coalesce(s."lastCustomerReplyAt", '-infinity'))
  ON CONFLICT ("userId", "ticketId") DO UPDATE SET "seenVersion" = excluded."seenVersion", "seenAt" = excluded."seenAt"
)
SELECT t.id, t.reference, t.title, t.description, t.channel::text AS channel, t.environment, t.occurrence,
       t.workaround, t.urgency::text AS urgency, t.status::text AS status, t."resolutionCode"::text AS "resolutionCode",
       t."resolutionNote", t."internalResolutionNote", t.tags, t.version, ${ms('t."createdAt"')} AS "createdAt", ${ms('t."updatedAt"')} AS "updatedAt",
       t."slaPolicyId", t."slaDueAt",
       ${ms('t."resolvedAt"')} AS "resolvedAt", t."awaitingSince", t."lastCustomerReplyAt", t."customerId", t."assigneeId",
       t."createdById", t."duplicateOfId", t."resolutionArticleId", ra.title AS "resolutionArticleTitle",
       (SELECT coalesce(json_agg(json_build_object('id', ar.id, 'title', ar.title, 'status', ar.status)
                 ORDER BY ta."createdAt", ar.id), '[]')
          FROM "TicketArticle" ta JOIN "Article" ar ON ar.id = ta."articleId"
         WHERE ta."ticketId" = t.id) AS articles,
       c.name AS "c_name", c.email AS "c_email", c.phone AS "c_phone",
       (SELECT org.name FROM "Organization" org WHERE org.id = c."organizationId") AS "c_organization",
       (SELECT coalesce(json_agg(json_build_object('id', l.id, 'name', l.name, 'email', l.email,
                 'createdAt', ${ms('l."createdAt"')}) ORDER BY l.id), '[]')
          FROM (SELECT o.id, o.name, o.email, o."createdAt" FROM "Customer" o
                 WHERE o."emailSkeleton" = c."emailSkeleton" AND o.id <> c.id AND o.email <> c.email
                   AND o."mergedIntoId" IS NULL
                 ORDER BY o.id LIMIT ${LOOKALIKE_LIMIT}) l) AS "c_lookalikes",
       ${ms('c."createdAt"')} AS "c_createdAt", ${ms('c."updatedAt"')} AS "c_updatedAt",
       t."teamId", tm.name AS "teamName", a.name AS "assigneeName", cb.name AS "createdByName", d.reference AS "duplicateOfReference",
       d.title AS "duplicateOfTitle",
       (SELECT coalesce(json_agg(json_build_object(
                 'id', w.id, 'kind', w.kind, 'body', w.body, 'outcome', w.outcome, 'createdAt', ${ms('w."createdAt"')},
                 'ticketId', w."ticketId", 'authorId', w."authorId", 'authorCustomerId', w."authorCustomerId",
                 'authorSystem', w."authorSystem", 'authorRuleId', w."authorRuleId",
                 'authorName', coalesce(u.name, wc.name, wr.name), 'apiTokenId', w."apiTokenId", 'tokenName', wt.name
               ) ORDER BY w."createdAt", w.id), '[]')
          FROM "WorkLogEntry" w LEFT JOIN "User" u ON u.id = w."authorId"
          LEFT JOIN "ApiToken" wt ON wt.id = w."apiTokenId"
          LEFT JOIN "Customer" wc ON wc.id = w."authorCustomerId"
          LEFT JOIN "AutomationRule" wr ON wr.id = w."authorRuleId"
         WHERE w."ticketId" = t.id) AS "workLog",
       (SELECT coalesce(json_agg(json_build_object(
                 'id', h.id, 'action', h.action, 'field', h.field, 'oldValue', h."oldValue", 'newValue', h."newValue",
                 'oldRefId', h."oldRefId", 'newRefId', h."newRefId", 'ticketVersion', h."ticketVersion",
                 'createdAt', ${ms('h."createdAt"')}, 'ticketId', h."ticketId", 'actorId', h."actorId",
                 'actorCustomerId', h."actorCustomerId", 'actorSystem', h."actorSystem", 'actorRuleId', h."actorRuleId",
                 'actorName', coalesce(u.name, hc.name, hr.name), 'apiTokenId', h."apiTokenId", 'tokenName', ht.name
               ) ORDER BY h."createdAt", h.id), '[]')
          FROM "TicketHistory" h LEFT JOIN "User" u ON u.id = h."actorId"
          LEFT JOIN "ApiToken" ht ON ht.id = h."apiTokenId"
          LEFT JOIN "Customer" hc ON hc.id = h."actorCustomerId"
          LEFT JOIN "AutomationRule" hr ON hr.id = h."actorRuleId"
         WHERE h."ticketId" = t.id) AS history,
       (SELECT coalesce(json_agg(json_build_object(
                 'id', m.id, 'kind', m.kind, 'state', m.state, 'recipient', m.recipient, 'attempts', m.attempts,
                 'lastError', m."lastError", 'createdAt', ${ms('m."createdAt"')}, 'sentAt', ${ms('m."sentAt"')}
               ) ORDER BY m."createdAt", m.id), '[]')
          FROM "OutboundMail" m WHERE m."ticketId" = t.id) AS mails,
       (SELECT coalesce(json_agg(json_build_object(
                 'id', f.id, 'fileName', f."fileName", 'mediaType', f."mediaType", 'size', f.size, 'inline', f.inline,
                 'contentId', f."contentId", 'workLogEntryId', f."workLogEntryId", 'createdAt', ${ms('f."createdAt"')},
                 'redactedAt', ${ms('f."redactedAt"')}, 'redactedBy', r.name
               ) ORDER BY f.id), '[]')
          FROM "Attachment" f LEFT JOIN "User" r ON r.id = f."redactedById" WHERE f."ticketId" = t.id) AS files,
       (SELECT coalesce(json_agg(json_build_object('id', im.id, 'entry', im."workLogEntryId") ORDER BY im.id), '[]')
          FROM "InboundMail" im WHERE im."ticketId" = t.id AND im."originalText" IS NOT NULL) AS "inboundMails",
       (SELECT count(*)::int FROM "TicketAccessToken" k
         WHERE k."ticketId" = t.id AND k."revokedAt" IS NULL AND k."expiresAt" > now()) AS "activeLinks",
       (SELECT coalesce(json_agg(json_build_object('id', fl.id, 'name', fl.name) ORDER BY fl.name, fl.id), '[]')
          FROM (SELECT fu.id, fu.name FROM "TicketFollower" tf JOIN "User" fu ON fu.id = tf."userId"
                 WHERE tf."ticketId" = t.id ORDER BY fu.name, fu.id LIMIT ${FOLLOWERS_SHOWN}) fl) AS followers,
       (SELECT count(*)::int FROM "TicketFollower" tf WHERE tf."ticketId" = t.id) AS "followerCount",
       EXISTS (SELECT 1 FROM "TicketFollower" tf WHERE tf."ticketId" = t.id AND tf."userId" = $2::int) AS following,
       EXISTS (SELECT 1 FROM "TicketRunbook" trb WHERE trb."ticketId" = t.id) AS "hasRunbooks"
FROM "Ticket" t
JOIN "Customer" c ON c.id = t."customerId"
LEFT JOIN "User" cb ON cb.id = t."createdById"
LEFT JOIN "User" a ON a.id = t."assigneeId"
JOIN "Team" tm ON tm.id = t."teamId"
LEFT JOIN "Ticket" d ON d.id = t."duplicateOfId"
LEFT JOIN "Article" ra ON ra.id = t."resolutionArticleId"
WHERE t.reference = $1::varchar`;

type Row = Omit<Ticket, 'createdAt' | 'updatedAt' | 'resolvedAt'> & {
  createdAt: number;
  updatedAt: number;
  resolvedAt: number | null;
  c_name: string;
  c_email: string;
  c_phone: string | null;
  c_organization: string | null;
  c_lookalikes: (Omit<Lookalike, 'createdAt'> & { createdAt: number })[] | string;
  c_createdAt: number;
  c_updatedAt: number;
  teamName: string;
  assigneeName: string | null;
  createdByName: string | null;
  duplicateOfReference: string | null;
  duplicateOfTitle: string | null;
  resolutionArticleTitle: string | null;
  articles: TicketView['ticket']['articles'] | string;
  workLog: (Omit<WorkLogEntry, 'createdAt'> & { createdAt: number; authorName: string; tokenName: string | null })[] | string;
  history: (Omit<TicketHistory, 'createdAt'> & { createdAt: number; actorName: string; tokenName: string | null })[] | string;
  mails: (Omit<MailLine, 'createdAt' | 'sentAt'> & { createdAt: number; sentAt: number | null })[] | string;
  activeLinks: number;
  files: (Omit<FileLine, 'createdAt' | 'redacted'> & { createdAt: number; redactedAt: number | null; redactedBy: string | null })[] | string;
  inboundMails: { id: number; entry: number | null }[] | string;
  followers: Person[] | string;
  followerCount: number;
  following: boolean;
  hasRunbooks: boolean;
};

const authorOf = (userId: number | null, customerId: number | null, name: string, tokenId: number | null = null, tokenName: string | null = null): Author =>
  userId !== null
    ? { id: userId, name, customer: false, ...(tokenId !== null ? { token: { id: tokenId, name: tokenName ?? '' } } : {}) }
    : { id: customerId ?? 0, name, customer: true };

/** A history row written by a rule (SYSTEM_ACTORS): named after the rule ("Rule: VIP customers → High"). */
const systemAuthor = (key: string, ruleId: number | null = null, ruleName: string | null = null): Author =>
  ruleId !== null
    ? { id: 0, name: `Rule: ${ruleName ?? ruleId}`, customer: false, system: true, ruleId }
    : { id: 0, name: SYSTEM_ACTORS[key as SystemActorKey] ?? key, customer: false, system: true };

const json = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

/** The ticket page's one statement, as getTicketView runs it (npm run bench's "SQL alone" reference). */
export function ticketViewSql(actor: { id: number }, reference: string): { text: string; values: unknown[] } {
  return { text: TICKET_VIEW, values: [reference, actor.id] };
}

/** Everything the ticket page shows: the ticket, its people, its work log and its whole history. */
export async function getTicketView(ctx: ServiceContext, reference: string): Promise<TicketView> {
  assertCan(ctx.actor, 'ticket.read');
  const [row] = await sql<Row>(ctx.db, TICKET_VIEW, [reference, ctx.actor.id]);
  if (!row) throw new NotFoundError(`No ticket has the reference ${reference}.`);
  const {
    c_name, c_email, c_phone, c_organization, c_lookalikes, c_createdAt, c_updatedAt,
    teamName, assigneeName, createdByName, duplicateOfReference, duplicateOfTitle, resolutionArticleTitle, articles, workLog, history,
    mails, activeLinks, files, inboundMails, followers, followerCount, following, hasRunbooks,
    ...fields
  } = row;
  const mailOf = new Map(json(inboundMails).map((m) => [m.entry, m.id] as const));
  const byEntry = new Map<number | null, FileLine[]>();
  // The parsed rows are this request's own: completed in place (in Node 20, `{ ...row, newKey }`
  // costs tens of microseconds per object, scripts/bench-spread.ts; a ticket has hundreds of rows).
  for (const f of json(files)) {
    const { redactedAt, redactedBy } = f;
    const line = Object.assign(f, {
      createdAt: new Date(f.createdAt),
      redacted: redactedAt === null ? null : { at: new Date(redactedAt), by: redactedBy ?? '' },
    }) as unknown as FileLine;
    const list = byEntry.get(f.workLogEntryId);
    if (list) list.push(line);
    else byEntry.set(f.workLogEntryId, [line]);
  }
  const ticket: TicketView['ticket'] = {
    ...fields,
    createdAt: new Date(fields.createdAt),
    updatedAt: new Date(fields.updatedAt),
    resolvedAt: fields.resolvedAt === null ? null : new Date(fields.resolvedAt),
    customer: {
      id: fields.customerId,
      name: c_name,
      email: c_email,
      phone: c_phone,
      organization: c_organization,
      createdAt: new Date(c_createdAt),
      updatedAt: new Date(c_updatedAt),
      lookalikes: json(c_lookalikes).map((l) => ({ ...l, createdAt: new Date(l.createdAt) })),
    },
    team: { id: fields.teamId, name: teamName },
    assignee: fields.assigneeId === null ? null : { id: fields.assigneeId, name: assigneeName ?? '' },
    createdBy: fields.createdById === null ? null : { id: fields.createdById, name: createdByName ?? '' },
    duplicateOf:
      duplicateOfReference === null ? null : { reference: duplicateOfReference, title: duplicateOfTitle ?? '' },
    resolutionArticle:
      fields.resolutionArticleId === null ? null : { id: fields.resolutionArticleId, title: resolutionArticleTitle ?? '' },
    articles: json(articles),
  };
  return {
    ticket,
    workLog: json(workLog).map((e) =>
      Object.assign(e, {
        createdAt: new Date(e.createdAt),
        author: e.authorSystem !== null ? systemAuthor(e.authorSystem, e.authorRuleId, e.authorName) : authorOf(e.authorId, e.authorCustomerId, e.authorName, e.apiTokenId, e.tokenName),
        files: byEntry.get(e.id) ?? [],
        mailId: mailOf.get(e.id) ?? null,
      }),
    ),
    reportFiles: byEntry.get(null) ?? [],
    reportMailId: mailOf.get(null) ?? null,
    history: json(history).map((h) =>
      Object.assign(h, {
        createdAt: new Date(h.createdAt),
        actor: h.actorSystem !== null ? systemAuthor(h.actorSystem, h.actorRuleId, h.actorName) : authorOf(h.actorId, h.actorCustomerId, h.actorName, h.apiTokenId, h.tokenName),
      }),
    ),
    mails: json(mails).map((m) => Object.assign(m, { createdAt: new Date(m.createdAt), sentAt: m.sentAt === null ? null : new Date(m.sentAt) })),
    activeLinks,
    followers: json(followers),
    followerCount,
    following,
    hasRunbooks,
  };
}

/** What changed on a ticket after the given version: shown when a stale form is refused. */
export async function getChangesSince(ctx: ServiceContext, reference: string, version: number) {
  assertCan(ctx.actor, 'ticket.read');
  const rows = await ctx.db.ticketHistory.findMany({
    where: { ticket: { reference }, ticketVersion: { gt: version }, action: 'CHANGED' },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    include: { actor: person, actorCustomer: person, actorRule: person, apiToken: person },
  });
  return rows.map(({ actor, actorCustomer, actorRule, apiToken, ...h }) => ({
    ...h,
    actor: h.actorSystem !== null ? systemAuthor(h.actorSystem, h.actorRuleId, actorRule?.name ?? null) : actor ? { ...actor, customer: false, ...(apiToken ? { token: apiToken } : {}) } : { id: actorCustomer?.id ?? 0, name: actorCustomer?.name ?? '', customer: true },
  }));
}
