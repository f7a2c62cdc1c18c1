// Run books: write, propose new versions, publish, archive. Like articles (knowledge/*): admins
// write and publish; technicians propose (a draft version an admin publishes). Every version is
// kept; a published version and every step never change (the database refuses it), so a ticket
// worked with version 2 keeps version 2 whatever is published later. Every change is in the run
// book's append-only history — never a secret.
import type { Tx } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { Runbook, RunbookCheckKind, RunbookStatus } from '../../generated/prisma/client.js';
import type { Actor, ServiceContext } from '../context.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { assertCan, can } from '../policy.js';
import { requireText } from '../tickets/rules.js';
import { urlProblem } from '../outgoing/signed-request.js';
import { invalidatePublishedRunbooks } from './read-runbooks.js';

export const MAX_STEPS = 30;
export const MAX_INSTRUCTIONS = 20_000;
export const SECRET_MIN = 16;
export const SECRET_MAX = 200;

export interface StepInput {
  title: string;
  instructions: string;
  checkKind: RunbookCheckKind;
  checkLabel?: string | null;
  isFix: boolean;
  articleId?: number | null;
  automationUrl?: string | null;
  /** A new signing secret (admins only); empty: keep the one of the step it was written from. */
  secret?: string | null;
  /** The step (of an earlier version of this run book) this one was written from: its secret carries over. */
  fromStepId?: number | null;
}

export interface RunbookDetails {
  title: string;
  summary?: string | null;
  category?: string | null;
  keywords?: readonly string[];
}

export interface VersionInput {
  steps: readonly StepInput[];
  note?: string | null;
  /** Publish at once (admins). */
  publish?: boolean;
}

/** Keywords: trimmed, lower-case, unique, at most 20 of at most 40 characters (as article tags). */
export function normalizeKeywords(words: readonly string[]): string[] {
  const out = [...new Set(words.map((t) => t.trim().toLowerCase()).filter(Boolean))];
  if (out.length > 20) throw new ValidationError('At most 20 keywords.', { keywords: 'At most 20 keywords.' });
  if (out.some((t) => t.length > 40)) throw new ValidationError('A keyword can be at most 40 characters.', { keywords: 'A keyword can be at most 40 characters.' });
  return out;
}

function details(input: RunbookDetails) {
  const title = requireText(input.title, 'title', 'A title');
  if (title.length > 200) throw new ValidationError('A title can be at most 200 characters.', { title: 'At most 200 characters.' });
  return {
    title,
    summary: input.summary?.trim() ?? '',
    category: input.category?.trim() || null,
    keywords: normalizeKeywords(input.keywords ?? []),
  };
}

/** Field names of step i's inputs, as the form names them (errors are shown beside them). */
export const stepField = (i: number, name: string) => `s${i}_${name}`;

interface CheckedStep {
  position: number;
  title: string;
  instructions: string;
  checkKind: RunbookCheckKind;
  checkLabel: string | null;
  isFix: boolean;
  articleId: number | null;
  automationUrl: string | null;
  secret: string | null;
  fromStepId: number | null;
}

/** Each step's rules, checked before anything is written; errors name the step's field. */
function checkSteps(steps: readonly StepInput[]): CheckedStep[] {
  if (steps.length === 0) throw new ValidationError('A run book needs at least one step.', { steps: 'Add a step.' });
  if (steps.length > MAX_STEPS) throw new ValidationError(`A run book has at most ${MAX_STEPS} steps.`, { steps: `At most ${MAX_STEPS} steps.` });
  const errors: Record<string, string> = {};
  const out = steps.map((s, i): CheckedStep => {
    const f = (name: string) => stepField(i, name);
    const title = s.title.trim();
    if (!title) errors[f('title')] = 'A step needs a title.';
    else if (title.length > 200) errors[f('title')] = 'At most 200 characters.';
    if (s.instructions.length > MAX_INSTRUCTIONS) errors[f('instructions')] = `At most ${MAX_INSTRUCTIONS.toLocaleString('en')} characters.`;
    const checkLabel = s.checkKind === 'NONE' ? null : (s.checkLabel?.trim() ?? '');
    if (checkLabel === '') errors[f('checkLabel')] = 'Say what to record (e.g. “Disk space free”).';
    else if (checkLabel && checkLabel.length > 200) errors[f('checkLabel')] = 'At most 200 characters.';
    const automationUrl = s.automationUrl?.trim() || null;
    if (automationUrl) {
      const problem = automationUrl.length > 2000 ? 'At most 2,000 characters.' : urlProblem(automationUrl);
      if (problem) errors[f('automationUrl')] = problem;
    }
    const secret = s.secret?.trim() || null;
    if (secret && !automationUrl) errors[f('secret')] = 'A secret goes with an automation address.';
    if (secret && (secret.length < SECRET_MIN || secret.length > SECRET_MAX)) {
      errors[f('secret')] = `The secret must be ${SECRET_MIN} to ${SECRET_MAX} characters.`;
    }
    return {
      position: i + 1,
      title,
      instructions: s.instructions.replace(/\r\n/g, '\n').trimEnd(),
      checkKind: s.checkKind,
      checkLabel,
      isFix: s.isFix,
      articleId: s.articleId ?? null,
      automationUrl,
      secret,
      fromStepId: s.fromStepId ?? null,
    };
  });
  if (Object.keys(errors).length) throw new ValidationError('Please check the steps marked below.', errors);
  return out;
}

