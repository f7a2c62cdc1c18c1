// Webhook endpoints as admins manage them: register (the secret is generated here and shown
// once), edit, roll the secret, delete (kept, hidden: its deliveries name it); every change in the
// endpoint's append-only history. The active endpoints are kept a few seconds per process
// (services/kept.ts) so that a desk with no webhooks pays one cached read per change, no query.
import { randomBytes } from 'node:crypto';
import type { Db, Tx } from '../../db/client.js';
import type { WebhookEndpoint } from '../../generated/prisma/client.js';
import type { ServiceContext } from '../context.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { keptFor } from '../kept.js';
import { urlProblem } from '../outgoing/signed-request.js';
import { assertCan } from '../policy.js';
import { isWebhookEvent, WEBHOOK_EVENTS, type WebhookEvent } from './events.js';
import { onCacheNotice } from '../cache-notices.js';

export interface EndpointInput {
  url: string;
  description: string;
  events: string[];
  active: boolean;
}

export interface ActiveEndpoint {
  id: number;
  events: readonly string[];
}

const kept = keptFor<ActiveEndpoint[], Db | Tx>(5_000, (db) =>
  db.webhookEndpoint.findMany({ where: { active: true, deletedAt: null }, select: { id: true, events: true }, orderBy: { id: 'asc' } }),
);

/** The active endpoints (kept 5 s per process; a change made here drops the copy at once). */
export function activeEndpoints(db: Db | Tx): Promise<ActiveEndpoint[]> {
  return kept.get(db);
}

export function invalidateEndpointCache(): void {
  kept.drop();
}

onCacheNotice('webhooks', invalidateEndpointCache);

/** A new signing secret: 32 random bytes, prefixed so that it is recognisable in a config file. */
export const newSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

function checkInput(input: EndpointInput): { url: string; description: string; events: WebhookEvent[]; active: boolean } {
  const errors: Record<string, string> = {};
  const url = input.url.trim();
  const problem = url.length > 2000 ? 'The address is too long (2,000 characters at most).' : urlProblem(url);
  if (problem) errors.url = problem;
  const description = input.description.trim();
  if (description.length > 500) errors.description = 'Keep the description under 500 characters.';
  const unknown = input.events.filter((e) => !isWebhookEvent(e));
  if (unknown.length) errors.events = 'Choose among the events listed.';
  const events = WEBHOOK_EVENTS.filter((e) => input.events.includes(e));
  if (events.length === 0 && !errors.events) errors.events = 'Choose at least one event.';
  if (Object.keys(errors).length) throw new ValidationError('Please check the fields marked below.', errors);
  return { url, description, events, active: input.active };
}

/** Registers an endpoint; returns it with its secret (the only time the secret is shown). */
export async function createEndpoint(ctx: ServiceContext, input: EndpointInput): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  assertCan(ctx.actor, 'webhook.manage');
  const data = checkInput(input);
  const secret = newSecret();
  const endpoint = await ctx.db.$transaction(async (tx) => {
    const e = await tx.webhookEndpoint.create({ data: { ...data, secret, createdById: ctx.actor.id } });
    await tx.webhookEndpointHistory.create({ data: { endpointId: e.id, actorId: ctx.actor.id, action: 'CREATED', newValue: `${e.url} (${e.events.join(', ')})` } });
    return e;
  });
  invalidateEndpointCache();
  return { endpoint, secret };
}

async function current(tx: Tx, id: number): Promise<WebhookEndpoint> {
  const e = await tx.webhookEndpoint.findUnique({ where: { id } });
  if (!e || e.deletedAt) throw new NotFoundError('No such webhook endpoint.');
  return e;
}

