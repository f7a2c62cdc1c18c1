// What the organisation's mail server found when it checked a message's sender: the
// Authentication-Results header fields (RFC 8601) it adds, e.g.
//
//   Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=customer.test;
//     dkim=pass header.d=customer.test header.s=s1; dmarc=pass (p=reject) header.from=customer.test
//
// Caseboard verifies nothing itself (no DNS): it believes these fields only when they carry an
// authserv-id it was told to trust (MAIL_TRUSTED_AUTHSERV_ID) and stand at the top of the message,
// above any field of another authserv-id — anyone can write such a field into a message, and the
// fields a message arrived with lie below the ones our own server adds. (RFC 8601 §5: the border
// server must also delete incoming fields that claim its authserv-id; see the README.)
//
// The parser is a single linear pass over at most MAX_FIELD characters (comments nest at most
// MAX_COMMENT_DEPTH deep, quoted strings end at the field's end): no regular expression that can
// backtrack, no lookup by a key the sender chose on a plain object (results are arrays, properties
// a Map). No maintained npm library parses this header for Node 20: mailauth's parser is an internal
// file of a verifier that needs Node 22 from version 5 on.

const MAX_FIELD = 16 * 1024;
const MAX_RESULTS = 64;
const MAX_COMMENT_DEPTH = 8;

export interface AuthResult {
  /** Lower-case: spf, dkim, dmarc, arc, iprev, auth… */
  method: string;
  /** Lower-case: pass, fail, softfail, neutral, none, temperror, permerror, policy… */
  result: string;
  reason: string | null;
  /** "ptype.property" (lower-case) → value, e.g. smtp.mailfrom, header.from, header.d. */
  props: Map<string, string>;
}

export interface AuthResultsField {
  /** Lower-case. */
  authservId: string;
  results: AuthResult[];
}

type Token = { kind: 'word' | 'quoted'; text: string; gap: boolean } | { kind: ';' | '='; gap: boolean };

/** Words, quoted strings, ';' and '='; comments and folding white space only mark a gap. */
function tokenize(value: string): Token[] | null {
  const tokens: Token[] = [];
  const s = value.length > MAX_FIELD ? value.slice(0, MAX_FIELD) : value;
  let i = 0;
  let gap = false;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      gap = true;
      i++;
    } else if (c === '(') {
      // A comment, possibly nested, with quoted-pairs.
      let depth = 0;
      for (; i < s.length; i++) {
        const d = s[i]!;
        if (d === '\\') i++;
        else if (d === '(') {
          if (++depth > MAX_COMMENT_DEPTH) return null;
        } else if (d === ')' && --depth === 0) break;
      }
      if (depth !== 0) return null; // unfinished comment
      i++;
      gap = true;
    } else if (c === '"') {
      let text = '';
      i++;
      for (; i < s.length && s[i] !== '"'; i++) {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        text += s[i];
      }
      if (i >= s.length) return null; // unfinished quoted string
      i++;
      tokens.push({ kind: 'quoted', text, gap });
      gap = false;
    } else if (c === ';' || c === '=') {
      tokens.push({ kind: c, gap });
      gap = false;
      i++;
    } else {
      const start = i;
      while (i < s.length && !' \t\r\n();="'.includes(s[i]!)) i++;
      tokens.push({ kind: 'word', text: s.slice(start, i), gap });
      gap = false;
    }
  }
  return tokens;
}

/**
 * One Authentication-Results field (with or without its "Authentication-Results:" name), or null
 * when it is not one: then it is trusted for nothing.
 */
export function parseAuthenticationResults(field: string): AuthResultsField | null {
  const value = /^\s*authentication-results\s*:/i.test(field.slice(0, 40)) ? field.slice(field.indexOf(':') + 1) : field;
  const tokens = tokenize(value);
  if (!tokens || tokens.length === 0) return null;
  let at = 0;
  const next = () => tokens[at++];
  const peek = () => tokens[at];
  const text = (t: Token | undefined) => (t && (t.kind === 'word' || t.kind === 'quoted') ? t.text : null);

  const id = text(next());
  if (!id) return null;
  // An optional version number after the authserv-id.
  if (peek()?.kind === 'word' && /^[0-9]{1,4}$/.test(text(peek())!)) at++;
  const results: AuthResult[] = [];

  /** A value after "=": a word or quoted string; "=" signs stuck to it (base64 padding) belong to it. */
  const valueAfterEquals = (): string | null => {
    let v = text(next());
    if (v === null) return null;
    while (peek() && !peek()!.gap && (peek()!.kind === '=' || peek()!.kind === 'word')) {
      const t = next()!;
      v += t.kind === '=' ? '=' : (t as { text: string }).text;
    }
    return v;
  };

  while (at < tokens.length) {
    if (next()?.kind !== ';') return null;
    if (at >= tokens.length) break; // a trailing ";"
    const method = text(next());
    if (!method) return null;
    // "none": the server checked nothing (no-result).
    if (method.toLowerCase() === 'none' && (peek() === undefined || peek()!.kind === ';')) continue;
    if (next()?.kind !== '=') return null;
    const result = text(next());
    if (!result) return null;
    const entry: AuthResult = {
      method: method.toLowerCase().split('/')[0]!,
      result: result.toLowerCase(),
      reason: null,
      props: new Map(),
    };
    while (at < tokens.length && peek()!.kind !== ';') {
      const key = text(next());
      if (!key || next()?.kind !== '=') return null;
      const v = valueAfterEquals();
      if (v === null) return null;
      const k = key.toLowerCase();
      if (k === 'reason') entry.reason = v;
      else if (k.includes('.') && !entry.props.has(k)) entry.props.set(k, v);
    }
    results.push(entry);
    if (results.length > MAX_RESULTS) return null;
  }
  return { authservId: id.toLowerCase(), results };
}

