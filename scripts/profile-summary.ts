// npx tsx scripts/profile-summary.ts data/profiles/CPU.….cpuprofile [--top 40] [--by package|function|file]
//
// Where a V8 CPU profile (node --cpu-prof, `npm run bench -- --profile`) spends its time: self time
// summed per package (node_modules/<name>), per file of the app (src/…, views compiled by EJS show as
// "(template)"), Node's own modules, garbage collection, idle and the rest; and the functions with
// the most self time. Percentages are of the time the process was busy (idle excluded).
// --skip S: leave out the first S seconds (start-up, module loading, warm-up).
// --who PATTERN: for the samples spent in parts whose name contains PATTERN (e.g. "wasm", "pg"),
// which of the app's own functions (src/…, or dist/… when built) they were called from.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

type Frame = { functionName: string; url: string; lineNumber: number; columnNumber: number };
type Node = { id: number; callFrame: Frame; children?: number[] };
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' }, who: { type: 'string' }, skip: { type: 'string', default: '0' } },
});
if (positionals.length === 0) {
  console.error('Usage: npx tsx scripts/profile-summary.ts FILE.cpuprofile [--top N]');
  process.exit(2);
}

/** Which part of the process a frame belongs to. */
function bucket(frame: Frame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (['(garbage collector)', '(idle)', '(program)', '(root)'].includes(functionName)) return functionName;
    // EJS compiles templates with new Function: no url.
    if (functionName === 'anonymous' || functionName === '') return '(template or eval)';
    return '(native: V8 builtins)';
  }
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  const src = url.search(/\/(src|views|scripts)\//);
  return src >= 0 ? url.slice(src + 1) : url;
}

/** The layer of the stack a part belongs to (the README's "where a page's time goes"). */
function layer(part: string, fn: string): string {
  if (part === '(garbage collector)') return 'garbage collection';
  if (part === '(native: V8 builtins)' && /^(writev|writeBuffer|writeString|writeUtf8String|read|close)$/.test(fn)) return 'HTTP and sockets (node:http, net, streams)';
  if (/^node:(_http|net|internal\/(streams|stream_base|http|net)|events|buffer|internal\/buffer)/.test(part) || /^(on-headers|on-finished|finalhandler|parseurl|statuses|content-type|mime|mime-types|send|vary|encodeurl|fresh|range-parser)$/.test(part)) return 'HTTP and sockets (node:http, net, streams)';
  if (/^(express|router|path-to-regexp|body-parser|raw-body|qs|type-is|media-typer|negotiator|accepts)$/.test(part)) return 'Express and its router, body parsing';
  if (/^(express-session|passport|cookie|cookie-parser|cookie-signature|csrf-csrf|helmet|uid-safe|random-bytes|crc)$/.test(part) || /crypto/.test(part) || /session-cache|session-store|middleware\/(auth|csrf|locals|unread)/.test(part)) return 'session, sign-in, CSRF, headers';
  if (/^(pino|pino-http|pino-std-serializers|@pinojs\/redact|prom-client|sonic-boom|fast-redact)$/.test(part) || /request-log|observability|log\.js/.test(part)) return 'request log and metrics';
  if (/^(pg|pg-pool|pg-protocol|pg-types|postgres-array|postgres-date|@prisma\/.*|@electric-sql\/.*)$/.test(part) || part.startsWith('wasm://') || /\/db\//.test(part)) return 'database client (pg, Prisma)';
  if (/^views\//.test(part) || part === 'ejs' || part === '(template or eval)' || /view-engine|presenters\//.test(part)) return 'templates and presenters';
  if (/^(src|dist)\//.test(part) || part.includes('/dist/') || part.includes('/src/')) return 'the app\'s own code (routes, services)';
  return 'other (V8 builtins, microtasks, timers, libraries)';
}

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const callers = new Map<string, number>();
  const appFrame = (id: number): string => {
    for (let at: number | undefined = parent.get(id); at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (/\/(src|dist)\//.test(f.url) && !f.url.includes('node_modules')) return `${f.functionName || '(anonymous)'}  ${bucket(f)}:${f.lineNumber + 1}`;
    }
    return '(no app frame)';
  };
  const self = new Map<number, number>();
  const skipUs = Number(args.skip) * 1e6;
  let clock = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    clock += profile.timeDeltas[i] ?? 0;
    if (clock < skipUs) continue;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const buckets = new Map<string, number>();
  const layers = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    const b = bucket(frame);
    if (b === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    buckets.set(b, (buckets.get(b) ?? 0) + us);
    const l = layer(b, frame.functionName);
    layers.set(l, (layers.get(l) ?? 0) + us);
    const name = `${frame.functionName || '(anonymous)'}  ${b}:${frame.lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
    if (args.who && b.includes(args.who)) {
      const caller = appFrame(id);
      callers.set(caller, (callers.get(caller) ?? 0) + us);
    }
  }
  const top = Number(args.top);
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  console.log(`${file}: busy ${(busy / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s\n`);
  console.log('Self time by layer:');
  for (const [l, us] of [...layers].sort((a, c) => c[1] - a[1])) console.log(`${pct(us)}  ${l}`);
  console.log('\nSelf time by part:');
  for (const [b, us] of [...buckets].sort((a, c) => c[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${b}`);
  console.log('\nSelf time by function:');
  for (const [f, us] of [...functions].sort((a, c) => c[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${f}`);
  if (args.who) {
    console.log(`\nSelf time in parts matching "${args.who}", by the app function they were called from:`);
    for (const [f, us] of [...callers].sort((a, c) => c[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${f}`);
  }
  console.log('');
}
