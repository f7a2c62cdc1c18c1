// npm run seed -- --tickets 1000000 [--customers N] [--articles N] [--batch N]
//
// Fills the app's database (DATABASE_URL's server, or the embedded one when it is unset) with
// realistic data: 20 technicians and an admin, customers with organizations, and N tickets
// spread over three years, each with a history that tells how it got where it is (creation,
// taking it, status changes, resolution) and, for a quarter of them, a work-log entry — two in
// five of those with a file attached (a log, a screenshot, a PDF or a configuration file: four
// contents, each stored once, as uploads of the same bytes are).
// The rows are made by PostgreSQL itself (INSERT ... SELECT FROM generate_series), a batch per
// statement, two statements at a time on a server: a million tickets take a few minutes.
import { parseArgs } from 'node:util';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type pg from 'pg';
import cliProgress from 'cli-progress';
import { loadConfig } from '../src/config/env.js';
import { openDatabase } from '../src/db/open.js';
import { withTransaction } from '../src/db/client.js';
import { backfillEmailSkeletons } from '../src/db/backfill-skeletons.js';
import { migrate } from '../src/db/migrate.js';
import { hashPassword, setPasswordCost } from '../src/services/passwords.js';
import * as W from './seed-data.js';

const USAGE = 'Usage: npm run seed -- --tickets N [--customers N] [--articles N] [--batch N] [--password TEXT]';
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // src/domain/reference.ts
const MASK35 = 2n ** 35n - 1n; // 7 Crockford base32 characters = 35 bits
const SPAN_SECONDS = 3 * 365 * 24 * 3600; // tickets are spread over three years up to now

