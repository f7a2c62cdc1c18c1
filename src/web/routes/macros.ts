// Macros and canned replies: everyone manages their own, admins the shared ones.
import { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import type { Database } from '../../db/client.js';
import type { ServiceContext } from '../../services/context.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../services/errors.js';
import { can } from '../../services/policy.js';
import {
  createCannedReply,
  createMacro,
  deleteCannedReply,
  deleteMacro,
  getCannedReply,
  getMacro,
  listCannedReplies,
  listMacros,
  updateCannedReply,
  updateMacro,
  type MacroInput,
} from '../../services/automation/macros.js';
import { ACTION_KINDS, actionsFromForm, formRows } from '../../services/automation/forms.js';
import { PLACEHOLDERS } from '../../services/automation/templates.js';
import { actorOf } from '../middleware/auth.js';
import { doneIn, withDone } from '../confirmations.js';
import { fieldErrors, id } from '../schemas/common.js';
import { ACTION_ROWS, CannedForm, MacroEditForm } from '../schemas/automation.js';

type Body = Record<string, unknown>;
const SPARE_ROWS = 3;

export function macroRoutes(db: Database): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });
  const param = (req: Request): number => {
    const parsed = id.safeParse(req.params.id);
    if (!parsed.success) throw new NotFoundError('Not found.');
    return parsed.data;
  };

  router.get('/', async (req, res) => {
    const c = ctx(req);
    const [macros, canned] = await Promise.all([listMacros(c), listCannedReplies(c)]);
    res.render('macros/list', {
      title: 'Macros and canned replies',
      macros,
      canned,
      shareable: can(c.actor, 'macro.shared'),
      done: doneIn(req, 'top'),
    });
  });

  // ---- macros ----

  function renderMacro(res: Response, status: number, macroId: number | null, values: Body, errors: Record<string, string>, message: string | null, shareable: boolean) {
    let last = -1;
    for (let i = 0; i < ACTION_ROWS; i++) if (values[`a${i}_kind`]) last = i;
    res.status(status).render('macros/form', {
      title: macroId ? 'Edit macro' : 'New macro',
      macroId,
      values,
      errors,
      message,
      shareable,
      actionKinds: ACTION_KINDS,
      actionRows: Math.min(ACTION_ROWS, last + 1 + SPARE_ROWS),
      placeholders: Object.entries(PLACEHOLDERS),
    });
  }

  async function macroInput(c: ServiceContext, f: z.output<typeof MacroEditForm>): Promise<MacroInput> {
    return {
      name: f.name,
      shared: f.shared === '1',
      reply: f.reply,
      actions: await actionsFromForm(c.db, f as unknown as Record<string, string | undefined>, ACTION_ROWS),
    };
  }

  router.get('/new', (req, res) => renderMacro(res, 200, null, {}, {}, null, can(actorOf(req), 'macro.shared')));

  async function saveMacro(req: Request, res: Response, existing: number | null) {
    const c = ctx(req);
    const body = (req.body ?? {}) as Body;
    const shareable = can(c.actor, 'macro.shared');
    const form = MacroEditForm.safeParse(body);
    if (!form.success) return renderMacro(res, 422, existing, body, fieldErrors(form.error), 'Please check the fields marked below.', shareable);
    try {
      const input = await macroInput(c, form.data);
      if (existing) await updateMacro(c, existing, input);
      else await createMacro(c, input);
      res.redirect(303, withDone('/macros', existing ? 'macro-saved' : 'macro-created'));
    } catch (err) {
      if (err instanceof ValidationError) return renderMacro(res, 422, existing, body, err.fieldErrors, err.message, shareable);
      throw err;
    }
  }

  router.post('/', (req, res) => saveMacro(req, res, null));

  // ---- canned replies (before the macros' /:id routes, which would take "canned" for an id) ----

  const renderCanned = (res: Response, status: number, cannedId: number | null, values: Body, errors: Record<string, string>, message: string | null, shareable: boolean) =>
    res.status(status).render('macros/canned', {
      title: cannedId ? 'Edit canned reply' : 'New canned reply',
      cannedId,
      values,
      errors,
      message,
      shareable,
      placeholders: Object.entries(PLACEHOLDERS),
    });

  router.get('/canned/new', (req, res) => renderCanned(res, 200, null, {}, {}, null, can(actorOf(req), 'macro.shared')));

  async function saveCanned(req: Request, res: Response, existing: number | null) {
    const c = ctx(req);
    const body = (req.body ?? {}) as Body;
    const shareable = can(c.actor, 'macro.shared');
    const form = CannedForm.safeParse(body);
    if (!form.success) return renderCanned(res, 422, existing, body, fieldErrors(form.error), 'Please check the fields marked below.', shareable);
    const input = { name: form.data.name, shared: form.data.shared === '1', body: form.data.body };
    try {
      if (existing) await updateCannedReply(c, existing, input);
      else await createCannedReply(c, input);
      res.redirect(303, withDone('/macros', existing ? 'canned-saved' : 'canned-created'));
    } catch (err) {
      if (err instanceof ValidationError) return renderCanned(res, 422, existing, body, err.fieldErrors, err.message, shareable);
      throw err;
    }
  }

  router.post('/canned', (req, res) => saveCanned(req, res, null));

  router.get('/canned/:id/edit', async (req, res) => {
    const c = ctx(req);
    const { canned, mayManage } = await getCannedReply(c, param(req));
    if (!mayManage) throw new ForbiddenError();
    renderCanned(res, 200, canned.id, { name: canned.name, shared: canned.ownerId === null ? '1' : '', body: canned.body }, {}, null, can(c.actor, 'macro.shared'));
  });

  router.post('/canned/:id', (req, res) => saveCanned(req, res, param(req)));

  router.post('/canned/:id/delete', async (req, res) => {
    await deleteCannedReply(ctx(req), param(req));
    res.redirect(303, withDone('/macros', 'canned-deleted'));
  });

  // ---- a macro ----

  router.get('/:id/edit', async (req, res) => {
    const c = ctx(req);
    const { macro, actions, mayManage } = await getMacro(c, param(req));
    if (!mayManage) throw new ForbiddenError();
    const rows = await formRows(c.db, null, actions);
    renderMacro(res, 200, macro.id, { name: macro.name, shared: macro.ownerId === null ? '1' : '', reply: macro.reply ?? '', ...rows }, {}, null, can(c.actor, 'macro.shared'));
  });

  router.post('/:id', (req, res) => saveMacro(req, res, param(req)));

  router.post('/:id/delete', async (req, res) => {
    await deleteMacro(ctx(req), param(req));
    res.redirect(303, withDone('/macros', 'macro-deleted'));
  });

  return router;
}
