// Outgoing signed requests (webhooks): a JSON body POSTed to a URL an admin configured, signed
// with a shared secret so that the receiver can tell it came from Caseboard and was not replayed.
//
// The signature follows Stripe's scheme: the header
//   Caseboard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the secret>
// plus `Caseboard-Delivery: <id>` (the same id on every retry: receivers deduplicate by it).
//
// Server-side request forgery: the URL is someone's configuration, the request goes from inside
// the organisation's network. Unless the operator allows it (AUTOMATION_ALLOW_PRIVATE), only
// https:// to public addresses: the host is resolved when sending, every address it resolves to
// is checked (loopback, private, link-local, carrier-grade NAT, multicast, documentation and
// reserved ranges are refused, IPv4-mapped IPv6 included), and the connection goes to the checked
// address (no second lookup that a rebinding DNS server could answer differently). Redirects are
// not followed. Only the first RESPONSE_EXCERPT_BYTES of an answer are read.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

export const SIGNATURE_HEADER = 'Caseboard-Signature';
export const DELIVERY_HEADER = 'Caseboard-Delivery';
/** The part of an answer that is kept (as text). */
export const RESPONSE_EXCERPT_BYTES = 4096;

export interface OutgoingPolicy {
  /** Private, loopback and link-local addresses, and plain http:// to them, are allowed (tests, a receiver on the LAN). */
  allowPrivate: boolean;
  /** Longest a request may take, connection to the end of the excerpt (ms). */
  timeoutMs: number;
  /** How a host name is resolved (default: the system's resolver); tests stand in for DNS with it. */
  resolve?: (host: string) => Promise<{ address: string; family: number }[]>;
}

let policy: OutgoingPolicy = { allowPrivate: false, timeoutMs: 10_000 };

/** Set from the configuration at start-up (AUTOMATION_ALLOW_PRIVATE, AUTOMATION_TIMEOUT_MS). */
export function configureOutgoing(p: OutgoingPolicy): void {
  policy = { ...p };
}

export function outgoingPolicy(): OutgoingPolicy {
  return policy;
}

/** The signature header's value for a body sent at `t` (unix seconds). */
export function signatureHeader(secret: string, rawBody: string, t: number): string {
  const v1 = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest('hex');
  return `t=${t},v1=${v1}`;
}

/**
 * What a receiver does (documented in the README): recompute the HMAC over "<t>.<raw body>",
 * compare in constant time, and refuse a timestamp older than `toleranceSeconds`.
 */
export function verifySignature(secret: string, rawBody: string, header: string, toleranceSeconds = 300, now = Date.now()): boolean {
  const parts = new Map(header.split(',').map((p) => p.trim().split('=') as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(now / 1000 - t) > toleranceSeconds || !/^[0-9a-f]{64}$/.test(v1)) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'));
}

// Addresses a request may not go to unless private ones are allowed.
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['2002::', 16],
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) blocked.addSubnet(net, prefix, 'ipv6');

/** Is this IP address one a request may not reach by default (private, loopback, link-local, reserved…)? */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    // IPv4-mapped addresses (::ffff:127.0.0.1, ::ffff:7f00:1) are checked against the IPv4 ranges by BlockList itself.
    return blocked.check(address, 'ipv6');
  }
  return true; // not an address at all: refused
}

/** A request that must not be sent (or sent again): a bad URL, a refused address. */
export class OutgoingRefused extends Error {}

/**
 * Checks a URL as configured (when it is saved): http(s), no user name or password in it, https://
 * unless private addresses are allowed, and no literal private address then. The host's DNS is
 * checked when sending. Returns the message for the form, or null when it is acceptable.
 */
export function urlProblem(raw: string, p: OutgoingPolicy = policy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'Enter a full address, like https://automation.example.com/hooks/restart.';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'The address must start with https://.';
  if (url.protocol === 'http:' && !p.allowPrivate) return 'The address must start with https:// (plain http:// is not allowed).';
  if (url.username || url.password) return 'Leave the user name and password out of the address; the request is signed with the secret.';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host) return 'The address has no host.';
  if (!p.allowPrivate && (isIP(host) ? isPrivateAddress(host) : /(^|\.)localhost$/i.test(host))) {
    return 'Private, loopback and link-local addresses are not allowed.';
  }
  return null;
}

export interface SignedRequest {
  url: string;
  secret: string;
  /** The JSON body, exactly as sent and signed. */
  body: string;
  deliveryId: string | number;
  /** More headers (webhooks: Caseboard-Event-Id, Caseboard-Event); never ones this module sets. */
  headers?: Record<string, string>;
  /** Default: Caseboard-Automation/1. */
  userAgent?: string;
}

export interface SignedResponse {
  status: number;
  /** The first RESPONSE_EXCERPT_BYTES bytes of the body, as UTF-8 text (U+0000 removed). */
  excerpt: string;
}

/** The address to connect to: every address the host resolves to must be allowed; the first one is used. */
async function resolveChecked(host: string, p: OutgoingPolicy): Promise<{ address: string; family: number }> {
  const literal = host.replace(/^\[|\]$/g, '');
  const addresses = isIP(literal)
    ? [{ address: literal, family: isIP(literal) }]
    : await (p.resolve ?? ((h: string) => dnsLookup(h, { all: true, verbatim: true })))(literal);
  if (addresses.length === 0) throw new Error(`${host} has no address`);
  if (!p.allowPrivate) {
    const refused = addresses.find((a) => isPrivateAddress(a.address));
    if (refused) throw new OutgoingRefused(`${host} resolves to ${refused.address}, a private or reserved address: refused`);
  }
  return addresses[0]!;
}

/**
 * POSTs the signed body and returns the answer's status and the start of its body. Throws
 * OutgoingRefused for a request that must not be made (it is not retried), and a plain Error for
 * network failures and timeouts (worth retrying).
 */
export async function sendSignedRequest(req: SignedRequest, p: OutgoingPolicy = policy): Promise<SignedResponse> {
  const problem = urlProblem(req.url, p);
  if (problem) throw new OutgoingRefused(problem);
  const url = new URL(req.url);
  const target = await resolveChecked(url.hostname, p);
  if (url.protocol === 'http:' && !isPrivateAddress(target.address)) {
    throw new OutgoingRefused('Plain http:// is allowed only to private addresses: use https://.');
  }
  const pinned: LookupFunction = (_host, opts, cb) => {
    if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [target]);
    else cb(null, target.address, target.family);
  };
  const t = Math.floor(Date.now() / 1000);
  const headers = {
    ...req.headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(req.body)),
    'User-Agent': req.userAgent ?? 'Caseboard-Automation/1',
    [SIGNATURE_HEADER]: signatureHeader(req.secret, req.body, t),
    [DELIVERY_HEADER]: String(req.deliveryId),
  };
  const signal = AbortSignal.timeout(p.timeoutMs);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<SignedResponse>((resolve, reject) => {
    const request = client.request(url, { method: 'POST', headers, lookup: pinned, signal, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = () => {
        const bytes = Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES);
        res.destroy();
        resolve({ status: res.statusCode ?? 0, excerpt: bytes.toString('utf8').replaceAll('\u0000', '') });
      };
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        size += c.length;
        if (size >= RESPONSE_EXCERPT_BYTES) finish();
      });
      res.on('end', finish);
      res.on('error', (err) => (size > 0 ? finish() : reject(err)));
    });
    request.on('error', (err) => reject(signal.aborted ? new Error(`no answer within ${p.timeoutMs} ms`) : err));
    request.end(req.body);
  });
}
