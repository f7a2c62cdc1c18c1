// Caches kept per process (src/services/kept.ts and the hand-made ones: teams, staff, queue counts,
// saved views, sessions), dropped on every instance when what they copy changes.
//
// Who announces: PostgreSQL itself, from the writing transaction (triggers in
// prisma/migrations/20261208050000_cache_notices): `NOTIFY caseboard_cache, '<name>'`, delivered
// at commit (never for a rollback), whoever wrote: a service on this or another instance, a job,
// SQL by hand. So no call site can forget to announce, and no instance drops a cache before the
// change it announces is visible (a notice sent from the app before commit would let another
// instance read the old rows again and keep them). Ticket changes come on the live feed's own
// channel (caseboard_ticket) and drop the queue counts.
//
// Who hears: the live feed's one LISTEN connection per process (src/services/live/feed.ts), kept
// running by src/web/cache-sync.ts; on a reconnection every cache is dropped (notices may have
// been missed). On the embedded PGlite (one instance; LISTEN does not work there) nothing is
// heard and the local drops (each service's invalidate… call) are all there is, as before.
//
// Each module with a cache registers how to drop it, under its name, when it is loaded.
import { logError } from '../log.js';

export const CACHE_CHANNEL = 'caseboard_cache';

type Drop = (arg?: string) => void;
const drops = new Map<string, Set<Drop>>();

/** Registers how to drop a cache when its notice comes (payload '<name>' or '<name>:<arg>'). */
export function onCacheNotice(name: string, drop: Drop): void {
  let set = drops.get(name);
  if (!set) drops.set(name, (set = new Set()));
  set.add(drop);
}

function run(drop: Drop, arg?: string): void {
  try {
    drop(arg);
  } catch (err) {
    logError('[caches] dropping a cache failed:', (err as Error).message);
  }
}

/** A notice heard: drops the named cache. Unknown names (a newer instance's) are ignored. */
export function cacheNoticed(payload: string | undefined): void {
  const m = /^([a-z-]{1,40})(?::(\d{1,10}))?$/.exec(payload ?? '');
  if (!m) return;
  for (const drop of drops.get(m[1]!) ?? []) run(drop, m[2]);
}

/** Notices may have been missed (the listening connection was lost): every cache goes. */
export function dropAllCaches(): void {
  for (const set of drops.values()) for (const drop of set) run(drop);
}
