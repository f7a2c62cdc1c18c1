// Run book pages (/runbooks) and the run book actions of a ticket page (/tickets/:reference/runbooks…).
import { Router, type Request, type Response } from 'express';
import type { Database } from '../../db/client.js';
import { normalizeReference } from '../../domain/reference.js';
import type { Ticket } from '../../generated/prisma/client.js';
import type { ServiceContext } from '../../services/context.js';
import { SYSTEM_ACTORS, type SystemActorKey } from '../../services/context.js';
import { ConflictError, NotFoundError, ValidationError } from '../../services/errors.js';
import { can } from '../../services/policy.js';
import { createRunbook, MAX_STEPS, saveVersion, publishVersion, setRunbookStatus, stepField } from '../../services/runbooks/manage-runbooks.js';
import { attachableRunbooks, getRunbook, getRunbookVersion, searchRunbooks, suggestRunbooks } from '../../services/runbooks/read-runbooks.js';
import { attachRunbook, completeRunbookStep, runAutomationAgain, ticketRunbooks } from '../../services/runbooks/ticket-runbooks.js';
import { actorOf } from '../middleware/auth.js';
import { timeZoneOf } from '../middleware/locals.js';
import { doneIn, withDone } from '../confirmations.js';
import { fieldErrors, id } from '../schemas/common.js';
import {
  AttachRunbookForm,
  EditVersionForm,
  PublishVersionForm,
  RunbookDetailsForm,
  RunbookSearchQuery,
  RunbookStatusForm,
  StepDoneForm,
  VersionMetaForm,
  parseSteps,
  slotOf,
} from '../schemas/runbooks.js';
import type { Renderer } from '../rendering/renderer.js';
import { ago, when } from '../presenters/time.js';

type Body = Record<string, unknown>;

/** Step slots a form shows beyond the steps it has: room to add a few without JavaScript. */
const EXTRA_SLOTS = 2;

const paramId = (req: Request, name: string, what: string): number => {
  const parsed = id.safeParse(req.params[name]);
  if (!parsed.success) throw new NotFoundError(what);
  return parsed.data;
};

/** The service's errors name steps by their place among the kept steps: the form names them by slot. */
function toSlots(errors: Record<string, string>, slots: number[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, message] of Object.entries(errors)) {
    const m = /^s(\d+)_(\w+)$/.exec(key);
    const slot = m ? slots[Number(m[1])] : undefined;
    out[m && slot !== undefined ? stepField(slot, m[2]!) : key] = message;
  }
  return out;
}

/** A version's steps as form values (slot fields), for editing it into a new version. */
function stepValues(steps: { id: number; title: string; instructions: string; checkKind: string; checkLabel: string | null; isFix: boolean; articleId: number | null; automationUrl: string | null }[]): Body {
  const values: Body = {};
  steps.forEach((s, i) => {
    values[stepField(i, 'title')] = s.title;
    values[stepField(i, 'instructions')] = s.instructions;
    values[stepField(i, 'checkKind')] = s.checkKind;
    values[stepField(i, 'checkLabel')] = s.checkLabel ?? '';
    if (s.isFix) values[stepField(i, 'isFix')] = '1';
    values[stepField(i, 'articleId')] = s.articleId ?? '';
    values[stepField(i, 'automationUrl')] = s.automationUrl ?? '';
    values[stepField(i, 'from')] = s.id;
    values[stepField(i, 'order')] = i + 1;
  });
  return values;
}