async function findRunbook(tx: Tx, id: number, lock = false): Promise<Runbook> {
  if (lock) await tx.$executeRaw`SELECT 1 FROM "Runbook" WHERE id = ${id} FOR NO KEY UPDATE`;
  const rb = await tx.runbook.findUnique({ where: { id } });
  if (!rb) throw new NotFoundError('No such run book.');
  return rb;
}

async function history(tx: Tx, actor: Actor, runbookId: number, rows: { action: 'CREATED' | 'CHANGED'; field?: string; oldValue?: string | null; newValue?: string | null }[], at = new Date()) {
  if (rows.length === 0) return;
  await tx.runbookHistory.createMany({
    data: rows.map((r) => ({ runbookId, actorId: actor.id, action: r.action, field: r.field ?? null, oldValue: r.oldValue ?? null, newValue: r.newValue ?? null, createdAt: at })),
  });
}

const titleTaken = (title: string) =>
  new ValidationError(`A run book called “${title}” exists already (titles are unique, whatever their case).`, { title: 'Another run book has this title.' });

/**
 * Writes a version's steps: articles must be published; automations are set by admins (a
 * technician's proposal keeps a step's automation as it was, from the step it was written from);
 * a new secret is stored once, and a step without one reuses its earlier step's secret.
 */
async function writeVersion(tx: Tx, actor: Actor, rb: Runbook, steps: CheckedStep[], input: { note: string | null; baseNumber: number | null }) {
  const admin = can(actor, 'runbook.manage');
  const errors: Record<string, string> = {};
  const fromIds = steps.map((s) => s.fromStepId).filter((v): v is number => v !== null);
  const earlier = fromIds.length
    ? await tx.runbookStep.findMany({ where: { id: { in: fromIds }, version: { runbookId: rb.id } }, select: { id: true, automationUrl: true, automationSecretId: true } })
    : [];
  const byId = new Map(earlier.map((s) => [s.id, s]));
  const articleIds = [...new Set(steps.map((s) => s.articleId).filter((v): v is number => v !== null))];
  const published = new Set(
    (await tx.article.findMany({ where: { id: { in: articleIds }, status: 'PUBLISHED' }, select: { id: true } })).map((a) => a.id),
  );
  const resolved = steps.map((s, i) => {
    const from = s.fromStepId !== null ? byId.get(s.fromStepId) : undefined;
    if (s.articleId !== null && !published.has(s.articleId)) errors[stepField(i, 'articleId')] = 'Choose a published article.';
    const keeps = !!from && from.automationUrl === s.automationUrl && !s.secret;
    if (!admin && s.automationUrl !== null && !keeps) errors[stepField(i, 'automationUrl')] = 'Only an admin can set a step’s automation.';
    if (!admin && s.automationUrl === null && s.secret) errors[stepField(i, 'secret')] = 'Only an admin can set a step’s automation.';
    if (s.automationUrl !== null && !s.secret && !from?.automationSecretId) errors[stepField(i, 'secret')] = 'Enter the secret the requests are signed with.';
    return { s, secretId: s.automationUrl === null ? null : (from?.automationSecretId ?? null) };
  });
  if (Object.keys(errors).length) throw new ValidationError('Please check the steps marked below.', errors);

  const last = await tx.runbookVersion.aggregate({ where: { runbookId: rb.id }, _max: { number: true } });
  const number = (last._max.number ?? 0) + 1;
  const version = await tx.runbookVersion.create({ data: { runbookId: rb.id, number, note: input.note, baseNumber: input.baseNumber, authorId: actor.id } });
  for (const { s, secretId } of resolved) {
    let useSecret = secretId;
    if (s.automationUrl !== null && s.secret) {
      useSecret = (await tx.runbookSecret.create({ data: { runbookId: rb.id, secret: s.secret } })).id;
    }
    await tx.runbookStep.create({
      data: {
        versionId: version.id,
        position: s.position,
        title: s.title,
        instructions: s.instructions,
        checkKind: s.checkKind,
        checkLabel: s.checkLabel,
        isFix: s.isFix,
        articleId: s.articleId,
        automationUrl: s.automationUrl,
        automationSecretId: useSecret,
      },
    });
  }
  const secrets = resolved.filter(({ s }) => s.automationUrl !== null && s.secret).map(({ s }) => s.position);
  await history(tx, actor, rb.id, [
    {
      action: 'CREATED',
      field: 'version',
      newValue: `version ${number}${input.baseNumber ? ` (from version ${input.baseNumber})` : ''}, ${steps.length} step${steps.length === 1 ? '' : 's'}${input.note ? `: ${input.note}` : ''}`,
    },
    // That a secret was set, never the secret.
    ...secrets.map((p) => ({ action: 'CHANGED' as const, field: 'secret', newValue: `a new automation secret for step ${p}` })),
  ]);
  return version;
}

