// What one reported error is, whatever sent it: a Sentry SDK's event (store endpoint or envelope
// item) or the small JSON endpoint's body. Everything kept is bounded here (strings, frames,
// tags, breadcrumbs), so a hostile or runaway client costs at most a few kilobytes per event.
//
// Grouping (the fingerprint): the exception types plus the application's own stack frames
// (module or file, and function — never line numbers, which move with every edit), or the
// fingerprint the client sends, where `{{ default }}` stands for that default grouping.
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';

/** Kept per event at most. */
export const EVENT_LIMITS = {
  exceptions: 5,
  frames: 40,
  tags: 40,
  breadcrumbs: 30,
  text: 500,
  message: 1000,
  fingerprintParts: 20,
} as const;

export interface Frame {
  module: string | null;
  function: string | null;
  filename: string | null;
  lineno: number | null;
  inApp: boolean;
}

export interface ExceptionValue {
  type: string;
  value: string;
  frames: Frame[];
}

/** The JSON kept for an event (ErrorEvent.data) and shown in the ticket's panel. */
export interface EventData {
  exceptions: ExceptionValue[];
  tags: [string, string][];
  user: Record<string, string> | null;
  breadcrumbs: { timestamp: string | null; category: string | null; level: string | null; message: string }[];
  request: { method: string | null; url: string | null } | null;
  platform: string | null;
  serverName: string | null;
}

export interface ReportedEvent {
  eventId: string;
  type: string;
  message: string;
  culprit: string | null;
  release: string | null;
  environment: string | null;
  /** SHA-256 (hex) of the grouping key. */
  fingerprint: string;
  receivedAt: Date;
  data: EventData;
}

/** An event that cannot be read: a 400 with this message, nothing written. */
export class BadEventError extends Error {}

/** Text PostgreSQL takes: no U+0000, no lone surrogate (jsonb refuses "\ud800"; one would poison its batch). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const clean = (s: string): string => s.replace(/\u0000/g, '').replace(LONE_SURROGATE, '\ufffd');

const stringify = (v: unknown): string => {
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    // Too deeply nested for the stack: said so, not a 500.
    return '[unreadable]';
  }
};

const cut = (v: unknown, max: number = EVENT_LIMITS.text): string | null => {
  if (v === undefined || v === null) return null;
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : stringify(v);
  const text = clean(s.length > max * 2 ? s.slice(0, max * 2) : s);
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const arrayOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function readFrame(f: unknown): Frame | null {
  if (!isObject(f)) return null;
  const lineno = typeof f.lineno === 'number' && Number.isFinite(f.lineno) ? Math.trunc(f.lineno) : null;
  return {
    module: cut(f.module, 200),
    function: cut(f.function, 200),
    filename: cut(f.filename ?? f.abs_path, 300),
    lineno,
    // Sentry: frames are the application's unless marked otherwise; node SDKs mark node_modules and node: internals.
    inApp: f.in_app !== false,
  };
}

function readException(v: unknown): ExceptionValue | null {
  if (!isObject(v)) return null;
  const st = isObject(v.stacktrace) ? v.stacktrace : null;
  const frames = arrayOf(st?.frames)
    // Sentry orders frames oldest call first: the newest (where it was thrown) are the last ones.
    .slice(-EVENT_LIMITS.frames)
    .map(readFrame)
    .filter((f): f is Frame => f !== null);
  const type = cut(v.type, 200) ?? (v.module ? cut(v.module, 200) : null) ?? 'Error';
  return { type, value: cut(v.value, EVENT_LIMITS.message) ?? '', frames };
}

function readTags(v: unknown): [string, string][] {
  const pairs: [unknown, unknown][] = Array.isArray(v) ? v.filter(Array.isArray).map((p) => [p[0], p[1]]) : isObject(v) ? Object.entries(v) : [];
  return pairs.slice(0, EVENT_LIMITS.tags).map(([k, val]) => [cut(k, 64) ?? '', cut(val, 200) ?? ''] as [string, string]).filter(([k]) => k !== '');
}

function readUser(v: unknown): Record<string, string> | null {
  if (!isObject(v)) return null;
  const out: Record<string, string> = {};
  for (const key of ['id', 'email', 'username', 'ip_address', 'name']) {
    const val = cut(v[key], 200);
    if (val) out[key] = val;
  }
  return Object.keys(out).length ? out : null;
}

function readBreadcrumbs(v: unknown): EventData['breadcrumbs'] {
  const list = Array.isArray(v) ? v : isObject(v) ? arrayOf(v.values) : [];
  return list
    .slice(-EVENT_LIMITS.breadcrumbs)
    .filter(isObject)
    .map((b) => ({
      timestamp: typeof b.timestamp === 'number' ? new Date(b.timestamp * 1000).toISOString() : cut(b.timestamp, 40),
      category: cut(b.category, 80),
      level: cut(b.level, 20),
      message: cut(b.message ?? (b.data === undefined ? '' : b.data), 300) ?? '',
    }));
}

function readRequest(v: unknown): EventData['request'] {
  if (!isObject(v)) return null;
  const url = cut(v.url, 500);
  const method = cut(v.method, 10);
  return url || method ? { method, url } : null;
}

/** A release or environment name: trimmed, bounded, none when empty. */
function label(v: unknown, max: number): string | null {
  const s = typeof v === 'string' ? clean(v.slice(0, max * 2)).trim() : '';
  return s ? s.slice(0, max) : null;
}

