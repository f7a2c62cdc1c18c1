// Settings read on every page or change, kept for a few seconds per process: a change made on
// this instance drops the copy at once (drop()); one made on another instance is seen within the
// time kept. A failed read is not kept. (Issue 14 may invalidate across instances with LISTEN/NOTIFY.)
//
// A caller inside a transaction never waits for a read running on another connection, and nobody
// waits for a read running inside a transaction: a transaction reads through its own connection,
// and its value is kept once read. Sharing a pending read across that line stalls until Prisma's
// transaction timeout: transactions holding every connection of the pool wait for a read that
// waits for a connection (seen on the PostgreSQL server in CI), and the embedded PostgreSQL's socket
// server runs one connection's transaction at a time, so a transaction waiting for another
// connection's query waits for itself to end.
import { isTransactionClient } from '../db/client.js';

export interface Kept<T, D> {
  get(db: D): Promise<T>;
  drop(): void;
}

export function keptFor<T, D extends object>(ms: number, load: (db: D) => Promise<T>): Kept<T, D> {
  let entry: { at: number; value: Promise<T>; settled: boolean } | undefined;
  // Bumped by drop(): a read started before a drop is not kept after it.
  let generation = 0;
  const keep = (at: number, value: Promise<T>, settled: boolean) => (entry = { at, value, settled });
  return {
    get(db) {
      const now = Date.now();
      const fresh = entry !== undefined && now - entry.at <= ms;
      if (isTransactionClient(db)) {
        if (fresh && entry!.settled) return entry!.value;
        const started = generation;
        const value = load(db);
        value.then(
          (v) => {
            if (started === generation && (!entry || entry.at <= now)) keep(now, Promise.resolve(v), true);
          },
          () => undefined,
        );
        return value;
      }
      if (fresh) return entry!.value;
      const current = keep(now, load(db), false);
      current.value.then(
        () => {
          current.settled = true;
        },
        () => {
          if (entry === current) entry = undefined;
        },
      );
      return current.value;
    },
    drop() {
      generation++;
      entry = undefined;
    },
  };
}
