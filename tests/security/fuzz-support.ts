// Shared by the property-based service tests and the form fuzzer: database snapshots that prove
// "nothing changed", checks that every write in the database is whole (each change has its
// history), and a small parser for the forms of the server-rendered pages.
import type { Database } from '../../src/db/client.js';
import { countRows } from '../helpers/db.js';

// ---------------------------------------------------------------------------------------------
// Snapshots: "nothing at all changed"
// ---------------------------------------------------------------------------------------------

/** Tables whose rows may change in place. */
const MUTABLE = ['Ticket', 'Customer', 'User', 'Article', 'Organization', 'Runbook'] as const;

/** Append-only tables (history, work log, revisions): rows only ever get added. */
export const APPEND_ONLY = [
  'TicketHistory', 'WorkLogEntry', 'CustomerHistory', 'UserHistory', 'ArticleHistory', 'ArticleRevision', 'OrganizationHistory',
  'RunbookHistory', 'RunbookStep', 'TicketRunbook', 'TicketRunbookStep',
] as const;

/** Some records by id, to look at closely (fingerprint, consistency) instead of the whole database. */
export type Scope = Partial<Record<(typeof MUTABLE)[number], number[]>>;

export interface Snapshot {
  counts: Record<string, number>;
  /** Per mutable table: count, sum of versions, latest update — any change of any row moves them. */
  aggregates: Record<string, string>;
  /** md5 of every row of each mutable table (or of the records in scope), and of all article links. */
  rows: Record<string, string>;
}

/**
 * Row counts of every table, aggregates of every mutable table that any change moves, and a
 * fingerprint of every row (or of the rows in `scope`) that can change: equal means nothing was written.
 */
export async function snapshot(db: Database, scope?: Scope): Promise<Snapshot> {
  const fingerprints = MUTABLE.map((t, i) => {
    const where = scope ? `WHERE x.id = ANY($${i + 1}::int[])` : '';
    return `SELECT '${t}' AS t, md5(coalesce(string_agg(x::text, '|' ORDER BY x.id), '')) AS h FROM "${t}" x ${where}`;
  });
  fingerprints.push(`SELECT 'TicketArticle' AS t, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM "TicketArticle" x`);
  const [counts, aggregates, fingerprint] = await Promise.all([
    countRows(db),
    db.pool.query<{ t: string; a: string }>(
      MUTABLE.map((t) => `SELECT '${t}' AS t, concat_ws('/', count(*), sum(version), max("updatedAt")) AS a FROM "${t}"`).join(' UNION ALL '),
    ),
    db.pool.query<{ t: string; h: string }>(fingerprints.join(' UNION ALL '), scope ? MUTABLE.map((t) => scope[t] ?? []) : []),
  ]);
  return {
    counts,
    aggregates: Object.fromEntries(aggregates.rows.map((r) => [r.t, r.a])),
    rows: Object.fromEntries(fingerprint.rows.map((r) => [r.t, r.h])),
  };
}

/** The append-only tables as seen at one moment: how far they went and a fingerprint of every row up to there. */
export type Prefix = Record<string, { maxId: number; md5: string }>;

export async function historyPrefix(db: Database, upTo?: Prefix): Promise<Prefix> {
  const { rows } = await db.pool.query<{ t: string; max: number; h: string }>(
    APPEND_ONLY.map((t) => {
      const bound = upTo ? `WHERE x.id <= ${upTo[t]!.maxId}` : '';
      return `SELECT '${t}' AS t, coalesce(max(x.id), 0)::int AS max, md5(coalesce(string_agg(x::text, '|' ORDER BY x.id), '')) AS h FROM "${t}" x ${bound}`;
    }).join(' UNION ALL '),
  );
  return Object.fromEntries(rows.map((r) => [r.t, { maxId: upTo ? upTo[r.t]!.maxId : r.max, md5: r.h }]));
}

