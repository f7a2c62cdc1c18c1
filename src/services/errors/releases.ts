// Release order for regressions: semantic versions by semver (a Sentry release is often
// "package@1.2.3": the part after the last "@" is compared), anything else by the order the
// problem first saw them (`seen`, oldest first; a release not in it was seen after all of them).
import semver from 'semver';

/** At most this many releases and environments are kept per problem (the first ones seen). */
export const MAX_LABELS = 50;

const version = (release: string): string | null => {
  const tail = release.slice(release.lastIndexOf('@') + 1);
  return semver.valid(tail, { loose: true }) ?? semver.valid(release, { loose: true });
};

/** Negative when a is older than b, 0 when the same, positive when newer. */
export function compareReleases(a: string, b: string, seen: readonly string[]): number {
  if (a === b) return 0;
  const va = version(a);
  const vb = version(b);
  if (va && vb) return semver.compare(va, vb, { loose: true });
  const ia = seen.indexOf(a);
  const ib = seen.indexOf(b);
  return (ia < 0 ? Infinity : ia) - (ib < 0 ? Infinity : ib) || (ia < 0 ? 1 : -1);
}

/** The newest of the releases seen (none when none was). */
export function newestRelease(seen: readonly string[]): string | null {
  let newest: string | null = null;
  for (const r of seen) if (newest === null || compareReleases(r, newest, seen) > 0) newest = r;
  return newest;
}

/** `known` with the new labels added in the order first seen, at most MAX_LABELS. */
export function addLabels(known: readonly string[], added: Iterable<string>): string[] {
  const out = [...known];
  for (const l of added) if (out.length < MAX_LABELS && !out.includes(l)) out.push(l);
  return out;
}
