// The time zones a user may choose for the staff pages (their profile).

/** The zone times are shown in when nobody chose one: customer-facing pages, and staff by default. */
export const DEFAULT_TIME_ZONE = 'UTC';

/**
 * The zones a user may choose: every IANA name this runtime knows, and UTC (which
 * Intl.supportedValuesOf leaves out). Computed once.
 */
let zones: readonly string[] | undefined;
let listed: ReadonlySet<string> | undefined;
export function timeZones(): readonly string[] {
  zones ??= [DEFAULT_TIME_ZONE, ...Intl.supportedValuesOf('timeZone').filter((z) => z !== DEFAULT_TIME_ZONE)];
  return zones;
}

/**
 * The name a zone is listed under, for a name the user (or their browser) gave: the list's own
 * names as they are, an alias by the name the runtime resolves it to (Node 20's list says
 * Asia/Calcutta where newer data says Asia/Kolkata); null for anything else.
 */
export function listedTimeZone(name: string): string | null {
  listed ??= new Set(timeZones());
  if (listed.has(name)) return name;
  // Only what could be a zone's name reaches Intl (a long or odd string is simply not one).
  if (name.length > 64 || !/^[A-Za-z0-9_+\-/]+$/.test(name)) return null;
  try {
    const resolved = new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone;
    return listed.has(resolved) ? resolved : null;
  } catch {
    return null; // not a zone at all (RangeError)
  }
}

