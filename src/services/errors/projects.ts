// Error-reporting projects: an application that reports its exceptions, the team its problems'
// tickets go to, the urgency of a new problem, the customer the tickets are for, and the service
// account that creates and reopens them ("Checkout app" in the history). Admins manage them.
// The key is random, shown once (as a DSN), kept only as its SHA-256.
import { createHash, randomBytes } from 'node:crypto';
import type { Db, Tx } from '../../db/client.js';
import type { Urgency } from '../../domain/enums.js';
import { URGENCY_LABEL } from '../../domain/enums.js';
import { asciiDomain, emailSkeleton } from '../../domain/email-address.js';
import type { ErrorProject } from '../../generated/prisma/client.js';
import type { Actor, ServiceContext } from '../context.js';
import { NotFoundError, ValidationError, ConflictError } from '../errors.js';
import { assertCan } from '../policy.js';
import { createServiceUser } from '../users/service-users.js';

export interface ErrorProjectInput {
  name: string;
  teamId: number;
  urgency: Urgency;
  /** Events per minute accepted for its key (null: the configured default). */
  perMinute: number | null;
}

export interface NewErrorProject extends ErrorProjectInput {
  customerName: string;
  customerEmail: string;
}

export const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex');
const newKey = () => randomBytes(16).toString('hex');

/** The DSN an SDK is configured with: `https://<key>@<host>[/path]/<projectId>`. */
export function dsnFor(baseUrl: string, key: string, projectId: number): string {
  const u = new URL(baseUrl);
  return `${u.protocol}//${key}@${u.host}${u.pathname.replace(/\/+$/, '')}/${projectId}`;
}

// Keys looked up by the intake are kept a few seconds per process (every event asks): a change
// on this instance drops them at once, one on another instance is seen within KEY_TTL_MS.
const KEY_TTL_MS = 5000;
const keys = new Map<string, { at: number; project: ErrorProject | null }>();
const dropKeys = () => keys.clear();

/** The project whose key this is (null: no such key), as the intake authenticates. */
export async function projectByKey(db: Db, key: string): Promise<ErrorProject | null> {
  const hash = hashKey(key);
  const kept = keys.get(hash);
  if (kept && Date.now() - kept.at < KEY_TTL_MS) return kept.project;
  const project = await db.errorProject.findUnique({ where: { keyHash: hash } });
  if (keys.size > 1000) keys.clear();
  keys.set(hash, { at: Date.now(), project });
  return project;
}

function checkInput(input: ErrorProjectInput): { name: string } {
  const name = input.name.trim();
  const errors: Record<string, string> = {};
  if (!name || name.length > 120) errors.name = 'Enter a name of 1 to 120 characters.';
  if (input.perMinute !== null && (!Number.isInteger(input.perMinute) || input.perMinute < 1 || input.perMinute > 1_000_000)) {
    errors.perMinute = 'Enter a whole number from 1 to 1,000,000, or leave it empty.';
  }
  if (Object.keys(errors).length) throw new ValidationError('Check the highlighted fields.', errors);
  return { name };
}

async function requireTeam(tx: Tx, teamId: number): Promise<void> {
  if (!(await tx.team.findUnique({ where: { id: teamId }, select: { id: true } }))) {
    throw new ValidationError('That team does not exist.', { teamId: 'Choose a team from the list.' });
  }
}

/** The customer on record with this address (following merges), or a new one. */
async function customerFor(tx: Tx, name: string, email: string): Promise<number> {
  const address = email.trim().toLowerCase();
  const errors: Record<string, string> = {};
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(address) || address.length > 254) errors.customerEmail = 'Enter an email address.';
  if (!name.trim() || name.trim().length > 120) errors.customerName = 'Enter a name of 1 to 120 characters.';
  if (Object.keys(errors).length) throw new ValidationError('Check the highlighted fields.', errors);
  let found = await tx.customer.findUnique({ where: { email: address }, select: { id: true, mergedIntoId: true } });
  for (let i = 0; found?.mergedIntoId && i < 50; i++) {
    found = await tx.customer.findUnique({ where: { id: found.mergedIntoId }, select: { id: true, mergedIntoId: true } });
  }
  if (found) return found.id;
  // A new customer joins the organization whose domain the address has, as a ticket's new customer does (create-ticket.ts).
  const domain = await tx.organizationDomain.findUnique({
    where: { domain: asciiDomain(address.slice(address.lastIndexOf('@') + 1)).toLowerCase() },
    include: { organization: { select: { id: true, name: true } } },
  });
  const created = await tx.customer.create({
    data: { email: address, name: name.trim(), emailSkeleton: emailSkeleton(address), organizationId: domain?.organizationId ?? null },
  });
  if (domain) {
    await tx.customerHistory.create({ data: { action: 'LINKED', field: 'organization', newValue: domain.organization.name, newRefId: domain.organizationId, customerId: created.id, actorId: null } });
    await tx.organizationHistory.create({ data: { action: 'LINKED', field: 'customer', newValue: address, newRefId: created.id, organizationId: domain.organizationId, actorId: null } });
  }
  return created.id;
}

/**
 * A new project with its service account (named after it, a technician) and its key: the key is
 * returned this once (the caller shows it as a DSN), never stored.
 */