export type AuthStatus = 'PASS' | 'FAIL' | 'NONE';

export interface AuthVerdict {
  /** PASS: the From domain is authenticated; FAIL: it is not; NONE: no trusted result says either. */
  status: AuthStatus;
  /** The trusted results in short ("dmarc=fail header.from=…; spf=pass smtp.mailfrom=…"), for staff. */
  summary: string | null;
  /** Why it is not authenticated (FAIL), or what was found (PASS, NONE), in a sentence. */
  explanation: string;
}

/** The domain of an address or a bare domain, lower-case, without a trailing dot. */
export function domainOf(value: string): string {
  const v = value.trim().toLowerCase().replace(/^<|>$/g, '');
  return v.slice(v.lastIndexOf('@') + 1).replace(/\.$/, '');
}

/**
 * Relaxed alignment (RFC 7489 §3.1), approximated without the public suffix list: the same
 * domain, or one a subdomain of the other. (Two sibling subdomains of one organisation do not
 * align here; that only matters when the server gave no DMARC result of its own.)
 */
export function aligned(a: string, b: string): boolean {
  if (!a || !b) return false;
  return a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);
}

/** The trusted fields: from the top, those of a trusted authserv-id, until the first other one. */
export function trustedFields(fields: string[], trustedIds: readonly string[]): AuthResultsField[] {
  const trusted = new Set(trustedIds.map((t) => t.trim().toLowerCase()).filter(Boolean));
  const out: AuthResultsField[] = [];
  if (trusted.size === 0) return out;
  for (const field of fields.slice(0, 50)) {
    const parsed = parseAuthenticationResults(field);
    // Below a field that is not our server's (or not readable), anything may have been written.
    if (!parsed || !trusted.has(parsed.authservId)) break;
    out.push(parsed);
  }
  return out;
}

const describe = (r: AuthResult) => {
  const props = [...r.props].filter(([k]) => ['smtp.mailfrom', 'header.from', 'header.d', 'header.i', 'smtp.helo'].includes(k));
  return [`${r.method}=${r.result}`, ...props.map(([k, v]) => `${k}=${v}`)].join(' ').slice(0, 300);
};

/**
 * Whether the message's From domain is authenticated, from what the trusted fields say:
 * - a DMARC result for the From domain decides: fail → FAIL, pass → PASS;
 * - without one (no DMARC result, or none/temperror/permerror): PASS when SPF (for the envelope
 *   domain) or DKIM (for the signing domain) passed aligned with the From domain; FAIL when the
 *   server checked SPF or DKIM and neither passed aligned;
 * - NONE when no trusted field says anything about SPF, DKIM or DMARC.
 */
export function evaluateAuthentication(
  fields: string[],
  trustedIds: readonly string[],
  fromAddress: string,
  envelopeSender: string,
): AuthVerdict {
  const trusted = trustedFields(fields, trustedIds);
  const results = trusted.flatMap((f) => f.results).filter((r) => ['spf', 'dkim', 'dmarc'].includes(r.method));
  const summary = results.length ? results.map(describe).join('; ').slice(0, 1000) : null;
  const from = domainOf(fromAddress);
  if (trusted.length === 0) {
    return { status: 'NONE', summary: null, explanation: 'No Authentication-Results field from a trusted mail server.' };
  }
  const dmarc = results.filter((r) => r.method === 'dmarc' && (!r.props.has('header.from') || domainOf(r.props.get('header.from')!) === from));
  if (dmarc.some((r) => r.result === 'fail')) {
    return { status: 'FAIL', summary, explanation: `DMARC failed for the From domain ${from}.` };
  }
  if (dmarc.some((r) => r.result === 'pass')) {
    return { status: 'PASS', summary, explanation: `DMARC passed for the From domain ${from}.` };
  }
  const spf = results.filter((r) => r.method === 'spf');
  const dkim = results.filter((r) => r.method === 'dkim');
  const spfAligned = spf.some((r) => r.result === 'pass' && aligned(domainOf(r.props.get('smtp.mailfrom') ?? envelopeSender), from));
  const dkimAligned = dkim.some((r) => r.result === 'pass' && aligned(domainOf(r.props.get('header.d') ?? r.props.get('header.i') ?? ''), from));
  if (spfAligned || dkimAligned) {
    return { status: 'PASS', summary, explanation: `${spfAligned ? 'SPF' : 'DKIM'} passed for the From domain ${from} (no DMARC result).` };
  }
  if (spf.length || dkim.length) {
    return { status: 'FAIL', summary, explanation: `Neither SPF nor DKIM passed for the From domain ${from} (and no DMARC result).` };
  }
  return { status: 'NONE', summary, explanation: 'The trusted mail server reported no SPF, DKIM or DMARC result.' };
}
