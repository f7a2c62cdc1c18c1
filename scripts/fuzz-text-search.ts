// npm run fuzz:search -- [--embedded] [--target tsvector|headline|query|trgm] [--raw] [--exhaustive 3]
//                        [--random 2000] [--chars 16000] [--seed 1] [--budget 1200] [--json out.json]
//
// Fuzzes PostgreSQL's default text-search parser for inputs whose cost grows faster than their
// length. Generates repeat units (every unit of 1..--exhaustive characters over ALPHABET, then
// --random units of 4..8 characters, plus the known pathological ones; units of 3 and more last), repeats each to --chars
// characters, and times the parse on the database. A unit that costs clearly more than ordinary
// text (at an eighth of --chars, or else at --chars) is measured again at twice or half that
// length: a cost that grows more than ~2.8x per doubling (linear: 2x, quadratic: 4x) is reported,
// with the token types it produces. Ctrl-C stops it and still reports (and drops its database).
//
// By default it measures what the app indexes: to_tsvector('caseboard', caseboard_search_text(t)),
// i.e. with the bounding pre-processing of migration 20261204010000_bounded_search; --raw measures
// the parser alone (to_tsvector('caseboard', t)), which is how the classes were found.
// --target headline measures ts_headline (the knowledge base's snippets), --target query
// websearch_to_tsquery (the search boxes), --target trgm pg_trgm's trigrams and similarity (customer
// search, typo-tolerant titles). --budget stops after that many seconds (default 1200).
//
// Runs on DATABASE_URL's server (in a scratch database it creates, migrates and drops) or, with
// --embedded, on PGlite (PostgreSQL 18, WASM) in this process. One query at a time.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { startEmbeddedDatabase } from '../src/db/embedded.js';
import { PARSER_ALPHABET, PATHOLOGICAL_UNITS, fill } from '../tests/security/pathological-text.js';