export function runbookRoutes(db: Database, renderer: Renderer): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });
  const runbookId = (req: Request) => paramId(req, 'id', 'No such run book.');

  router.get('/', async (req, res) => {
    const parsed = RunbookSearchQuery.safeParse(req.query);
    const query = parsed.success ? parsed.data : {};
    const result = await searchRunbooks(ctx(req), query);
    const page = query.page ?? 0;
    const params = (p: number) => {
      const u = new URLSearchParams();
      if (query.q) u.set('q', query.q);
      if (query.status) u.set('status', query.status);
      if (p) u.set('page', String(p));
      return `/runbooks?${u.toString()}`;
    };
    res.status(parsed.success ? 200 : 400).render('runbooks/list', {
      title: 'Run books',
      query,
      hits: result.hits.map((h) => ({ ...h, updated: when(h.updatedAt, timeZoneOf(res)) })),
      prevUrl: page > 0 ? params(page - 1) : null,
      nextUrl: result.hasMore ? params(page + 1) : null,
      error: parsed.success ? null : Object.values(fieldErrors(parsed.error)).join(' '),
    });
  });

  interface FormView {
    values: Body;
    errors: Record<string, string>;
    message: string | null;
    slots: number;
    runbook?: { id: number; title: string; version: number };
    base?: number;
  }
  function renderForm(res: Response, status: number, view: FormView) {
    const title = view.runbook ? `Edit · ${view.runbook.title}` : 'New run book';
    res.status(status).render('runbooks/form', { title, maxSteps: MAX_STEPS, stepField, ...view });
  }
  /** Slots the re-rendered form keeps (what was sent), with room for more when asked. */
  const slotsOf = (body: Body, more: boolean) => {
    const sent = Math.min(Math.max(Number(body.slots) || 1, 1), MAX_STEPS);
    return Math.min(sent + (more ? 3 : 0), MAX_STEPS);
  };

  router.get('/new', (_req, res) => {
    renderForm(res, 200, { values: { s0_checkKind: 'NONE' }, errors: {}, message: null, slots: 3 });
  });

  router.post('/', async (req, res) => {
    const body = (req.body ?? {}) as Body;
    const more = body._more === '1';
    const details = RunbookDetailsForm.safeParse(body);
    const meta = VersionMetaForm.safeParse(body);
    const slots = meta.success ? Math.min(meta.data.slots, MAX_STEPS) : slotsOf(body, false);
    const { steps, errors: stepErrors } = parseSteps(body, slots);
    // "More step slots": the same form with more room; nothing is written.
    if (more) return renderForm(res, 200, { values: body, errors: {}, message: null, slots: slotsOf(body, true) });
    const errors = { ...(details.success ? {} : fieldErrors(details.error)), ...(meta.success ? {} : fieldErrors(meta.error)), ...stepErrors };
    if (!details.success || !meta.success || Object.keys(stepErrors).length) {
      return renderForm(res, 422, { values: body, errors, message: errors.slots ?? 'Please check the fields marked below (secrets must be entered again).', slots });
    }
    try {
      const rb = await createRunbook(ctx(req), { ...details.data, steps, note: meta.data.note, publish: meta.data.publish === '1' });
      res.redirect(303, withDone(`/runbooks/${rb.id}`, meta.data.publish ? 'runbook-published' : 'runbook-created'));
    } catch (err) {
      if (err instanceof ValidationError) {
        return renderForm(res, 422, { values: body, errors: toSlots(err.fieldErrors, slotOf(body, slots)), message: `${err.message} (Secrets must be entered again.)`, slots });
      }
      throw err;
    }
  });

  router.get('/:id', async (req, res) => {
    const c = ctx(req);
    const rb = await getRunbook(c, runbookId(req));
    const zone = timeZoneOf(res);
    const current = rb.currentVersion ? await getRunbookVersion(c, rb.id, rb.currentVersion.number) : null;
    const steps = current ? await Promise.all(current.steps.map(async (s) => ({ ...s, html: await renderer.markdown(s.instructions) }))) : [];
    res.render('runbooks/show', {
      title: rb.title,
      rb,
      current,
      steps,
      updated: when(rb.updatedAt, zone),
      versions: rb.versions.map((v) => ({ ...v, at: when(v.createdAt, zone) })),
      history: rb.history.map((h) => ({ ...h, at: when(h.createdAt, zone) })),
      done: doneIn(req, 'top'),
    });
  });

  /** Shows one version's steps (drafts: to admins and their author). */
  router.get('/:id/versions/:number', async (req, res) => {
    const number = paramId(req, 'number', 'No such version of this run book.');
    const v = await getRunbookVersion(ctx(req), runbookId(req), number);
    const steps = await Promise.all(v.steps.map(async (s) => ({ ...s, html: await renderer.markdown(s.instructions) })));
    res.render('runbooks/version', { title: `${v.runbook.title} · version ${v.number}`, v, steps, at: when(v.createdAt, timeZoneOf(res)) });
  });

  /** A new version's form, filled in from a version (?from=N; default: the published one, else the latest). */
  router.get('/:id/edit', async (req, res) => {
    const c = ctx(req);
    const rb = await getRunbook(c, runbookId(req));
    const fromQuery = req.query.from === undefined ? null : id.safeParse(req.query.from);
    if (fromQuery && !fromQuery.success) throw new NotFoundError('No such version of this run book.');
    const number = fromQuery?.data ?? rb.currentVersion?.number ?? rb.versions[0]?.number;
    if (!number) throw new NotFoundError('No such version of this run book.');
    const v = await getRunbookVersion(c, rb.id, number);
    const values: Body = { title: rb.title, summary: rb.summary, category: rb.category ?? '', keywords: rb.keywords.join(', '), ...stepValues(v.steps) };
    renderForm(res, 200, { values, errors: {}, message: null, slots: Math.min(v.steps.length + EXTRA_SLOTS, MAX_STEPS), runbook: rb, base: v.number });
  });

  router.post('/:id/versions', async (req, res) => {
    const c = ctx(req);
    const body = (req.body ?? {}) as Body;
    const rbId = runbookId(req);
    const rb = await getRunbook(c, rbId);
    const form = EditVersionForm.safeParse(body);
    const slots = form.success ? Math.min(form.data.slots, MAX_STEPS) : slotsOf(body, false);
    const base = form.success ? form.data.base : Number(body.base) || 1;
    const again = (status: number, errors: Record<string, string>, message: string) =>
      renderForm(res, status, { values: body, errors, message, slots, runbook: { ...rb, version: Number(body.version) || rb.version }, base });
    if (body._more === '1') {
      return renderForm(res, 200, { values: body, errors: {}, message: null, slots: slotsOf(body, true), runbook: { ...rb, version: Number(body.version) || rb.version }, base });
    }
    const admin = can(c.actor, 'runbook.manage');
    const details = admin ? RunbookDetailsForm.safeParse(body) : null;
    const { steps, errors: stepErrors } = parseSteps(body, slots);
    const errors = { ...(form.success ? {} : fieldErrors(form.error)), ...(details && !details.success ? fieldErrors(details.error) : {}), ...stepErrors };
    if (!form.success || (details && !details.success) || Object.keys(stepErrors).length) {
      return again(422, errors, errors.slots ?? errors.version ?? errors.base ?? 'Please check the fields marked below (secrets must be entered again).');
    }
    try {
      await saveVersion(c, rbId, form.data.version, form.data.base, {
        steps,
        note: form.data.note,
        publish: form.data.publish === '1',
        ...(details?.success ? { details: details.data } : {}),
      });
    } catch (err) {
      if (err instanceof ValidationError) return again(422, toSlots(err.fieldErrors, slotOf(body, slots)), `${err.message} (Secrets must be entered again.)`);
      if (err instanceof ConflictError) return again(409, {}, `${err.message} Your version is kept below: reload the run book to see what changed, then save again.`);
      throw err;
    }
    res.redirect(303, withDone(`/runbooks/${rbId}`, form.data.publish ? 'runbook-published' : 'runbook-proposed'));
  });

  router.post('/:id/versions/:number/publish', async (req, res) => {
    const form = PublishVersionForm.safeParse(req.body ?? {});
    if (!form.success) throw new ValidationError(Object.values(fieldErrors(form.error)).join(' '));
    const number = paramId(req, 'number', 'No such version of this run book.');
    await publishVersion(ctx(req), runbookId(req), form.data.version, number);
    res.redirect(303, withDone(`/runbooks/${runbookId(req)}`, 'runbook-published'));
  });

  router.post('/:id/status', async (req, res) => {
    const form = RunbookStatusForm.safeParse(req.body ?? {});
    if (!form.success) throw new ValidationError(Object.values(fieldErrors(form.error)).join(' '));
    await setRunbookStatus(ctx(req), runbookId(req), form.data.version, form.data.status);
    res.redirect(303, withDone(`/runbooks/${runbookId(req)}`, form.data.status === 'ARCHIVED' ? 'runbook-archived' : 'runbook-restored'));
  });

  return router;
}