/** The parts of the default grouping: each exception's type and the application's frames. */
function defaultGrouping(exceptions: ExceptionValue[], message: string): string[] {
  if (exceptions.length === 0) return [`message:${message}`];
  const parts: string[] = [];
  for (const e of exceptions) {
    parts.push(`type:${e.type}`);
    const own = e.frames.filter((f) => f.inApp);
    for (const f of own.length ? own : e.frames) parts.push(`frame:${f.module ?? f.filename ?? '?'}:${f.function ?? '?'}`);
    // Without any frame the message tells problems of one type apart (as Sentry does).
    if (e.frames.length === 0) parts.push(`value:${e.value}`);
  }
  return parts;
}

function fingerprintOf(client: unknown, exceptions: ExceptionValue[], message: string): string {
  const defaults = defaultGrouping(exceptions, message);
  const list = Array.isArray(client) ? client.slice(0, EVENT_LIMITS.fingerprintParts) : [];
  const parts =
    list.length === 0
      ? ['default', ...defaults]
      : ['client', ...list.flatMap((p) => (typeof p === 'string' && /^\{\{\s*default\s*\}\}$/.test(p) ? defaults : [cut(p, 200) ?? '']))];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

const EVENT_ID = /^[0-9a-f]{32}$/;
const newEventId = () => randomUUID().replace(/-/g, '');

/** A Sentry SDK's event (its JSON payload), read into a bounded ReportedEvent. */
export function fromSentryEvent(raw: unknown, receivedAt = new Date()): ReportedEvent {
  if (!isObject(raw)) throw new BadEventError('The event must be a JSON object.');
  const exceptionsSource = isObject(raw.exception) ? raw.exception.values : raw.exception;
  // Sentry lists a chain of exceptions cause first, the one thrown last: that one names the problem.
  const exceptions = arrayOf(exceptionsSource)
    .slice(-EVENT_LIMITS.exceptions)
    .map(readException)
    .filter((e): e is ExceptionValue => e !== null);
  const logentry = isObject(raw.logentry) ? raw.logentry : null;
  const rawMessage = isObject(raw.message) ? (raw.message.formatted ?? raw.message.message) : (raw.message ?? logentry?.formatted ?? logentry?.message);
  const main = exceptions[exceptions.length - 1];
  const message = cut(main ? main.value || rawMessage : rawMessage, EVENT_LIMITS.message) ?? '';
  if (!main && !message) throw new BadEventError('The event has neither an exception nor a message.');
  const type = main?.type ?? 'Message';
  const top = main?.frames.filter((f) => f.inApp).at(-1) ?? main?.frames.at(-1);
  const culprit = cut(raw.culprit ?? raw.transaction, 500) ?? (top ? `${top.module ?? top.filename ?? '?'} in ${top.function ?? '?'}` : null);
  const eventId = typeof raw.event_id === 'string' && EVENT_ID.test(raw.event_id.toLowerCase()) ? raw.event_id.toLowerCase() : newEventId();
  const contexts = isObject(raw.contexts) ? raw.contexts : {};
  return {
    eventId,
    type,
    message,
    culprit,
    release: label(raw.release, 200),
    environment: label(raw.environment, 64),
    fingerprint: fingerprintOf(raw.fingerprint, exceptions, message),
    receivedAt,
    data: {
      exceptions,
      tags: readTags(raw.tags),
      user: readUser(raw.user),
      breadcrumbs: readBreadcrumbs(raw.breadcrumbs),
      request: readRequest(raw.request),
      platform: cut(raw.platform, 40),
      serverName: cut(raw.server_name ?? (isObject(contexts.device) ? contexts.device.name : undefined), 120),
    },
  };
}

/** The JSON endpoint's body, for programs without a Sentry SDK (README: "Error reports"). */
export const jsonEventSchema = z
  .object({
    type: z.string().trim().min(1).max(200),
    message: z.string().max(EVENT_LIMITS.message).default(''),
    stacktrace: z
      .array(
        z
          .object({
            module: z.string().max(200).optional(),
            function: z.string().max(200).optional(),
            file: z.string().max(300).optional(),
            line: z.number().int().min(0).optional(),
            inApp: z.boolean().optional(),
          })
          .strict(),
      )
      .max(200)
      .optional(),
    fingerprint: z.array(z.string().max(200)).min(1).max(EVENT_LIMITS.fingerprintParts).optional(),
    release: z.string().trim().min(1).max(200).optional(),
    environment: z.string().trim().min(1).max(64).optional(),
    tags: z.record(z.string().max(64), z.string().max(200)).optional(),
    user: z
      .object({ id: z.string().max(200).optional(), email: z.string().max(200).optional(), username: z.string().max(200).optional() })
      .strict()
      .optional(),
    eventId: z.string().regex(EVENT_ID, 'must be 32 lower-case hex digits').optional(),
  })
  .strict();
export type JsonEvent = z.infer<typeof jsonEventSchema>;

/** The JSON endpoint's body (already validated) as the Sentry event it describes. */
export function fromJsonEvent(body: JsonEvent, receivedAt = new Date()): ReportedEvent {
  const frames = (body.stacktrace ?? []).map((f) => ({ module: f.module, function: f.function, filename: f.file, lineno: f.line, in_app: f.inApp ?? true }));
  return fromSentryEvent(
    {
      event_id: body.eventId,
      exception: { values: [{ type: body.type, value: body.message, stacktrace: { frames } }] },
      fingerprint: body.fingerprint,
      release: body.release,
      environment: body.environment,
      tags: body.tags,
      user: body.user,
      platform: 'other',
    },
    receivedAt,
  );
}
