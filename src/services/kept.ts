// Settings read on every page or change, kept for a few seconds per process: a change made on
// this instance drops the copy at once (drop()); one made on another instance is seen within the
// time kept. A failed read is not kept. (Issue 14 may invalidate across instances with LISTEN/NOTIFY.)
//
// A caller inside a transaction never waits for a read still running on another connection: it
// reads through its own. On the embedded PostgreSQL, the socket server runs one connection's
// transaction at a time, so a transaction waiting for another connection's query would wait for
// itself to end (a 30 s stall, until Prisma's transaction timeout).

export interface Kept<T, D> {
  get(db: D): Promise<T>;
  drop(): void;
}

/** Whether a Prisma client is a transaction's (the root client has $transaction). */
export const inTransaction = (db: object): boolean => !('$transaction' in db);

export function keptFor<T, D extends object>(ms: number, load: (db: D) => Promise<T>): Kept<T, D> {
  let entry: { at: number; value: Promise<T>; settled: boolean } | undefined;
  return {
    get(db) {
      const now = Date.now();
      if (entry && now - entry.at <= ms && (entry.settled || !inTransaction(db))) return entry.value;
      const current = { at: now, value: load(db), settled: false };
      entry = current;
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
      entry = undefined;
    },
  };
}