export async function createErrorProject(ctx: ServiceContext, input: NewErrorProject): Promise<{ project: ErrorProject; key: string }> {
  assertCan(ctx.actor, 'errors.manage');
  const { name } = checkInput(input);
  const key = newKey();
  const project = await ctx.db.$transaction(async (tx) => {
    await requireTeam(tx, input.teamId);
    const customerId = await customerFor(tx, input.customerName, input.customerEmail);
    const user = await createServiceUser(tx, { name, role: 'TECHNICIAN', createdById: ctx.actor.id });
    const created = await tx.errorProject.create({
      data: { name, keyHash: hashKey(key), keyPrefix: key.slice(0, 6), urgency: input.urgency, perMinute: input.perMinute, teamId: input.teamId, customerId, serviceUserId: user.id },
    });
    await tx.errorProjectHistory.create({
      data: {
        projectId: created.id,
        actorId: ctx.actor.id,
        action: 'CREATED',
        newValue: JSON.stringify({ name, teamId: input.teamId, urgency: input.urgency, customerId, perMinute: input.perMinute }),
      },
    });
    return created;
  });
  dropKeys();
  return { project, key };
}

async function lockProject(tx: Tx, id: number, version?: number): Promise<ErrorProject> {
  const [row] = await tx.$queryRaw<{ id: number }[]>`SELECT id FROM "ErrorProject" WHERE id = ${id} FOR NO KEY UPDATE`;
  if (!row) throw new NotFoundError('No such error-reporting project.');
  const project = await tx.errorProject.findUniqueOrThrow({ where: { id } });
  if (version !== undefined && project.version !== version) throw new ConflictError(`The project ${project.name} was changed by someone else meanwhile: look at it again.`, project.version);
  return project;
}

/** Name, team, urgency, throttle and active: one history row per changed field. */
export async function updateErrorProject(
  ctx: ServiceContext,
  id: number,
  version: number,
  input: ErrorProjectInput & { active: boolean },
): Promise<ErrorProject> {
  assertCan(ctx.actor, 'errors.manage');
  const { name } = checkInput(input);
  const updated = await ctx.db.$transaction(async (tx) => {
    const before = await lockProject(tx, id, version);
    await requireTeam(tx, input.teamId);
    const after = { name, teamId: input.teamId, urgency: input.urgency, perMinute: input.perMinute, active: input.active };
    const changed = (Object.keys(after) as (keyof typeof after)[]).filter((f) => String(before[f]) !== String(after[f]));
    if (changed.length === 0) return before;
    const project = await tx.errorProject.update({ where: { id }, data: { ...after, version: { increment: 1 }, updatedAt: new Date() } });
    if (changed.includes('name')) await tx.user.update({ where: { id: before.serviceUserId }, data: { name } });
    await tx.errorProjectHistory.createMany({
      data: changed.map((field) => ({
        projectId: id,
        actorId: ctx.actor.id,
        action: 'CHANGED' as const,
        field,
        oldValue: before[field] === null ? null : String(before[field]),
        newValue: after[field] === null ? null : String(after[field]),
      })),
    });
    return project;
  });
  dropKeys();
  return updated;
}

/** A new key (the old one stops working at once on this instance, within seconds on others); returned once. */
export async function rollErrorProjectKey(ctx: ServiceContext, id: number): Promise<{ project: ErrorProject; key: string }> {
  assertCan(ctx.actor, 'errors.manage');
  const key = newKey();
  const project = await ctx.db.$transaction(async (tx) => {
    const before = await lockProject(tx, id);
    const project = await tx.errorProject.update({ where: { id }, data: { keyHash: hashKey(key), keyPrefix: key.slice(0, 6), version: { increment: 1 }, updatedAt: new Date() } });
    await tx.errorProjectHistory.create({
      data: { projectId: id, actorId: ctx.actor.id, action: 'CHANGED', field: 'key', oldValue: `${before.keyPrefix}…`, newValue: `${project.keyPrefix}…` },
    });
    return project;
  });
  dropKeys();
  return { project, key };
}

export interface ProjectRow {
  id: number;
  name: string;
  active: boolean;
  keyPrefix: string;
  team: string;
  teamId: number;
  urgency: Urgency;
  urgencyLabel: string;
  perMinute: number | null;
  customer: string;
  serviceUser: string;
  version: number;
  problems: number;
}

/** Every project, for the admin page (technicians may read it too: it links to the problems). */
export async function listErrorProjects(ctx: ServiceContext): Promise<ProjectRow[]> {
  assertCan(ctx.actor, 'errors.read');
  const rows = await ctx.db.errorProject.findMany({
    orderBy: { name: 'asc' },
    include: { team: { select: { name: true } }, customer: { select: { name: true, email: true } }, serviceUser: { select: { name: true } }, _count: { select: { problems: true } } },
  });
  return rows.map((p) => ({
    id: p.id,
    name: p.name,
    active: p.active,
    keyPrefix: p.keyPrefix,
    team: p.team.name,
    teamId: p.teamId,
    urgency: p.urgency,
    urgencyLabel: URGENCY_LABEL[p.urgency],
    perMinute: p.perMinute,
    customer: `${p.customer.name} <${p.customer.email}>`,
    serviceUser: p.serviceUser.name,
    version: p.version,
    problems: p._count.problems,
  }));
}

export async function findErrorProject(ctx: ServiceContext, id: number): Promise<ProjectRow> {
  const row = (await listErrorProjects(ctx)).find((p) => p.id === id);
  if (!row) throw new NotFoundError('No such error-reporting project.');
  return row;
}

/** The actor a project's service account acts as (history: "done by Checkout app"). */
export async function serviceActor(tx: Tx, project: ErrorProject): Promise<Actor> {
  const user = await tx.user.findUniqueOrThrow({ where: { id: project.serviceUserId }, select: { id: true, name: true, email: true, role: true } });
  return { id: user.id, name: user.name, email: user.email, role: user.role };
}