/** Publishes a draft version: it becomes the one new attachments get; tickets keep theirs. */
async function publishIn(tx: Tx, actor: Actor, rb: Runbook, versionId: number) {
  const v = await tx.runbookVersion.findUnique({ where: { id: versionId } });
  if (!v || v.runbookId !== rb.id) throw new NotFoundError('No such version of this run book.');
  if (v.status === 'PUBLISHED') throw new ValidationError(`Version ${v.number} is published already.`);
  const current = rb.currentVersionId ? await tx.runbookVersion.findUnique({ where: { id: rb.currentVersionId } }) : null;
  // A version written from an older one would silently undo what was published since.
  if (current && v.baseNumber !== current.number) {
    throw new ConflictError(`Version ${v.number} was written from ${v.baseNumber ? `version ${v.baseNumber}` : 'nothing'}, and version ${current.number} has been published since: write it again from version ${current.number}.`);
  }
  const now = new Date();
  await tx.runbookVersion.update({ where: { id: v.id }, data: { status: 'PUBLISHED', publishedAt: now, publishedById: actor.id } });
  const status: RunbookStatus = rb.status === 'ARCHIVED' ? 'ARCHIVED' : 'PUBLISHED';
  const { count } = await tx.runbook.updateMany({
    where: { id: rb.id, version: rb.version },
    data: { currentVersionId: v.id, status, version: rb.version + 1, updatedAt: now },
  });
  if (count === 0) throw new ConflictError(`“${rb.title}” was changed by someone else meanwhile.`);
  await history(tx, actor, rb.id, [
    { action: 'CHANGED', field: 'published', oldValue: current ? `version ${current.number}` : null, newValue: `version ${v.number}` },
    ...(status !== rb.status ? [{ action: 'CHANGED' as const, field: 'status', oldValue: rb.status, newValue: status }] : []),
  ], now);
  return { ...rb, currentVersionId: v.id, status, version: rb.version + 1 };
}

/**
 * A new run book with its first version. An admin's may be published at once; a technician's is
 * a proposal (a draft run book) for an admin to publish.
 */
export async function createRunbook(ctx: ServiceContext, input: RunbookDetails & VersionInput) {
  assertCan(ctx.actor, 'runbook.propose');
  if (input.publish) assertCan(ctx.actor, 'runbook.manage');
  const d = details(input);
  const steps = checkSteps(input.steps);
  const note = input.note?.trim().slice(0, 500) || null;
  try {
    return await published(ctx.db.$transaction(async (tx) => {
      const rb = await tx.runbook.create({ data: { ...d, titleKey: d.title.toLowerCase() } });
      await history(tx, ctx.actor, rb.id, [{ action: 'CREATED', newValue: JSON.stringify({ title: d.title, category: d.category }) }], rb.createdAt);
      const v = await writeVersion(tx, ctx.actor, rb, steps, { note, baseNumber: null });
      return input.publish ? publishIn(tx, ctx.actor, rb, v.id) : rb;
    }));
  } catch (err) {
    if (isUniqueViolation(err)) throw titleTaken(d.title);
    throw err;
  }
}

/**
 * A new version written from version `baseNumber`: a technician's is a proposal; an admin's may be
 * published at once (`publish`). An admin's form also changes the run book's details.
 */