/** Edits an endpoint from a form of `version`: a history row per changed field. */
export async function updateEndpoint(ctx: ServiceContext, id: number, version: number, input: EndpointInput): Promise<WebhookEndpoint> {
  assertCan(ctx.actor, 'webhook.manage');
  const data = checkInput(input);
  const endpoint = await ctx.db.$transaction(async (tx) => {
    const before = await current(tx, id);
    if (before.version !== version) throw new ConflictError('The endpoint was changed by someone else meanwhile.', before.version);
    const { count } = await tx.webhookEndpoint.updateMany({ where: { id, version }, data: { ...data, version: version + 1, updatedAt: new Date() } });
    if (count === 0) throw new ConflictError('The endpoint was changed by someone else meanwhile.');
    const rows: { action: 'CHANGED' | 'ACTIVATED' | 'DEACTIVATED'; field: string | null; oldValue: string | null; newValue: string | null }[] = [];
    if (before.url !== data.url) rows.push({ action: 'CHANGED', field: 'url', oldValue: before.url, newValue: data.url });
    if (before.description !== data.description) rows.push({ action: 'CHANGED', field: 'description', oldValue: before.description, newValue: data.description });
    if (before.events.join(',') !== data.events.join(',')) rows.push({ action: 'CHANGED', field: 'events', oldValue: before.events.join(', '), newValue: data.events.join(', ') });
    if (before.active !== data.active) rows.push({ action: data.active ? 'ACTIVATED' : 'DEACTIVATED', field: 'active', oldValue: String(before.active), newValue: String(data.active) });
    if (rows.length) await tx.webhookEndpointHistory.createMany({ data: rows.map((r) => ({ ...r, endpointId: id, actorId: ctx.actor.id })) });
    return tx.webhookEndpoint.findUniqueOrThrow({ where: { id } });
  });
  invalidateEndpointCache();
  return endpoint;
}

/** Replaces the signing secret (at once: the next attempt is signed with the new one). */
export async function rollSecret(ctx: ServiceContext, id: number): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  assertCan(ctx.actor, 'webhook.manage');
  const secret = newSecret();
  const endpoint = await ctx.db.$transaction(async (tx) => {
    const before = await current(tx, id);
    const e = await tx.webhookEndpoint.update({ where: { id }, data: { secret, version: before.version + 1, updatedAt: new Date() } });
    await tx.webhookEndpointHistory.create({ data: { endpointId: id, actorId: ctx.actor.id, action: 'SECRET_ROLLED', field: 'secret' } });
    return e;
  });
  return { endpoint, secret };
}

/** Deletes an endpoint: hidden, inactive, sends nothing more; its deliveries and history stay. */
export async function deleteEndpoint(ctx: ServiceContext, id: number): Promise<void> {
  assertCan(ctx.actor, 'webhook.manage');
  await ctx.db.$transaction(async (tx) => {
    const before = await current(tx, id);
    await tx.webhookEndpoint.update({ where: { id }, data: { deletedAt: new Date(), active: false, version: before.version + 1, updatedAt: new Date() } });
    await tx.webhookEndpointHistory.create({ data: { endpointId: id, actorId: ctx.actor.id, action: 'DELETED', oldValue: before.url } });
  });
  invalidateEndpointCache();
}

/** The endpoints (not deleted), newest first, with their last delivery's state. */
export async function listEndpoints(ctx: ServiceContext) {
  assertCan(ctx.actor, 'webhook.manage');
  return ctx.db.webhookEndpoint.findMany({
    where: { deletedAt: null },
    orderBy: { id: 'desc' },
    select: {
      id: true, url: true, description: true, events: true, active: true, createdAt: true,
      deliveries: { take: 1, orderBy: { id: 'desc' }, select: { state: true, responseStatus: true, createdAt: true } },
    },
  });
}

export const LOG_PAGE_SIZE = 25;

/** One endpoint, its history, and a page of its delivery log (newest first, keyset: ids below `before`). */
export async function getEndpointPage(ctx: ServiceContext, id: number, before?: number) {
  assertCan(ctx.actor, 'webhook.manage');
  const endpoint = await ctx.db.webhookEndpoint.findUnique({
    where: { id },
    omit: { secret: true },
    include: { history: { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: 50, include: { actor: { select: { name: true } } } } },
  });
  if (!endpoint || endpoint.deletedAt) throw new NotFoundError('No such webhook endpoint.');
  const rows = await ctx.db.webhookDelivery.findMany({
    where: { endpointId: id, ...(before ? { id: { lt: before } } : {}) },
    orderBy: { id: 'desc' },
    take: LOG_PAGE_SIZE + 1,
    omit: { body: true },
    include: { resentBy: { select: { name: true } }, attemptLog: { orderBy: { id: 'asc' } } },
  });
  const more = rows.length > LOG_PAGE_SIZE;
  const deliveries = rows.slice(0, LOG_PAGE_SIZE);
  return { endpoint, deliveries, nextBefore: more ? deliveries[deliveries.length - 1]!.id : null };
}
