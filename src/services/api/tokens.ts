// API tokens: what a program shows the REST API (`Authorization: Bearer cbt_…`) to act as a user.
// A personal token acts as the person who made it; a service token (admins) acts as a service
// account made for it (src/services/users/service-users.ts), with the role the admin chose.
// The token is shown once; only the SHA-256 of it is stored (a 256-bit random secret needs no
// slow password hash: nobody can guess it, so a fast hash loses nothing and costs nothing per call).
// Making and revoking a token are recorded in ApiTokenHistory (append-only).
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../../db/client.js';
import { ROLES, type Role } from '../../domain/enums.js';
import type { Actor, ServiceContext } from '../context.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { assertCan, can } from '../policy.js';
import { createServiceUser } from '../users/service-users.js';
import { grantableScopes, isScope, SCOPES, type Scope } from './scopes.js';

export const TOKEN_PREFIX = 'cbt_';
/** Characters of the token kept in clear to tell tokens apart ("cbt_" and 8 more). */
export const PREFIX_LENGTH = 12;
/** The expiries offered, in days (a token always expires). */
export const EXPIRY_DAYS = [7, 30, 90, 365] as const;
export const MAX_EXPIRY_DAYS = 365;
/** A token's last use is written at most this often (not once per request). */
export const LAST_USE_EVERY_MS = 60_000;

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

export interface NewToken {
  name: string;
  scopes: readonly string[];
  expiresInDays: number;
}

export interface TokenLine {
  id: number;
  name: string;
  prefix: string;
  scopes: string[];
  expiresAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
  user: { id: number; name: string; kind: 'PERSON' | 'SERVICE'; role: Role };
  createdBy: { id: number; name: string };
  /** Neither revoked nor expired. */
  usable: boolean;
}

/** A program holding a token cannot make or revoke tokens with it: tokens are managed in the browser. */
function assertInBrowser(actor: Actor): void {
  if (actor.token) throw new ForbiddenError('API tokens are managed on the profile and admin pages, not through the API.');
}

function checkToken(input: NewToken, role: Role): { name: string; scopes: Scope[]; expiresAt: Date } {
  const name = input.name.trim();
  const errors: Record<string, string> = {};
  if (!name || name.length > 120) errors.name = 'Enter a name of 1 to 120 characters (what the token is for).';
  const allowed = grantableScopes(role);
  const scopes = [...new Set(input.scopes)];
  if (scopes.length === 0) errors.scopes = 'Choose at least one scope.';
  else if (scopes.some((s) => !isScope(s) || !allowed.includes(s))) errors.scopes = `Choose among: ${allowed.join(', ')}.`;
  const days = input.expiresInDays;
  if (!Number.isInteger(days) || days < 1 || days > MAX_EXPIRY_DAYS) errors.expiresInDays = `Choose an expiry of 1 to ${MAX_EXPIRY_DAYS} days.`;
  if (Object.keys(errors).length > 0) throw new ValidationError('Please correct the token’s details.', errors);
  return { name, scopes: scopes as Scope[], expiresAt: new Date(Date.now() + days * 86_400_000) };
}

function newSecret(): { token: string; prefix: string; tokenHash: string } {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { token, prefix: token.slice(0, PREFIX_LENGTH), tokenHash: hashToken(token) };
}

/** A personal token: acts as its maker, with the scopes they choose (within their role's). */
export async function createPersonalToken(ctx: ServiceContext, input: NewToken): Promise<{ id: number; token: string }> {
  assertCan(ctx.actor, 'token.own');
  assertInBrowser(ctx.actor);
  const { name, scopes, expiresAt } = checkToken(input, ctx.actor.role);
  const secret = newSecret();
  const created = await ctx.db.$transaction(async (tx) => {
    const t = await tx.apiToken.create({
      data: { name, scopes, expiresAt, prefix: secret.prefix, tokenHash: secret.tokenHash, userId: ctx.actor.id, createdById: ctx.actor.id },
    });
    await tx.apiTokenHistory.create({
      data: { tokenId: t.id, actorId: ctx.actor.id, action: 'CREATED', newValue: JSON.stringify({ name, scopes, expiresAt, user: ctx.actor.name }) },
    });
    return t;
  });
  return { id: created.id, token: secret.token };
}

/**
 * A service token (admins): a new service account with the chosen role (named like the token)
 * and a token acting as it.
 */