function count(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 0 || n > 50_000_000) {
    console.error(`--${name} must be a whole number (0 to 50,000,000), not "${value}".\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

const { values: args } = parseArgs({
  options: {
    tickets: { type: 'string' },
    customers: { type: 'string' },
    articles: { type: 'string' },
    batch: { type: 'string' },
    password: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const TICKETS = count('tickets', args.tickets, 1000);
const CUSTOMERS = Math.max(1, count('customers', args.customers, Math.ceil(TICKETS / 20)));
const BATCH = Math.max(100, count('batch', args.batch, 20_000));
const ARTICLES = count('articles', args.articles, 0);
const PASSWORD = args.password ?? `seed-${randomBytes(9).toString('base64url')}`;
if (PASSWORD.length < 12) {
  console.error('--password must be at least 12 characters.');
  process.exit(2);
}

/** `pool[1 + floor(r * len)]`: a random element of a text[] parameter, chosen by r in [0, 1). */
const pick = (param: string, r: string) => `(${param}::text[])[1 + floor((${r}) * cardinality(${param}::text[]))::int]`;

/** The reference of index i: a bijection of 35-bit numbers (so no two alike), in Crockford base32. */
function referenceSql(v: string): string {
  const chars = [30, 25, 20, 15, 10, 5, 0].map((s) => `substr('${ALPHABET}', ((${v} >> ${s}) & 31)::int + 1, 1)`);
  return `'CB-' || ${chars.join(' || ')}`;
}

// Parameters of the ticket statement.
const P = {
  count: '$1', pos0: '$2', ref0: '$3', total: '$4', span: '$5', m1: '$6', off: '$7', m2: '$8',
  custIds: '$9', custNames: '$10', staffIds: '$11', staffNames: '$12', now: '$13',
  titles: '$14', problems: '$15', contexts: '$16', details: '$17', impacts: '$18', products: '$19',
  asks: '$20', envs: '$21', occs: '$22', workarounds: '$23', resNotes: '$24', notes: '$25', fixes: '$26',
  components: '$27', versions: '$28', errors: '$29', hosts: '$30',
} as const;

/**
 * A term of a vocabulary drawn with a Zipf-like law over its order: rank k with probability
 * ln((k + 1) / k) / ln(n + 1), about 1/k (seed-data.ts, "The vocabulary"). The vocabularies are
 * jsonb arrays: reaching element k of a text[] walks the k before it, of a jsonb array at most 32.
 */
const zipf = (param: string) => `(${param}::jsonb ->> (floor(power(jsonb_array_length(${param}::jsonb) + 1, random()))::int - 1))`;

/**
 * A sentence template (an SQL text expression that gives the same template each time it is
 * evaluated: pick() over a row's column) with its slots filled, each slot type drawn anew:
 * {problem}, {p}/{p2} products, {c}/{c2} ordinary words, {v} versions, {e} error codes, {h} hosts.
 * Only the slots the template has are drawn. `v` names the vocabulary parameters.
 */
function fill(template: string, v: { problems: string; products: string; components: string; versions: string; errors: string; hosts: string }): string {
  let out = template;
  for (const [slot, term] of [
    ['{problem}', pick(v.problems, 'random()')], ['{p2}', zipf(v.products)], ['{p}', zipf(v.products)], ['{c2}', zipf(v.components)],
    ['{c}', zipf(v.components)], ['{v}', zipf(v.versions)], ['{e}', zipf(v.errors)], ['{h}', zipf(v.hosts)],
  ] as const) {
    out = `replace(${out}, '${slot}', CASE WHEN strpos(${template}, '${slot}') > 0 THEN ${term} ELSE '' END)`;
  }
  return out;
}

/** One batch of tickets with their history and work log, in one statement (so one transaction). */
/** The files work-log entries carry (constant names and types: written into the SQL as literals). */
const SAMPLE_FILES = [
  { name: 'server.log', type: 'text/plain', bytes: Buffer.from('2026-03-02 09:14:07 INFO  export started\n2026-03-02 09:14:09 ERROR connection reset by peer\n'.repeat(40)) },
  { name: 'screenshot.png', type: 'image/png', bytes: Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex') },
  { name: 'error-report.pdf', type: 'application/pdf', bytes: Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n') },
  { name: 'settings.xml', type: 'application/xml', bytes: Buffer.from('<?xml version="1.0"?>\n<settings><printer name="HP-4050" duplex="true"/></settings>\n') },
].map((f) => ({ ...f, sha256: createHash('sha256').update(f.bytes).digest('hex') }));
const fileArray = (key: 'name' | 'type' | 'sha256') => `ARRAY[${SAMPLE_FILES.map((f) => `'${f[key]}'`).join(', ')}]`;
const fileOf = (key: 'name' | 'type' | 'sha256', row: string) => `(${fileArray(key)})[1 + ${row}.id % ${SAMPLE_FILES.length}]`;
const fileSize = (row: string) => `(ARRAY[${SAMPLE_FILES.map((f) => f.bytes.length).join(', ')}])[1 + ${row}.id % ${SAMPLE_FILES.length}]`;

function ticketSql(checkExisting: boolean): string {
  const now = `${P.now}::timestamptz`;
  return `
WITH g AS MATERIALIZED (
  SELECT k, ${P.pos0}::bigint + k AS pos,
         ((${P.ref0}::bigint + k) * ${P.m1}::bigint + ${P.off}::bigint) & ${MASK35} AS v0,
         random() AS ra, random() AS rs, random() AS rs2, random() AS ru, random() AS rc, random() AS rj,
         random() AS rcu, random() AS rcr, random() AS ras, random() AS rb,
         random() AS rt1, random() AS rt2, random() AS rd1, random() AS rd2, random() AS rd3, random() AS rd4, random() AS rd5,
         random() AS re, random() AS ro, random() AS rw, random() AS rr, random() AS rn, random() AS rdur,
         random() AS rtk, random() AS rpg, random() AS rwl, random() AS rwk, random() AS rwo, random() AS rwb,
         random() AS rwt, random() AS rdup
  FROM generate_series(0, ${P.count}::int - 1) AS k
),
a AS (
  SELECT g.*,
         ${now} - make_interval(secs => (1 - g.pos / ${P.total}::float8) * ${P.span}::float8 + g.rj * 300) AS created,
         ((g.v0 # (g.v0 >> 17)) * ${P.m2}::bigint) & ${MASK35} AS v
  FROM g
),
b AS (
  SELECT a.*, ${referenceSql('a.v')} AS reference,
         -- Old tickets are nearly all done; of the last month's, most still need work.
         a.ra < CASE WHEN a.created > ${now} - interval '30 days' THEN 0.7
                     WHEN a.created > ${now} - interval '180 days' THEN 0.15 ELSE 0.045 END AS active,
         CASE WHEN a.ru < 0.01 THEN 'CRITICAL' WHEN a.ru < 0.10 THEN 'HIGH' WHEN a.ru < 0.70 THEN 'NORMAL'
              WHEN a.ru < 0.90 THEN 'LOW' ELSE 'NONE' END AS urgency,
         CASE WHEN a.rc < 0.35 THEN 'PHONE' WHEN a.rc < 0.65 THEN 'EMAIL' WHEN a.rc < 0.85 THEN 'WEB'
              WHEN a.rc < 0.95 THEN 'CHAT' WHEN a.rc < 0.98 THEN 'API' ELSE 'AUTOMATIC' END AS channel,
         1 + floor(a.rcu * cardinality(${P.custIds}::int[]))::int AS ci,
         1 + floor(a.rcr * cardinality(${P.staffIds}::int[]))::int AS cri,
         1 + floor(a.ras * cardinality(${P.staffIds}::int[]))::int AS asi,
         -- Time to resolve: ten minutes to three weeks, most within a day or two.
         make_interval(secs => 600 + 21 * 86400 * power(a.rdur, 4)) AS dur
  FROM a
),
c AS (
  SELECT b.*,
         CASE WHEN b.active THEN
                CASE WHEN b.rs < 0.25 THEN 'NEW' WHEN b.rs < 0.45 THEN 'OPEN' WHEN b.rs < 0.80 THEN 'IN_PROGRESS'
                     ELSE 'WAITING_ON_CUSTOMER' END
              WHEN b.created + b.dur < ${now} - interval '7 days' AND b.rs2 < 0.9 THEN 'CLOSED'
              ELSE 'RESOLVED' END AS status,
         CASE WHEN b.active THEN NULL ELSE least(b.created + b.dur, ${now}) END AS resolved_at
  FROM b
),
d AS (
  SELECT c.*,
         coalesce(c.resolved_at, ${now}) - c.created AS span,
         -- Half the NEW tickets have no owner yet, the others were logged with "assign to me" (taking
         -- a NEW ticket later opens it); 40% of the others were taken by their creator at once.
         (c.status = 'NEW' AND c.rs2 < 0.5) AS unassigned
  FROM c
),
e AS (
  SELECT d.*,
         (${P.staffIds}::int[])[d.cri] AS creator_id, (${P.staffNames}::text[])[d.cri] AS creator_name,
         NOT d.unassigned AND (d.status = 'NEW' OR d.rb < 0.4) AS born,
         CASE WHEN d.unassigned THEN NULL WHEN d.status = 'NEW' OR d.rb < 0.4 THEN d.cri ELSE d.asi END AS owner_i,
         (${P.custIds}::int[])[d.ci] AS cust_id, (${P.custNames}::text[])[d.ci] AS cust_name,
         d.created + d.span * (0.05 * d.rtk) AS t_take,
         d.created + d.span * (0.1 + 0.2 * d.rpg) AS t_prog,
         d.created + d.span * 0.6 AS t_wait,
         d.created + d.span * (0.3 + 0.5 * d.rwt) AS t_wl,
         CASE WHEN d.status = 'CLOSED' THEN least(d.resolved_at + make_interval(days => 3 + (d.rs * 7)::int), ${now}) END AS closed_at,
         CASE WHEN d.resolved_at IS NULL THEN NULL
              WHEN d.rr < 0.50 THEN 0 WHEN d.rr < 0.65 THEN 1 WHEN d.rr < 0.73 THEN 2 WHEN d.rr < 0.80 THEN 3
              WHEN d.rr < 0.85 THEN 4 WHEN d.rr < 0.95 THEN 5 ELSE 6 END AS rcode_i,
         ${fill(pick(P.titles, 'd.rt1'), P)} AS title
  FROM d
),
f AS (
  SELECT e.*,
         (${P.staffIds}::int[])[e.owner_i] AS assignee_id, (${P.staffNames}::text[])[e.owner_i] AS assignee_name,
         e.owner_i IS NOT NULL AND NOT e.born AS took,
         1 + (e.owner_i IS NOT NULL AND NOT e.born)::int AS vb
  FROM e
),
h AS (
  SELECT f.*,
         -- Taking a NEW ticket opens it (one version): a taken OPEN ticket had no later status change.
         CASE f.status WHEN 'NEW' THEN f.vb WHEN 'OPEN' THEN f.vb + (NOT f.took)::int WHEN 'IN_PROGRESS' THEN f.vb + 1
                       WHEN 'CLOSED' THEN f.vb + 3 ELSE f.vb + 2 END AS version,
         CASE f.status WHEN 'NEW' THEN f.created
                       WHEN 'OPEN' THEN CASE WHEN f.took THEN f.t_take ELSE f.t_prog END WHEN 'IN_PROGRESS' THEN f.t_prog
                       WHEN 'WAITING_ON_CUSTOMER' THEN f.t_wait WHEN 'RESOLVED' THEN f.resolved_at
                       ELSE f.closed_at END AS updated,
         ${fill(pick(P.contexts, 'f.rd1'), P)} || ' ' || ${fill(pick(P.details, 'f.rd2'), P)}
           || CASE WHEN f.rd4 < 0.5 THEN ' ' || ${fill(pick(P.details, 'f.rd4 * 2'), P)} ELSE '' END
           || ' ' || ${fill(pick(P.impacts, 'f.rd3'), P)} || ' ' || ${fill(pick(P.asks, 'f.rd5'), P)} AS description,
         CASE WHEN f.re < 0.6 THEN ${pick(P.envs, 'f.re / 0.6')} END AS environment,
         CASE WHEN f.ro < 0.5 THEN ${pick(P.occs, 'f.ro / 0.5')} END AS occurrence,
         CASE WHEN f.rw < 0.2 THEN ${pick(P.workarounds, 'f.rw / 0.2')} END AS workaround,
         f.rwl < 0.25 AS has_wl,
         CASE WHEN f.rwk < 0.6 THEN 'NOTE' ELSE 'ATTEMPTED_FIX' END AS wl_kind,
         coalesce(f.assignee_id, f.creator_id) AS wl_author,
         f.vb + (f.status <> 'NEW' AND NOT (f.took AND f.status = 'OPEN'))::int + (f.status = 'WAITING_ON_CUSTOMER' AND f.t_wait <= f.t_wl)::int AS wl_ver
  FROM f
),
w1 AS MATERIALIZED (
  SELECT h.*, nextval('"Ticket_id_seq"') AS id,
         CASE WHEN h.has_wl THEN nextval('"WorkLogEntry_id_seq"') END AS wl_id,
         CASE WHEN h.has_wl AND h.rwo >= 0.6 THEN nextval('"Attachment_id_seq"') END AS file_id
  FROM h
  ${checkExisting ? 'WHERE NOT EXISTS (SELECT 1 FROM "Ticket" x WHERE x.reference = h.reference)' : ''}
),
w2 AS (
  SELECT w1.*,
         -- A duplicate points at an earlier ticket of the same batch.
         CASE WHEN w1.rcode_i = 4 THEN lag(w1.id, 1 + (w1.rdup * 20)::int) OVER (ORDER BY w1.k) END AS dup_id,
         CASE WHEN w1.rcode_i = 4 THEN lag(w1.reference, 1 + (w1.rdup * 20)::int) OVER (ORDER BY w1.k) END AS dup_ref
  FROM w1
),
w AS MATERIALIZED (
  SELECT w2.*,
         (ARRAY['FIXED','WORKAROUND','KNOWN_ISSUE','BY_DESIGN','DUPLICATE','CANNOT_REPRODUCE','WONT_FIX'])
           [CASE WHEN w2.rcode_i = 4 AND w2.dup_id IS NULL THEN 0 ELSE w2.rcode_i END + 1] AS rcode,
         (${P.resNotes}::text[])[CASE WHEN w2.rcode_i = 4 AND w2.dup_id IS NULL THEN 0 ELSE w2.rcode_i END * 3
                                 + 1 + floor(w2.rn * 3)::int] AS rnote,
         CASE WHEN w2.wl_kind = 'NOTE' THEN NULL
              WHEN w2.resolved_at IS NOT NULL AND w2.rwo < 0.5 THEN 'SOLVED'
              WHEN w2.rwo < 0.65 THEN 'PARTIAL' WHEN w2.rwo < 0.9 THEN 'FAILED' ELSE 'UNKNOWN' END AS wl_outcome,
         CASE WHEN w2.wl_kind = 'NOTE' THEN ${fill(pick(P.notes, 'w2.rwb'), P)} ELSE ${fill(pick(P.fixes, 'w2.rwb'), P)} END AS wl_body
  FROM w2
),
ins_t AS (
  INSERT INTO "Ticket" (id, reference, title, description, channel, environment, occurrence, workaround,
                        urgency, status, "resolutionCode", "resolutionNote", version, "createdAt", "updatedAt",
                        "resolvedAt", "customerId", "assigneeId", "createdById", "duplicateOfId", "teamId", "awaitingSince")
  SELECT id, reference, title, description, channel::"Channel", environment, occurrence, workaround,
         urgency::"Urgency", status::"TicketStatus", rcode::"ResolutionCode", rnote,
         version, created, updated, resolved_at, cust_id, assignee_id, creator_id, dup_id,
         -- Half of the Network and Billing members' tickets are in their team, and a few unowned ones
         -- (seedStaff puts technician i in Network when i % 3 = 1, in Billing when i % 3 = 2; owner_i is 1-based).
         CASE WHEN owner_i % 3 = 2 AND id % 2 = 0 OR owner_i IS NULL AND id % 5 = 1 THEN (SELECT t.id FROM "Team" t WHERE t.name = 'Network')
              WHEN owner_i % 3 = 0 AND id % 2 = 0 OR owner_i IS NULL AND id % 5 = 2 THEN (SELECT t.id FROM "Team" t WHERE t.name = 'Billing')
              ELSE (SELECT t.id FROM "Team" t WHERE t."isDefault") END,
         -- Waiting for us since it came in (nobody replied to the customer: the seeded work log
         -- holds notes and attempted fixes); nothing waits for us once it waits on them or is done.
         CASE WHEN status IN ('NEW', 'OPEN', 'IN_PROGRESS') THEN created END
  FROM w
),
ins_wl AS (
  INSERT INTO "WorkLogEntry" (id, kind, body, outcome, "createdAt", "ticketId", "authorId")
  SELECT wl_id, wl_kind::"WorkLogKind", wl_body, wl_outcome::"FixOutcome", t_wl, id, wl_author
  FROM w WHERE wl_id IS NOT NULL
),
ins_f AS (
  INSERT INTO "Attachment" (id, "fileName", "mediaType", size, sha256, "createdAt", "ticketId", "workLogEntryId", "addedById")
  SELECT file_id, ${fileOf('name', 'w')}, ${fileOf('type', 'w')}, ${fileSize('w')}, ${fileOf('sha256', 'w')}::char(64), t_wl, id, wl_id, wl_author
  FROM w WHERE file_id IS NOT NULL
),
ins_h AS (
  INSERT INTO "TicketHistory" (action, field, "oldValue", "newValue", "oldRefId", "newRefId", "ticketVersion",
                               "createdAt", "ticketId", "actorId")
  SELECT x.action::"HistoryAction", x.field, x.old_value, x.new_value, x.old_ref, x.new_ref, x.ver, x.at, w.id, x.actor
  FROM w CROSS JOIN LATERAL (VALUES
    -- What the ticket was at birth (the shape createTicket writes).
    (true, 'CREATED', NULL::varchar, NULL::text,
     json_build_object('title', w.title, 'urgency', w.urgency, 'status', 'NEW', 'channel', w.channel,
                       'customer', w.cust_name, 'assignee', CASE WHEN w.born THEN w.creator_name END)::text,
     NULL::int, CASE WHEN w.born THEN w.creator_id END, 1, w.created, w.creator_id),
    -- Taking it (a NEW ticket: it opens in the same change, as takeTicket writes it).
    (w.took, 'CHANGED', 'status', 'NEW', 'OPEN', NULL, NULL, 2, w.t_take, w.assignee_id),
    (w.took, 'CHANGED', 'assigneeId', NULL, w.assignee_name, NULL, w.assignee_id, 2, w.t_take, w.assignee_id),
    (w.status <> 'NEW' AND NOT (w.took AND w.status = 'OPEN'), 'CHANGED', 'status', CASE WHEN w.took THEN 'OPEN' ELSE 'NEW' END,
     CASE WHEN w.status = 'OPEN' THEN 'OPEN' ELSE 'IN_PROGRESS' END,
     NULL, NULL, w.vb + 1, w.t_prog, coalesce(w.assignee_id, w.creator_id)),
    (w.status = 'WAITING_ON_CUSTOMER', 'CHANGED', 'status', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER', NULL, NULL,
     w.vb + 2, w.t_wait, w.assignee_id),
    (w.rcode IS NOT NULL, 'CHANGED', 'status', 'IN_PROGRESS', 'RESOLVED', NULL, NULL, w.vb + 2, w.resolved_at, w.assignee_id),
    (w.rcode IS NOT NULL, 'CHANGED', 'resolutionCode', NULL, w.rcode, NULL, NULL, w.vb + 2, w.resolved_at, w.assignee_id),
    (w.rcode IS NOT NULL, 'CHANGED', 'resolutionNote', NULL, w.rnote, NULL, NULL, w.vb + 2, w.resolved_at, w.assignee_id),
    (w.dup_id IS NOT NULL, 'CHANGED', 'duplicateOfId', NULL, w.dup_ref, NULL, w.dup_id::int, w.vb + 2, w.resolved_at, w.assignee_id),
    (w.status = 'CLOSED', 'CHANGED', 'status', 'RESOLVED', 'CLOSED', NULL, NULL, w.vb + 3, w.closed_at, w.assignee_id),
    (w.wl_id IS NOT NULL, 'WORKLOG_ADDED', w.wl_kind, NULL, w.wl_outcome, NULL, w.wl_id::int, w.wl_ver, w.t_wl, w.wl_author),
    (w.file_id IS NOT NULL, 'ATTACHMENT_ADDED', 'attachment', NULL, ${fileOf('name', 'w')}, NULL, w.file_id::int, w.wl_ver, w.t_wl, w.wl_author)
  ) AS x(keep, action, field, old_value, new_value, old_ref, new_ref, ver, at, actor)
  WHERE x.keep
)
SELECT count(*)::int AS n FROM w`;
}

// The customers' organizations are records (with their .example domain); made here first, once
// per name (an earlier seed's are kept), then each customer points at its own.
const CUSTOMER_SQL = `
WITH picked AS (
  SELECT $1::bigint + k AS n, ${pick('$3', 'random()')} AS first, ${pick('$4', 'random()')} AS last, random() AS rp,
         CASE WHEN random() < 0.85 THEN
           ($5::text[])[1 + oi % cardinality($5::text[])] || ' ' || ($6::text[])[1 + (oi / cardinality($5::text[])) % cardinality($6::text[])]
         END AS org,
         $7::timestamptz - make_interval(secs => $8::float8 + random() * 30 * 86400) AS created
  FROM (SELECT k, floor(power(random(), 2) * $9::int)::int AS oi FROM generate_series(0, $2::int - 1) AS k) r
), names AS (
  SELECT DISTINCT org AS name, trim(both '-' from regexp_replace(org, '[^A-Za-z]+', '-', 'g')) AS slug FROM picked WHERE org IS NOT NULL
), new_orgs AS (
  INSERT INTO "Organization" (name, "nameKey")
  SELECT name, lower(name) FROM names
  ON CONFLICT ("nameKey") DO NOTHING
  RETURNING id, name
), new_domains AS (
  INSERT INTO "OrganizationDomain" (domain, "organizationId")
  SELECT lower(names.slug) || '.example', new_orgs.id FROM new_orgs JOIN names ON names.name = new_orgs.name
  ON CONFLICT (domain) DO NOTHING
), orgs AS (
  SELECT id, name FROM new_orgs
  UNION ALL SELECT o.id, o.name FROM "Organization" o JOIN names ON o."nameKey" = lower(names.name)
)
INSERT INTO "Customer" (name, email, phone, "organizationId", "createdAt", "updatedAt")
SELECT s.first || ' ' || s.last,
       lower(s.first || '.' || s.last || '.' || s.n || '@' ||
             CASE WHEN s.org IS NULL THEN (ARRAY['mail.example', 'post.example', 'inbox.example'])[(1 + s.n % 3)::int]
                  ELSE trim(both '-' from regexp_replace(s.org, '[^A-Za-z]+', '-', 'g')) || '.example' END),
       CASE WHEN s.rp < 0.5 THEN '+1 555 ' || lpad(floor(s.rp * 2e7)::int::text, 7, '0') END,
       (SELECT min(orgs.id) FROM orgs WHERE orgs.name = s.org), s.created, s.created
FROM picked s
ON CONFLICT (email) DO NOTHING
RETURNING id, name`;

function emailOf(name: string): string {
  const ascii = name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  return `${ascii.replace(/[^a-z]+/g, '.')}@caseboard.example`;
}

/** The 20 technicians and the admin; existing ones (an earlier seed) get the new password. */
async function seedStaff(pool: pg.Pool, passwordHash: string): Promise<{ ids: number[]; names: string[] }> {
  const people = [...W.STAFF.map((name) => ({ name, role: 'TECHNICIAN' })), { name: W.ADMIN_NAME, role: 'ADMIN' }];
  return withTransaction(pool, async (client) => {
    const techs = { ids: [] as number[], names: [] as string[] };
    for (const p of people) {
      const { rows } = await client.query<{ id: number; inserted: boolean }>(
        `INSERT INTO "User" (email, name, "passwordHash", role, "createdAt", "updatedAt")
         VALUES ($1, $2, $3, $4::"Role", now() - interval '3 years 60 days', now() - interval '3 years 60 days')
         ON CONFLICT (email) DO UPDATE SET "passwordHash" = EXCLUDED."passwordHash", active = true
         RETURNING id, (xmax = 0) AS inserted`,
        [emailOf(p.name), p.name, passwordHash, p.role],
      );
      const row = rows[0]!;
      if (row.inserted) {
        await client.query(
          `INSERT INTO "UserHistory" ("userId", "actorId", action, "newValue", "createdAt")
           VALUES ($1, NULL, 'CREATED', $2, now() - interval '3 years 60 days')`,
          [row.id, JSON.stringify({ email: emailOf(p.name), role: p.role })],
        );
      }
      if (p.role === 'TECHNICIAN') {
        techs.ids.push(row.id);
        techs.names.push(p.name);
      }
    }
    // Everyone in the default team; two more teams with a third of the technicians each.
    await client.query(`INSERT INTO "Team" (name, description) VALUES
      ('Network', 'Connectivity, VPN, Wi-Fi, firewalls.'), ('Billing', 'Invoices, contracts, licences.')
      ON CONFLICT DO NOTHING`);
    const all = [...techs.ids, ...(await client.query<{ id: number }>(`SELECT id FROM "User" WHERE email = $1`, [emailOf(W.ADMIN_NAME)])).rows.map((r) => r.id)];
    await client.query(`INSERT INTO "TeamMember" ("teamId", "userId") SELECT t.id, u FROM "Team" t, unnest($1::int[]) u
      WHERE t."isDefault" ON CONFLICT DO NOTHING`, [all]);
    for (const [team, rest] of [['Network', 1], ['Billing', 2]] as const) {
      await client.query(`INSERT INTO "TeamMember" ("teamId", "userId") SELECT t.id, u FROM "Team" t, unnest($1::int[]) u
        WHERE t.name = $2 ON CONFLICT DO NOTHING`, [techs.ids.filter((_, i) => i % 3 === rest), team]);
    }
    return techs;
  });
}

async function seedCustomers(pool: pg.Pool, n: number, now: Date): Promise<{ ids: number[]; names: string[] }> {
  const { rows: max } = await pool.query<{ m: number }>('SELECT coalesce(max(id), 0)::int AS m FROM "Customer"');
  const ids: number[] = [];
  const names: string[] = [];
  for (let done = 0; done < n; ) {
    const size = Math.min(50_000, n - done);
    const { rows } = await pool.query<{ id: number; name: string }>(CUSTOMER_SQL, [
      max[0]!.m + done + 1, size, W.FIRST_NAMES, W.LAST_NAMES, W.ORG_PREFIXES, W.ORG_SECTORS, now, SPAN_SECONDS,
      W.ORG_COUNT,
    ]);
    for (const r of rows) {
      ids.push(r.id);
      names.push(r.name);
    }
    done += size;
  }
  return { ids, names };
}

const oddBelow = (bits: number) => BigInt(randomInt(2 ** (bits - 1), 2 ** bits) | 1);

const ARTICLE_CATEGORIES = ['Network', 'Email', 'Printing', 'Accounts', 'Hardware', 'Software', 'Security', 'Telephony'];

/** The vocabularies as jsonb parameters (see zipf): products, components, versions, errors, hosts. */
const VOCABULARIES = [W.VOCAB_PRODUCTS, W.VOCAB_COMPONENTS, W.VOCAB_VERSIONS, W.VOCAB_ERRORS, W.VOCAB_HOSTS].map((v) => JSON.stringify(v));

/** The article statement's vocabulary parameters (for fill). */
const AV = { problems: '$5', products: '$13', components: '$14', versions: '$15', errors: '$16', hosts: '$17' };

/**
 * N knowledge-base articles (85% published, 10% drafts, 5% archived; 30% public), each with its
 * first revision and CREATED history row, written in SQL batches from the same vocabulary and
 * templates as the tickets.
 */

async function seedArticles(pool: pg.Pool, n: number, authorIds: number[], now: Date): Promise<void> {
  const bar = new cliProgress.SingleBar(
    { format: 'Articles |{bar}| {percentage}% | {value}/{total}', hideCursor: true, noTTYOutput: !process.stdout.isTTY, notTTYSchedule: 10_000 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(n, 0);
  const size = 10_000;
  for (let done = 0; done < n; done += size) {
    const batch = Math.min(size, n - done);
    await pool.query(
      `WITH src AS (
         SELECT g, hashint4(g + $2) AS h FROM generate_series(1, $1::int) g
       ), made AS (
         INSERT INTO "Article" (title, body, category, tags, status, visibility, "authorId", "createdAt", "updatedAt", "publishedAt")
         SELECT
           ${fill(pick('$4', 'random()'), AV)},
           '## Symptom' || E'\n\n' || ${fill(pick('$6', 'random()'), AV)} || ' ' || ${fill(pick('$7', 'random()'), AV)} || E'\n\n## Cause\n\n'
             || ${fill(pick('$7', 'random()'), AV)} || E'\n\n## Resolution\n\n'
             || ${fill(pick('$8', 'random()'), AV)} || ' ' || ($9::text[])[1 + abs(h / 17) % array_length($9::text[], 1)] || E'\n\n## Workaround\n\n'
             || ${fill(pick('$12', 'random()'), AV)},
           ($10::text[])[1 + abs(h / 23) % array_length($10::text[], 1)],
           ARRAY[lower(($10::text[])[1 + abs(h / 29) % array_length($10::text[], 1)]), 'kb'],
           (CASE WHEN abs(h) % 100 < 85 THEN 'PUBLISHED' WHEN abs(h) % 100 < 95 THEN 'DRAFT' ELSE 'ARCHIVED' END)::"ArticleStatus",
           (CASE WHEN abs(h / 3) % 100 < 30 THEN 'PUBLIC' ELSE 'INTERNAL' END)::"ArticleVisibility",
           ($11::int[])[1 + abs(h / 31) % array_length($11::int[], 1)],
           $3::timestamptz - make_interval(secs => abs(h) % (3 * 365 * 86400)),
           $3::timestamptz - make_interval(secs => abs(h) % (3 * 365 * 86400)),
           CASE WHEN abs(h) % 100 < 85 OR abs(h) % 100 >= 95 THEN $3::timestamptz - make_interval(secs => abs(h) % (3 * 365 * 86400)) END
         FROM src
         RETURNING id, title, body, category, tags, status, visibility, "authorId", "createdAt"
       ), revisions AS (
         INSERT INTO "ArticleRevision" ("articleId", version, title, body, category, tags, "editorId", "createdAt")
         SELECT id, 1, title, body, category, tags, "authorId", "createdAt" FROM made
       )
       INSERT INTO "ArticleHistory" ("articleId", "actorId", action, "newValue", "createdAt")
       SELECT id, "authorId", 'CREATED', json_build_object('title', title, 'status', status, 'visibility', visibility)::text, "createdAt" FROM made`,
      [
        batch, done, now, W.TITLE_TEMPLATES, W.TITLE_PROBLEMS, W.DESCRIPTION_CONTEXT, W.DESCRIPTION_DETAIL, W.FIX_TEMPLATES,
        W.RESOLUTION_NOTES, ARTICLE_CATEGORIES, authorIds, W.DESCRIPTION_IMPACT, ...VOCABULARIES,
      ],
    );
    bar.update(done + batch);
  }
  bar.stop();
}

async function main() {
  const config = loadConfig();
  setPasswordCost(config.PASSWORD_COST_LOG2);
  const started = Date.now();
  const db = await openDatabase(config);
  console.log(`Seeding ${db.description}: ${TICKETS.toLocaleString('en')} tickets, ${CUSTOMERS.toLocaleString('en')} customers.`);
  try {
    const applied = await migrate(db.pool);
    if (applied.length) console.log(`Applied migrations: ${applied.join(', ')}`);

    const passwordHash = await hashPassword(PASSWORD);
    const staff = await seedStaff(db.pool, passwordHash);
    for (const f of SAMPLE_FILES) {
      await db.pool.query('INSERT INTO "FileContent" (sha256, size, bytes) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING', [f.sha256, f.bytes.length, f.bytes]);
    }
    const now = new Date();
    const customers = await seedCustomers(db.pool, CUSTOMERS, now);
    if (customers.ids.length === 0) throw new Error('No customers could be created.');
    // Their addresses' skeletons (look-alike detection), computed in JavaScript.
    await backfillEmailSkeletons(db.pool);
    console.log(`Staff: ${staff.ids.length} technicians and 1 admin. Customers: ${customers.ids.length.toLocaleString('en')}.`);

    const { rows: existing } = await db.pool.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM "Ticket") AS any');
    const sql = ticketSql(existing[0]!.any);
    // A fresh bijection of 35-bit numbers for this run: references look random and never repeat.
    const m1 = oddBelow(27);
    const m2 = oddBelow(27);
    const off = BigInt(randomInt(2 ** 47)) & MASK35;
    const pools = [
      W.TITLE_TEMPLATES, W.TITLE_PROBLEMS, W.DESCRIPTION_CONTEXT, W.DESCRIPTION_DETAIL, W.DESCRIPTION_IMPACT, VOCABULARIES[0],
      W.DESCRIPTION_ASK, W.ENVIRONMENTS, W.OCCURRENCES, W.WORKAROUNDS, W.RESOLUTION_NOTES, W.NOTE_TEMPLATES, W.FIX_TEMPLATES,
      ...VOCABULARIES.slice(1),
    ];
    let nextRef = 0;
    const runBatch = async (client: pg.PoolClient, pos0: number, size: number): Promise<number> => {
      const ref0 = nextRef;
      nextRef += size;
      const { rows } = await client.query<{ n: number }>({
        name: `seed_tickets_${existing[0]!.any ? 'checked' : 'fresh'}`,
        text: sql,
        values: [
          size, pos0, ref0, TICKETS, SPAN_SECONDS, m1.toString(), off.toString(), m2.toString(),
          customers.ids, customers.names, staff.ids, staff.names, now, ...pools,
        ],
      });
      return rows[0]!.n;
    };

    // The embedded database runs in this process on one thread: one statement at a time there.
    const workers = config.DATABASE_URL ? 2 : 1;
    const bar = new cliProgress.SingleBar(
      {
        format: 'Tickets |{bar}| {percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted}',
        hideCursor: true,
        etaBuffer: 20,
        noTTYOutput: !process.stdout.isTTY,
        notTTYSchedule: 10_000,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(TICKETS, 0, { rate: 0 });
    let inserted = 0;
    let nextPos = 0;
    const tick = (n: number) => {
      inserted += n;
      bar.update(inserted, { rate: Math.round(inserted / ((Date.now() - started) / 1000)).toLocaleString('en') });
    };
    await Promise.all(
      Array.from({ length: workers }, async () => {
        const client = await db.pool.connect();
        try {
          // Seeding: losing the last second of it in a crash is fine; planning JIT is not worth it here.
          await client.query('SET synchronous_commit = off');
          await client.query('SET jit = off').catch(() => undefined);
          while (nextPos < TICKETS) {
            const pos0 = nextPos;
            const size = Math.min(BATCH, TICKETS - pos0);
            nextPos += size;
            tick(await runBatch(client, pos0, size));
          }
        } finally {
          client.release();
        }
      }),
    );
    // References already taken (seeding into a used database) were skipped: make up for them.
    for (let tries = 0; inserted < TICKETS && tries < 10; tries++) {
      const missing = TICKETS - inserted;
      const client = await db.pool.connect();
      try {
        await client.query('SET synchronous_commit = off');
        tick(await runBatch(client, TICKETS - missing, missing));
      } finally {
        client.release();
      }
    }
    bar.stop();

    if (ARTICLES > 0) await seedArticles(db.pool, ARTICLES, staff.ids, now);

    console.log('VACUUM ANALYZE ...');
    for (const table of ['Customer', 'User', 'Ticket', 'TicketHistory', 'WorkLogEntry', 'Attachment', 'UserHistory', 'Article', 'ArticleRevision', 'ArticleHistory']) {
      await db.pool.query(`VACUUM (ANALYZE) "${table}"`);
    }
    const { rows: totals } = await db.pool.query<{ t: string; n: string }>(
      `SELECT 'tickets' AS t, count(*)::text AS n FROM "Ticket"
       UNION ALL SELECT 'active', count(*)::text FROM "Ticket" WHERE status IN ('NEW','OPEN','IN_PROGRESS','WAITING_ON_CUSTOMER')
       UNION ALL SELECT 'history rows', count(*)::text FROM "TicketHistory"
       UNION ALL SELECT 'work log entries', count(*)::text FROM "WorkLogEntry"
       UNION ALL SELECT 'files', count(*)::text FROM "Attachment"
       UNION ALL SELECT 'customers', count(*)::text FROM "Customer"
       UNION ALL SELECT 'articles', count(*)::text FROM "Article"`,
    );
    console.log(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s. The database now holds:`);
    for (const r of totals) console.log(`  ${r.t.padEnd(17)} ${Number(r.n).toLocaleString('en')}`);
    console.log(`\nSign in as any seeded staff member with the password: ${PASSWORD}`);
    console.log(`  admin:       ${emailOf(W.ADMIN_NAME)}`);
    console.log(`  technicians: ${emailOf(W.STAFF[0]!)}, ${emailOf(W.STAFF[1]!)}, ... (${W.STAFF.length} in all)`);
  } finally {
    await db.close();
  }
}

main().catch((err: unknown) => {
  console.error('\nSeeding failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