/** The run book panel of a ticket page (views/tickets/_runbooks.ejs): attached ones as checklists, suggestions, the attach form. */
export async function runbookPanel(
  c: ServiceContext,
  ticket: Pick<Ticket, 'id' | 'title' | 'description'>,
  renderer: Renderer,
  zone: string | undefined,
  hasRunbooks = true,
) {
  if (!can(c.actor, 'runbook.read')) return null;
  const now = new Date();
  // The page's own statement says whether any is attached; the published list is kept for seconds:
  // a desk without run books pays no query for them.
  const [attached, choices] = await Promise.all([hasRunbooks ? ticketRunbooks(c, ticket.id) : Promise.resolve([]), attachableRunbooks(c.db)]);
  const attachedIds = attached.map((a) => a.runbookId);
  const suggestions = choices.length > attachedIds.length ? await suggestRunbooks(c.db, `${ticket.title} ${ticket.description.slice(0, 300)}`, attachedIds) : [];
  const stamp = (d: Date) => ({ iso: d.toISOString(), at: when(d, zone), ago: ago(d, now) });
  return {
    attached: await Promise.all(
      attached.map(async (a) => {
        const doneBy = new Map(a.steps.map((s) => [s.stepId, s]));
        const next = a.version.steps.find((s) => !doneBy.has(s.id));
        return {
          id: a.id,
          runbookId: a.runbookId,
          title: a.runbook.title,
          versionNumber: a.version.number,
          currentNumber: a.runbook.currentVersion?.number ?? null,
          how: a.how,
          by: a.attachedBy?.name ?? (a.attachedBySystem ? `${SYSTEM_ACTORS[a.attachedBySystem as SystemActorKey] ?? a.attachedBySystem} (rule)` : ''),
          when: stamp(a.createdAt),
          total: a.version.steps.length,
          doneCount: a.steps.length,
          steps: await Promise.all(
            a.version.steps.map(async (s) => {
              const d = doneBy.get(s.id);
              return {
                ...s,
                html: await renderer.markdown(s.instructions),
                automationHost: s.automationUrl ? new URL(s.automationUrl).host : null,
                isNext: next?.id === s.id,
                done: d ? { ...d, by: d.completedBy.name, when: stamp(d.createdAt), deliveries: d.deliveries.map((x) => ({ ...x, when: stamp(x.finishedAt ?? x.lastAttemptAt ?? x.createdAt) })) } : null,
              };
            }),
          ),
        };
      }),
    ),
    suggestions,
    choices: choices.filter((r) => !attachedIds.includes(r.id)),
  };
}