export async function createServiceToken(ctx: ServiceContext, input: NewToken & { role: string }): Promise<{ id: number; token: string; userId: number }> {
  assertCan(ctx.actor, 'token.manage');
  assertInBrowser(ctx.actor);
  const role = (ROLES as readonly string[]).includes(input.role) ? (input.role as Role) : null;
  if (!role) throw new ValidationError('Choose the role the service account acts with.', { role: 'Choose a role.' });
  const { name, scopes, expiresAt } = checkToken(input, role);
  const secret = newSecret();
  const created = await ctx.db.$transaction(async (tx) => {
    const user = await createServiceUser(tx, { name, role, createdById: ctx.actor.id });
    const t = await tx.apiToken.create({
      data: { name, scopes, expiresAt, prefix: secret.prefix, tokenHash: secret.tokenHash, userId: user.id, createdById: ctx.actor.id },
    });
    await tx.apiTokenHistory.create({
      data: { tokenId: t.id, actorId: ctx.actor.id, action: 'CREATED', newValue: JSON.stringify({ name, scopes, expiresAt, user: user.name, role, service: true }) },
    });
    return { id: t.id, userId: user.id };
  });
  return { ...created, token: secret.token };
}

/** Revoke a token: one's own, or (admins) anyone's. Revoking a revoked token changes nothing. */
export async function revokeToken(ctx: ServiceContext, tokenId: number): Promise<void> {
  assertCan(ctx.actor, 'token.own');
  assertInBrowser(ctx.actor);
  await ctx.db.$transaction(async (tx) => {
    const [t] = await tx.$queryRaw<{ id: number; userId: number; revokedAt: Date | null }[]>`
      SELECT id, "userId", "revokedAt" FROM "ApiToken" WHERE id = ${tokenId} FOR UPDATE`;
    // Someone else's token is "not found" to a non-admin: its existence is none of their business.
    if (!t || (t.userId !== ctx.actor.id && !can(ctx.actor, 'token.manage'))) throw new NotFoundError('There is no such token.');
    if (t.revokedAt) return;
    await tx.apiToken.update({ where: { id: t.id }, data: { revokedAt: new Date(), revokedById: ctx.actor.id } });
    await tx.apiTokenHistory.create({ data: { tokenId: t.id, actorId: ctx.actor.id, action: 'CHANGED', field: 'revoked', newValue: 'revoked' } });
  });
}

const LINE_SELECT = {
  id: true,
  name: true,
  prefix: true,
  scopes: true,
  expiresAt: true,
  revokedAt: true,
  lastUsedAt: true,
  createdAt: true,
  user: { select: { id: true, name: true, kind: true, role: true } },
  createdBy: { select: { id: true, name: true } },
} as const;

const line = (now: number) => (t: Omit<TokenLine, 'usable'>): TokenLine => ({ ...t, usable: !t.revokedAt && t.expiresAt.getTime() > now });

/** The actor's own tokens, newest first (at most 200). */
export async function listOwnTokens(ctx: ServiceContext): Promise<TokenLine[]> {
  assertCan(ctx.actor, 'token.own');
  const rows = await ctx.db.apiToken.findMany({ where: { userId: ctx.actor.id }, select: LINE_SELECT, orderBy: { id: 'desc' }, take: 200 });
  return rows.map(line(Date.now()));
}

/** Everyone's tokens (admins), newest first (at most 500). */
export async function listAllTokens(ctx: ServiceContext): Promise<TokenLine[]> {
  assertCan(ctx.actor, 'token.manage');
  const rows = await ctx.db.apiToken.findMany({ select: LINE_SELECT, orderBy: { id: 'desc' }, take: 500 });
  return rows.map(line(Date.now()));
}

export const scopeLabels = SCOPES;

/**
 * The actor a bearer token stands for, or null (unknown, revoked, expired, or its user
 * deactivated). The last use is written only when the stored one is a minute old or more, by a
 * conditional UPDATE: at most one write per token per minute, whichever instance serves it.
 */
export async function authenticateToken(db: Db, token: string): Promise<Actor | null> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 100) return null;
  const rows = await db.$queryRaw<
    { id: number; name: string; scopes: string[]; lastUsedAt: Date | null; userId: number; userName: string; email: string; role: Role }[]
  >`SELECT t.id, t.name, t.scopes, t."lastUsedAt", u.id AS "userId", u.name AS "userName", u.email, u.role::text AS role
    FROM "ApiToken" t JOIN "User" u ON u.id = t."userId"
    WHERE t."tokenHash" = ${hashToken(token)} AND t."revokedAt" IS NULL AND t."expiresAt" > now() AND u.active`;
  const t = rows[0];
  if (!t) return null;
  if (!t.lastUsedAt || Date.now() - t.lastUsedAt.getTime() >= LAST_USE_EVERY_MS) {
    await db.$executeRaw`UPDATE "ApiToken" SET "lastUsedAt" = now()
      WHERE id = ${t.id} AND ("lastUsedAt" IS NULL OR "lastUsedAt" <= now() - interval '1 minute')`;
  }
  return { id: t.userId, role: t.role, name: t.userName, email: t.email, token: { id: t.id, name: t.name, scopes: t.scopes } };
}