/** History only grows: every row seen in `before` is still there, unchanged. Returns what differs. */
export async function prefixViolations(db: Database, before: Prefix): Promise<string[]> {
  const now = await historyPrefix(db, before);
  return APPEND_ONLY.filter((t) => now[t]!.md5 !== before[t]!.md5).map(
    (t) => `${t}: rows with id <= ${before[t]!.maxId} changed or disappeared`,
  );
}

// ---------------------------------------------------------------------------------------------
// Whole writes: every record's current state is explained by its history
// ---------------------------------------------------------------------------------------------

const TICKET_TEXT_FIELDS = ['title', 'description', 'channel', 'environment', 'occurrence', 'workaround', 'urgency', 'status', 'resolutionCode', 'resolutionNote'] as const;
const TICKET_REF_FIELDS = ['assigneeId', 'duplicateOfId', 'resolutionArticleId', 'customerId'] as const;

/**
 * Invariants of the whole database; each violation is described in one line (empty: all hold).
 * - every ticket has one CREATED row (version 1) and a CHANGED row for each later version, none beyond;
 * - each tracked field's value is the one its latest history row (or the creation row) says;
 * - a resolved or closed ticket has a resolution code, a note and a time; a duplicate names another ticket;
 * - every work-log entry and article link has its history row;
 * - customers, users and articles have at least one history row per version after the first, and
 *   the latest row of each field holds the current value; an article's content is its latest revision.
 */