export async function saveVersion(ctx: ServiceContext, runbookId: number, runbookVersion: number, baseNumber: number, input: VersionInput & { details?: RunbookDetails }) {
  assertCan(ctx.actor, 'runbook.propose');
  if (input.publish || input.details) assertCan(ctx.actor, 'runbook.manage');
  const d = input.details ? details(input.details) : null;
  const steps = checkSteps(input.steps);
  const note = input.note?.trim().slice(0, 500) || null;
  try {
    return await published(ctx.db.$transaction(async (tx) => {
      let rb = await findRunbook(tx, runbookId, true);
      assertCanSeeRunbook(ctx.actor, rb, await authoredBy(tx, rb.id, ctx.actor.id));
      if (rb.version !== runbookVersion) throw new ConflictError(`“${rb.title}” was changed by someone else meanwhile.`);
      const base = await tx.runbookVersion.findUnique({ where: { runbookId_number: { runbookId, number: baseNumber } } });
      if (!base) throw new NotFoundError('No such version of this run book.');
      if (d) rb = await changeDetails(tx, ctx.actor, rb, d);
      const v = await writeVersion(tx, ctx.actor, rb, steps, { note, baseNumber });
      if (input.publish) rb = await publishIn(tx, ctx.actor, rb, v.id);
      return { runbook: rb, version: v };
    }));
  } catch (err) {
    if (isUniqueViolation(err) && d) throw titleTaken(d.title);
    throw err;
  }
}

async function changeDetails(tx: Tx, actor: Actor, rb: Runbook, d: ReturnType<typeof details>): Promise<Runbook> {
  const show = (v: unknown) => (Array.isArray(v) ? v.join(', ') : v === null || v === undefined ? null : String(v));
  const changed = (['title', 'summary', 'category', 'keywords'] as const).filter((f) => show(d[f]) !== show(rb[f]));
  if (changed.length === 0) return rb;
  const now = new Date();
  const { count } = await tx.runbook.updateMany({ where: { id: rb.id, version: rb.version }, data: { ...d, titleKey: d.title.toLowerCase(), version: rb.version + 1, updatedAt: now } });
  if (count === 0) throw new ConflictError(`“${rb.title}” was changed by someone else meanwhile.`);
  await history(tx, actor, rb.id, changed.map((f) => ({ action: 'CHANGED' as const, field: f, oldValue: show(rb[f]), newValue: show(d[f]) })), now);
  return { ...rb, ...d, titleKey: d.title.toLowerCase(), version: rb.version + 1, updatedAt: now };
}

/** Publish a draft version (admins). */
export async function publishVersion(ctx: ServiceContext, runbookId: number, runbookVersion: number, number: number) {
  assertCan(ctx.actor, 'runbook.manage');
  return published(ctx.db.$transaction(async (tx) => {
    const rb = await findRunbook(tx, runbookId, true);
    if (rb.version !== runbookVersion) throw new ConflictError(`“${rb.title}” was changed by someone else meanwhile.`);
    const v = await tx.runbookVersion.findUnique({ where: { runbookId_number: { runbookId, number } } });
    if (!v) throw new NotFoundError('No such version of this run book.');
    return publishIn(tx, ctx.actor, rb, v.id);
  }));
}

/** Archive a published run book (no new attachments; attached ones are still worked), or restore it. */
export async function setRunbookStatus(ctx: ServiceContext, runbookId: number, runbookVersion: number, status: 'PUBLISHED' | 'ARCHIVED') {
  assertCan(ctx.actor, 'runbook.manage');
  return published(ctx.db.$transaction(async (tx) => {
    const rb = await findRunbook(tx, runbookId, true);
    if (rb.version !== runbookVersion) throw new ConflictError(`“${rb.title}” was changed by someone else meanwhile.`);
    if (rb.status === status) return rb;
    if (status === 'PUBLISHED' && !rb.currentVersionId) throw new ValidationError('Publish a version first.');
    if (status === 'ARCHIVED' && rb.status !== 'PUBLISHED') throw new ValidationError('Only a published run book can be archived.');
    const now = new Date();
    await tx.runbook.update({ where: { id: rb.id }, data: { status, version: rb.version + 1, updatedAt: now } });
    await history(tx, ctx.actor, rb.id, [{ action: 'CHANGED', field: 'status', oldValue: rb.status, newValue: status }], now);
    return { ...rb, status, version: rb.version + 1 };
  }));
}

/** After a change that may publish, rename or archive a run book: the kept list of published ones is read again. */
async function published<T>(change: Promise<T>): Promise<T> {
  const result = await change;
  invalidatePublishedRunbooks();
  return result;
}

/** Did this person write a version of the run book (their proposals are theirs to see)? */
export async function authoredBy(tx: Tx, runbookId: number, userId: number): Promise<boolean> {
  return (await tx.runbookVersion.count({ where: { runbookId, authorId: userId } })) > 0;
}

/** Admins see every run book; technicians published and archived ones, and drafts they proposed. */
export function assertCanSeeRunbook(actor: Actor, rb: Pick<Runbook, 'status'>, isAuthor: boolean): void {
  if (can(actor, 'runbook.manage') || rb.status !== 'DRAFT' || isAuthor) return;
  throw new NotFoundError('No such run book.');
}