const { values: args } = parseArgs({
  options: {
    embedded: { type: 'boolean', default: false },
    raw: { type: 'boolean', default: false },
    target: { type: 'string', default: 'tsvector' },
    exhaustive: { type: 'string', default: '3' },
    random: { type: 'string', default: '2000' },
    chars: { type: 'string', default: '16000' },
    seed: { type: 'string', default: '1' },
    json: { type: 'string' },
    budget: { type: 'string', default: '1200' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help || !['tsvector', 'headline', 'query', 'trgm'].includes(args.target!)) {
  console.log(
    'Usage: DATABASE_URL=postgresql://... npm run fuzz:search -- [--embedded] [--raw] [--target tsvector|headline|query|trgm]\n' +
      '       [--exhaustive N] [--random N] [--chars N] [--seed N] [--budget S] [--json file]',
  );
  process.exit(args.help ? 0 : 2);
}
const EXHAUSTIVE = Math.min(4, Math.max(0, Number(args.exhaustive)));
const RANDOM = Math.max(0, Number(args.random));
const CHARS = Math.max(1000, Number(args.chars));
const BUDGET = Math.max(1, Number(args.budget));
/** The longest text any field takes (an article body); the slowest units are timed at this length at the end. */
const MAX_CHARS = 100_000;

const ALPHABET = PARSER_ALPHABET;
const repeatTo = fill;

/**
 * The unit's primitive root ("abab" -> "ab"): repeating either gives the same text. Rotations
 * are not the same class: the parser's path depends on where the text starts ("a-b." x N is
 * quadratic, "-b.a" x N is not), so every rotation is tried.
 */
function primitive(unit: string): string {
  const cps = Array.from(unit);
  for (let p = 1; p < cps.length; p++) {
    if (cps.length % p === 0 && cps.every((c, i) => c === cps[i % p])) return cps.slice(0, p).join('');
  }
  return unit;
}

function* units(seed: number): Generator<string> {
  yield* PATHOLOGICAL_UNITS;
  const all = function* (len: number, prefix: string): Generator<string> {
    if (len === 0) return yield prefix;
    for (const c of ALPHABET) yield* all(len - 1, prefix + c);
  };
  for (let len = 1; len <= Math.min(2, EXHAUSTIVE); len++) yield* all(len, '');
  // mulberry32: the same units for the same seed.
  let s = seed >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  // Units of 4..8 characters drawn from 2..4 symbols each: structure ("a-b.", "x1@y") rather than noise.
  for (let i = 0; i < RANDOM; i++) {
    const symbols = Array.from({ length: 2 + Math.floor(rnd() * 3) }, () => ALPHABET[Math.floor(rnd() * ALPHABET.length)]!);
    const len = 4 + Math.floor(rnd() * 5);
    yield Array.from({ length: len }, () => symbols[Math.floor(rnd() * symbols.length)]).join('');
  }
  for (let len = 3; len <= EXHAUSTIVE; len++) yield* all(len, '');
}

let stopped = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => (stopped = true));

async function open(): Promise<{ pool: pg.Pool; close(): Promise<void>; where: string }> {
  if (args.embedded) {
    const embedded = await startEmbeddedDatabase({});
    const pool = new pg.Pool({ connectionString: embedded.url, max: 1 });
    await migrate(pool);
    return {
      pool,
      where: 'PGlite (embedded)',
      async close() {
        await pool.end();
        await embedded.stop();
      },
    };
  }
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('Set DATABASE_URL (a PostgreSQL server), or pass --embedded.');
  const name = `caseboard_fuzz_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: u.toString(), max: 1 });
  await migrate(pool);
  return {
    pool,
    where: `${u.host} (${name})`,
    async close() {
      await pool.end();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

const ORDINARY = 'The printer on floor 3 shows error 0x80070005 after the update, see https://example.com/kb/42 or mail it@example.org. ';

export interface Finding {
  unit: string;
  chars: number[];
  ms: number[];
  growth: number;
  tokens: string[];
}

async function main() {
  const db = await open();
  const client = await db.pool.connect();
  try {
    const { rows: fn } = await client.query(`SELECT to_regprocedure('caseboard_search_text(text)') IS NOT NULL AS ok`);
    if (!args.raw && !fn[0].ok) throw new Error('caseboard_search_text(text) is missing: pass --raw (parser alone).');
    const input = args.raw ? '$1::text' : 'caseboard_search_text($1::text)';
    const sql = {
      tsvector: `SELECT to_tsvector('caseboard', ${input}) IS NULL`,
      headline: `SELECT ts_headline('caseboard', ${input}, to_tsquery('caseboard', 'x | zz | 1 | ж')) IS NULL`,
      query: `SELECT websearch_to_tsquery('caseboard', ${input}) IS NULL`,
      // pg_trgm, as the customer and title indexes use it (the text itself, not pre-processed).
      trgm: `SELECT show_trgm($1::text) IS NULL OR similarity($1::text, 'printer error') < 0`,
    }[args.target as 'tsvector' | 'headline' | 'query' | 'trgm'];
    const time = async (text: string, runs = 1): Promise<number> => {
      let best = Infinity;
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await client.query(sql, [text]);
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    };
    const tokens = async (unit: string): Promise<string[]> => {
      const { rows } = await client.query<{ alias: string }>(
        `SELECT DISTINCT alias FROM ts_debug('caseboard', $1) WHERE alias <> 'blank' ORDER BY 1`,
        [repeatTo(unit, 48)],
      );
      return rows.map((r) => r.alias);
    };
    // Ordinary text of the same length: what a linear parse costs here.
    const ordinary = repeatTo(ORDINARY, CHARS);
    await time(ordinary, 3);
    const base = await time(ordinary, 5);
    const threshold = 3 * base + 5;
    console.log(`${db.where}: ${args.raw ? 'parser alone' : 'caseboard_search_text'}, target ${args.target}, ` +
      `${CHARS} chars; ordinary text ${base.toFixed(1)} ms, screening threshold ${threshold.toFixed(1)} ms`);

    const seen = new Set<string>();
    const findings: Finding[] = [];
    let tested = 0;
    const slowest: { unit: string; ms: number }[] = [];
    const note = (unit: string, ms: number) => {
      slowest.push({ unit, ms });
      slowest.sort((a, b) => b.ms - a.ms);
      slowest.length = Math.min(slowest.length, 10);
    };
    const started = performance.now();
    const small = CHARS / 8;
    const smallThreshold = 3 * (await time(repeatTo(ORDINARY, small), 5)) + 3;
    for (const unit of units(Number(args.seed))) {
      if (stopped || performance.now() - started > BUDGET * 1000) {
        console.log(stopped ? '  (stopped)' : `  (time budget of ${BUDGET} s used up)`);
        break;
      }
      const key = primitive(unit);
      if (seen.has(key)) continue;
      seen.add(key);
      tested++;
      // Clearly slow at an eighth of the length already: its growth from there (cheap); otherwise
      // the full length catches the ones with a smaller constant.
      let at: number[];
      const ms = await time(repeatTo(key, small));
      if (ms > smallThreshold && (await time(repeatTo(key, small), 2)) > smallThreshold) {
        note(key, Infinity);
        at = [small, small * 2];
      } else {
        const full = await time(repeatTo(key, CHARS));
        note(key, full);
        if (full <= threshold) continue;
        at = [CHARS / 2, CHARS];
      }
      // Confirmed with the best of three at each length (the machine may be busy).
      const t = [await time(repeatTo(key, at[0]!), 3), await time(repeatTo(key, at[1]!), 3)];
      if (t[1]! <= (at[1] === CHARS ? threshold : 2 * smallThreshold)) continue;
      let growth = Math.log2(t[1]! / t[0]!); // ~1 linear, ~2 quadratic
      if (growth < 1.5) continue;
      if (at[1] === CHARS) {
        // Near the threshold a busy machine fakes growth: it must go on at twice the length.
        const t2 = await time(repeatTo(key, CHARS * 2), 2);
        growth = Math.min(growth, Math.log2(t2 / t[1]!));
        if (growth < 1.5) continue;
        at.push(CHARS * 2);
        t.push(t2);
      }
      const finding = { unit: key, chars: at, ms: t.map((x) => Math.round(x * 10) / 10), growth: Math.round(growth * 100) / 100, tokens: await tokens(key) };
      findings.push(finding);
      console.log(`  superlinear ${JSON.stringify(key).padEnd(14)} ${finding.ms.join(' / ')} ms at ${at.join('/')} chars, ` +
        `exponent ${finding.growth}, tokens: ${finding.tokens.join(', ') || '(none)'}`);
    }
    const secs = ((performance.now() - started) / 1000).toFixed(0);
    console.log(`${tested} distinct units in ${secs} s; ${findings.length} superlinear`);
    // The slowest, at the longest text a field takes (an article body): the cost that is left.
    const longest = Math.max(CHARS, MAX_CHARS);
    const atMax: { unit: string; ms: number }[] = [];
    let ordinaryAtMax = 0;
    if (!args.raw) {
      // (Not for the parser alone: a quadratic unit would take minutes there.)
      for (const { unit } of slowest) atMax.push({ unit, ms: Math.round(await time(repeatTo(unit, longest), 2)) });
      ordinaryAtMax = Math.round(await time(repeatTo(ORDINARY, longest), 2));
      console.log(`slowest at ${longest} chars (ordinary text ${ordinaryAtMax} ms): ` +
        atMax.map((w) => `${JSON.stringify(w.unit)} ${w.ms} ms`).join(', '));
    }
    if (args.json) writeFileSync(args.json, JSON.stringify({ where: db.where, raw: args.raw, target: args.target, chars: CHARS, base, findings, atMax, ordinaryAtMax }, null, 2));
    process.exitCode = findings.length && !args.raw ? 1 : 0;
  } finally {
    client.release();
    await db.close();
  }
}

await main();
