// Settings read on every page or change, kept for a few seconds per process: a change made on
// this instance drops the copy at once (drop()); one made on another instance is seen within the
// time kept. A failed read is not kept. (Issue 14 may invalidate across instances with LISTEN/NOTIFY.)

export interface Kept<T, D> {
  get(db: D): Promise<T>;
  drop(): void;
}

export function keptFor<T, D>(ms: number, load: (db: D) => Promise<T>): Kept<T, D> {
  let entry: { at: number; value: Promise<T> } | undefined;
  return {
    get(db) {
      const now = Date.now();
      if (entry && now - entry.at <= ms) return entry.value;
      const current = { at: now, value: load(db) };
      entry = current;
      current.value.catch(() => {
        if (entry === current) entry = undefined;
      });
      return current.value;
    },
    drop() {
      entry = undefined;
    },
  };
}