/** The ticket page's run book forms (mounted at /tickets). */
export function ticketRunbookRoutes(db: Database, renderer: Renderer): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });
  const referenceOf = (req: Request): string => {
    const raw = String(req.params.reference ?? '');
    const reference = normalizeReference(raw);
    if (!reference) throw new NotFoundError(`No ticket has the reference ${raw}.`);
    return reference;
  };
  const attachedOf = (req: Request) => paramId(req, 'attached', 'That run book is not attached to this ticket.');
  const stepOf = (req: Request) => paramId(req, 'step', 'That step is not in this run book’s version.');

  router.post('/:reference/runbooks', async (req, res) => {
    const reference = referenceOf(req);
    const form = AttachRunbookForm.safeParse(req.body ?? {});
    if (!form.success) throw new ValidationError(Object.values(fieldErrors(form.error)).join(' '));
    await attachRunbook(ctx(req), reference, form.data.runbookId, form.data.how);
    res.redirect(303, withDone(`/tickets/${reference}`, 'runbook-attached', 'runbooks'));
  });

  router.post('/:reference/runbooks/:attached/steps/:step', async (req, res) => {
    const reference = referenceOf(req);
    const body = (req.body ?? {}) as Body;
    const form = StepDoneForm.safeParse(body);
    const c = ctx(req);
    const trId = attachedOf(req);
    const stepId = stepOf(req);
    const refuse = async (message: string, errors: Record<string, string>) => {
      // The step's form again, with what was typed and why it was refused (nothing was written).
      const t = await c.db.ticket.findUnique({ where: { reference }, select: { id: true, reference: true, title: true } });
      const tr = t ? (await ticketRunbooks(c, t.id)).find((a) => a.id === trId) : undefined;
      const step = tr?.version.steps.find((s) => s.id === stepId);
      if (!t || !tr || !step) throw new NotFoundError('That step is not in this run book’s version.');
      res.status(422).render('runbooks/step', {
        title: `${t.reference} · ${step.title}`,
        t,
        tr,
        step,
        html: await renderer.markdown(step.instructions),
        values: body,
        errors,
        message,
      });
    };
    if (!form.success) {
      const errors = fieldErrors(form.error);
      return refuse(Object.values(errors).join(' '), errors);
    }
    try {
      await completeRunbookStep(c, reference, trId, stepId, { value: form.data.value ?? null, outcome: form.data.outcome ?? null, note: form.data.note ?? null });
    } catch (err) {
      if (err instanceof ValidationError) return refuse(err.message, err.fieldErrors);
      throw err;
    }
    res.redirect(303, withDone(`/tickets/${reference}`, 'runbook-step', 'runbooks'));
  });

  router.post('/:reference/runbooks/:attached/steps/:step/run', async (req, res) => {
    const reference = referenceOf(req);
    await runAutomationAgain(ctx(req), reference, attachedOf(req), stepOf(req));
    res.redirect(303, withDone(`/tickets/${reference}`, 'runbook-run', 'runbooks'));
  });

  return router;
}