export async function consistencyViolations(db: Database, scope?: Scope): Promise<string[]> {
  const ids = {
    Ticket: scope ? (scope.Ticket ?? []) : null,
    Customer: scope ? (scope.Customer ?? []) : null,
    User: scope ? (scope.User ?? []) : null,
    Article: scope ? (scope.Article ?? []) : null,
    Organization: scope ? (scope.Organization ?? []) : null,
  };
  // $1: the ids in scope, or null for all.
  const q = async <R extends Record<string, unknown>>(text: string, only: number[] | null = ids.Ticket) =>
    (await db.pool.query<R>(text, [only])).rows;
  const out: string[] = [];

  for (const r of await q<{ id: number; version: number; created: number; bad: number; versions: number }>(`
    SELECT t.id, t.version,
      (SELECT count(*) FROM "TicketHistory" h WHERE h."ticketId" = t.id AND h.action = 'CREATED' AND h."ticketVersion" = 1)::int AS created,
      (SELECT count(*) FROM "TicketHistory" h WHERE h."ticketId" = t.id AND (
         (h.action = 'CHANGED' AND (h."ticketVersion" < 2 OR h."ticketVersion" > t.version)) OR
         (h.action = 'CREATED' AND h."ticketVersion" <> 1) OR
         (h.action <> 'CREATED' AND h.action <> 'CHANGED' AND (h."ticketVersion" < 1 OR h."ticketVersion" > t.version))))::int AS bad,
      (SELECT count(DISTINCT h."ticketVersion") FROM "TicketHistory" h WHERE h."ticketId" = t.id AND h.action = 'CHANGED')::int AS versions
    FROM "Ticket" t WHERE $1::int[] IS NULL OR t.id = ANY($1)`)) {
    if (r.created !== 1) out.push(`ticket ${r.id}: ${r.created} CREATED rows at version 1`);
    if (r.bad !== 0) out.push(`ticket ${r.id}: ${r.bad} history rows with a version outside 1..${r.version}`);
    if (r.versions !== r.version - 1) out.push(`ticket ${r.id}: version ${r.version} but CHANGED rows for ${r.versions} versions`);
  }

  // Each field's current value is what its latest history row says (or the CREATED row, before any change).
  const tickets = await q<Record<string, unknown> & { id: number }>(`SELECT * FROM "Ticket" WHERE $1::int[] IS NULL OR id = ANY($1)`);
  const latest = await q<{ ticketId: number; field: string; newValue: string | null; newRefId: number | null }>(`
    SELECT DISTINCT ON ("ticketId", field) "ticketId", field, "newValue", "newRefId"
    FROM "TicketHistory" WHERE action = 'CHANGED' AND ($1::int[] IS NULL OR "ticketId" = ANY($1))
    ORDER BY "ticketId", field, "ticketVersion" DESC, id DESC`);
  const created = await q<{ ticketId: number; newValue: string | null; newRefId: number | null }>(
    `SELECT "ticketId", "newValue", "newRefId" FROM "TicketHistory" WHERE action = 'CREATED' AND ($1::int[] IS NULL OR "ticketId" = ANY($1))`,
  );
  const last = new Map(latest.map((l) => [`${l.ticketId}/${l.field}`, l]));
  const born = new Map(created.map((c) => [c.ticketId, c]));
  for (const t of tickets) {
    const b = born.get(t.id);
    let initial: Record<string, unknown> = {};
    try {
      initial = b?.newValue ? (JSON.parse(b.newValue) as Record<string, unknown>) : {};
    } catch {
      out.push(`ticket ${t.id}: CREATED row's value is not JSON`);
    }
    for (const f of TICKET_TEXT_FIELDS) {
      const l = last.get(`${t.id}/${f}`);
      const current = t[f] === null || t[f] === undefined ? null : String(t[f]);
      if (l) {
        if (l.newValue !== current) out.push(`ticket ${t.id}: ${f} is ${JSON.stringify(current)} but its history says ${JSON.stringify(l.newValue)}`);
      } else if (f in initial && initial[f] !== current) {
        out.push(`ticket ${t.id}: ${f} is ${JSON.stringify(current)}, unchanged since creation as ${JSON.stringify(initial[f])}`);
      }
    }
    for (const f of TICKET_REF_FIELDS) {
      const l = last.get(`${t.id}/${f}`);
      const current = (t[f] as number | null) ?? null;
      if (l) {
        if (l.newRefId !== current) out.push(`ticket ${t.id}: ${f} is ${current} but its history says ${l.newRefId}`);
      } else if (f === 'assigneeId' && b && (b.newRefId ?? null) !== current) {
        out.push(`ticket ${t.id}: assigneeId is ${current}, unchanged since creation as ${b.newRefId}`);
      } else if ((f === 'duplicateOfId' || f === 'resolutionArticleId') && current !== null) {
        out.push(`ticket ${t.id}: ${f} is ${current} with no history row`);
      }
    }
    const finished = t.status === 'RESOLVED' || t.status === 'CLOSED';
    const note = typeof t.resolutionNote === 'string' ? t.resolutionNote.trim() : '';
    if (finished && (t.resolutionCode === null || note === '' || t.resolvedAt === null)) {
      out.push(`ticket ${t.id}: ${String(t.status)} without a resolution code, note or time`);
    }
    if ((t.resolutionCode === 'DUPLICATE') !== (t.duplicateOfId !== null)) {
      out.push(`ticket ${t.id}: resolution ${String(t.resolutionCode)} with duplicateOfId ${String(t.duplicateOfId)}`);
    }
    if (t.duplicateOfId !== null && t.duplicateOfId === t.id) out.push(`ticket ${t.id}: a duplicate of itself`);
  }

  for (const r of await q<{ id: number; n: number }>(`
    SELECT w.id, (SELECT count(*) FROM "TicketHistory" h WHERE h.action = 'WORKLOG_ADDED' AND h."newRefId" = w.id AND h."ticketId" = w."ticketId")::int AS n
    FROM "WorkLogEntry" w WHERE $1::int[] IS NULL OR w."ticketId" = ANY($1)`)) {
    if (r.n !== 1) out.push(`work-log entry ${r.id}: ${r.n} WORKLOG_ADDED history rows`);
  }
  for (const r of await q<{ ticketId: number; articleId: number; action: string | null }>(`
    SELECT ta."ticketId", ta."articleId",
      (SELECT h.action::text FROM "TicketHistory" h WHERE h."ticketId" = ta."ticketId" AND h.field = 'article'
         AND coalesce(h."newRefId", h."oldRefId") = ta."articleId" ORDER BY h.id DESC LIMIT 1) AS action
    FROM "TicketArticle" ta WHERE $1::int[] IS NULL OR ta."ticketId" = ANY($1)`)) {
    if (r.action !== 'LINKED') out.push(`link ticket ${r.ticketId} → article ${r.articleId}: latest history row is ${r.action}`);
  }

  // Customers, users, articles: a history row per change, and the latest row of a field holds its value.
  const records = [
    // The organization's rows hold its name; the record is their newRefId (checked below).
    { table: 'Customer', history: 'CustomerHistory', key: 'customerId', fields: ['name', 'email', 'phone', 'environment', 'notes'] },
    { table: 'User', history: 'UserHistory', key: 'userId', fields: ['name', 'email', 'role', 'active'] },
    { table: 'Article', history: 'ArticleHistory', key: 'articleId', fields: ['title', 'category', 'status', 'visibility'] },
    { table: 'Organization', history: 'OrganizationHistory', key: 'organizationId', fields: ['name', 'environment', 'contract', 'shareTickets'] },
  ] as const;
  for (const rec of records) {
    for (const r of await q<{ id: number; version: number; n: number }>(`
      SELECT x.id, x.version, (SELECT count(*) FROM "${rec.history}" h WHERE h."${rec.key}" = x.id AND h.action <> 'CREATED')::int AS n
      FROM "${rec.table}" x WHERE $1::int[] IS NULL OR x.id = ANY($1)`, ids[rec.table])) {
      if (r.n < r.version - 1) out.push(`${rec.table} ${r.id}: version ${r.version} but history rows for ${r.n} changes`);
    }
    const rows = await q<Record<string, unknown> & { id: number }>(`SELECT * FROM "${rec.table}" WHERE $1::int[] IS NULL OR id = ANY($1)`, ids[rec.table]);
    const lastRows = await q<{ owner: number; field: string; newValue: string | null }>(`
      SELECT DISTINCT ON (h."${rec.key}", h.field) h."${rec.key}" AS owner, h.field, h."newValue"
      FROM "${rec.history}" h WHERE h.action = 'CHANGED' AND ($1::int[] IS NULL OR h."${rec.key}" = ANY($1))
      ORDER BY h."${rec.key}", h.field, h.id DESC`, ids[rec.table]);
    const lastOf = new Map(lastRows.map((l) => [`${l.owner}/${l.field}`, l.newValue]));
    for (const x of rows) {
      for (const f of rec.fields) {
        const key = `${x.id}/${f}`;
        if (!lastOf.has(key)) continue;
        const current = x[f] === null || x[f] === undefined ? null : String(x[f]);
        if (lastOf.get(key) !== current) out.push(`${rec.table} ${x.id}: ${f} is ${JSON.stringify(current)} but its history says ${JSON.stringify(lastOf.get(key))}`);
      }
    }
  }
  for (const r of await q<{ id: number; organizationId: number | null; last: number | null }>(`
    SELECT c.id, c."organizationId",
      (SELECT h."newRefId" FROM "CustomerHistory" h WHERE h."customerId" = c.id AND h.field = 'organization' ORDER BY h.id DESC LIMIT 1) AS last
    FROM "Customer" c WHERE ($1::int[] IS NULL OR c.id = ANY($1))
      AND EXISTS (SELECT 1 FROM "CustomerHistory" h WHERE h."customerId" = c.id AND h.field = 'organization')`, ids.Customer)) {
    if (r.last !== r.organizationId) out.push(`Customer ${r.id}: organization ${r.organizationId} but its history says ${r.last}`);
  }
  for (const r of await q<{ id: number; created: number; stale: boolean | null }>(`
    SELECT a.id,
      (SELECT count(*) FROM "ArticleHistory" h WHERE h."articleId" = a.id AND h.action = 'CREATED')::int AS created,
      (SELECT NOT (r.title = a.title AND r.body = a.body AND r.category IS NOT DISTINCT FROM a.category AND r.tags = a.tags)
         FROM "ArticleRevision" r WHERE r."articleId" = a.id ORDER BY r.version DESC LIMIT 1) AS stale
    FROM "Article" a WHERE $1::int[] IS NULL OR a.id = ANY($1)`, ids.Article)) {
    if (r.created !== 1) out.push(`article ${r.id}: ${r.created} CREATED history rows`);
    if (r.stale !== false) out.push(`article ${r.id}: content differs from its latest revision (or it has none)`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Forms of a rendered page
// ---------------------------------------------------------------------------------------------

export interface FormField {
  name: string;
  tag: 'input' | 'select' | 'textarea';
  type: string;
  /** Values the page offers: the value attribute, the options of a select, the text of a textarea. */
  values: string[];
}

export interface FormSpec {
  method: 'get' | 'post';
  /** The action, without its fragment. */
  action: string;
  /** The page it was found on (fetched again for current hidden values such as versions). */
  page: string;
  fields: FormField[];
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

function attributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/([\w:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    out[m[1]!.toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

/**
 * Every <form> of a page with its fields. A submit button with formaction/formmethod adds the
 * form it submits to. Good enough for Caseboard's own templates (no nested forms, no scripts).
 */
export function parseForms(html: string, page: string): FormSpec[] {
  const forms: FormSpec[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[1]!);
    const body = m[2]!;
    const fields: FormField[] = [];
    for (const i of body.matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributes(i[1]!);
      if (!a.name) continue;
      fields.push({ name: a.name, tag: 'input', type: (a.type ?? 'text').toLowerCase(), values: [a.value ?? ''] });
    }
    for (const s of body.matchAll(/<select\b([^>]*)>([\s\S]*?)<\/select>/gi)) {
      const a = attributes(s[1]!);
      if (!a.name) continue;
      const values = [...s[2]!.matchAll(/<option\b([^>]*)>/gi)].map((o) => attributes(o[1]!).value ?? '');
      fields.push({ name: a.name, tag: 'select', type: 'select', values });
    }
    for (const t of body.matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/gi)) {
      const a = attributes(t[1]!);
      if (!a.name) continue;
      fields.push({ name: a.name, tag: 'textarea', type: 'textarea', values: [decodeEntities(t[2]!)] });
    }
    const method = (attrs.method ?? 'get').toLowerCase() === 'post' ? 'post' : 'get';
    const action = (attrs.action || page).split('#')[0]!;
    forms.push({ method, action, page, fields });
    for (const b of body.matchAll(/<button\b([^>]*)>/gi)) {
      const a = attributes(b[1]!);
      if (!a.formaction && !a.formmethod) continue;
      forms.push({
        method: (a.formmethod ?? method).toLowerCase() === 'post' ? 'post' : 'get',
        action: (a.formaction || action).split('#')[0]!,
        page,
        fields: fields.filter((f) => f.name !== '_csrf'),
      });
    }
  }
  return forms;
}

/** Forms with the same method and action (e.g. one status button each) become one, their values pooled. */
export function mergeForms(forms: FormSpec[]): FormSpec[] {
  const byKey = new Map<string, FormSpec>();
  for (const f of forms) {
    const key = `${f.method} ${f.action}`;
    const seen = byKey.get(key);
    if (!seen) {
      byKey.set(key, { ...f, fields: f.fields.map((x) => ({ ...x, values: [...x.values] })) });
      continue;
    }
    for (const field of f.fields) {
      const same = seen.fields.find((x) => x.name === field.name);
      if (!same) seen.fields.push({ ...field, values: [...field.values] });
      else for (const v of field.values) if (!same.values.includes(v)) same.values.push(v);
    }
  }
  return [...byKey.values()];
}

/** A urlencoded body or query string where an array value repeats its field, and undefined leaves it out. */
export function encodeFields(values: Record<string, string | string[] | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) p.append(k, one);
  }
  return p.toString();
}
