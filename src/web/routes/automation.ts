// Automation rules: admins manage them, technicians read them, their log and their dry run.
import { Router, type Request, type Response } from 'express';
import type { Database } from '../../db/client.js';
import type { ServiceContext } from '../../services/context.js';
import { ConflictError, NotFoundError, ValidationError } from '../../services/errors.js';
import { assertCan, can } from '../../services/policy.js';
import {
  createRule,
  getRulePage,
  listRules,
  moveRule,
  RULE_EVENT_LABEL,
  RULE_EVENTS,
  setRuleActive,
  updateRule,
  type RuleInput,
} from '../../services/automation/rules.js';
import { dryRunRule, DRY_RUN_MATCHES, type DryRun } from '../../services/automation/dry-run.js';
import { ACTION_KINDS, CONDITION_KINDS, actionsFromForm, conditionsFromForm, formRows } from '../../services/automation/forms.js';
import { PLACEHOLDERS } from '../../services/automation/templates.js';
import { actorOf } from '../middleware/auth.js';
import { timeZoneOf } from '../middleware/locals.js';
import { doneIn, withDone } from '../confirmations.js';
import { fieldErrors, id } from '../schemas/common.js';
import { ACTION_ROWS, ActiveForm, CONDITION_ROWS, EditRuleForm, MoveForm, RuleForm } from '../schemas/automation.js';
import { when } from '../presenters/time.js';
import type { z } from 'zod';

type Body = Record<string, unknown>;

/** Empty rows shown after the rule's own (the form works without JavaScript). */
const SPARE_ROWS = 3;

/** The form's values as the service's input (names looked up; a bad row is a ValidationError). */
async function ruleInput(c: ServiceContext, f: z.output<typeof RuleForm>): Promise<RuleInput> {
  const rows = f as unknown as Record<string, string | undefined>;
  return {
    name: f.name,
    description: f.description,
    event: f.event,
    quietHours: f.quietHours,
    conditions: await conditionsFromForm(c.db, f.match, rows, CONDITION_ROWS),
    actions: await actionsFromForm(c.db, rows, ACTION_ROWS),
  };
}

const rowCount = (values: Body, prefix: string, max: number) => {
  let last = -1;
  for (let i = 0; i < max; i++) if (values[`${prefix}${i}_kind`]) last = i;
  return Math.min(max, last + 1 + SPARE_ROWS);
};

export function automationRoutes(db: Database): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });
  const ruleId = (req: Request): number => {
    const parsed = id.safeParse(req.params.id);
    if (!parsed.success) throw new NotFoundError('No such rule.');
    return parsed.data;
  };

  router.get('/', async (req, res) => {
    const rules = await listRules(ctx(req));
    res.render('automation/list', {
      title: 'Automation rules',
      rules: rules.map((r) => ({ ...r, eventLabel: RULE_EVENT_LABEL[r.event], lastFired: r.lastFiredAt ? when(r.lastFiredAt, timeZoneOf(res)) : null })),
      manage: can(actorOf(req), 'automation.manage'),
      done: doneIn(req, 'top'),
    });
  });

  /** The create/edit form, with the dry run's result when "Try it" was pressed. */
  function renderForm(
    res: Response,
    status: number,
    opts: { ruleId: number | null; values: Body; errors: Record<string, string>; message: string | null; tried?: DryRun | null },
  ) {
    res.status(status).render('automation/form', {
      title: opts.ruleId ? 'Edit rule' : 'New rule',
      ruleId: opts.ruleId,
      values: opts.values,
      errors: opts.errors,
      message: opts.message,
      tried: opts.tried ?? null,
      dryRunMax: DRY_RUN_MATCHES,
      events: RULE_EVENTS.map((e) => [e, RULE_EVENT_LABEL[e]]),
      conditionKinds: CONDITION_KINDS,
      actionKinds: ACTION_KINDS,
      conditionRows: rowCount(opts.values, 'c', CONDITION_ROWS),
      actionRows: rowCount(opts.values, 'a', ACTION_ROWS),
      placeholders: Object.entries(PLACEHOLDERS),
    });
  }

  router.get('/new', (req, res) => {
    assertCan(actorOf(req), 'automation.manage');
    renderForm(res, 200, { ruleId: null, values: { event: 'CREATED', match: 'all' }, errors: {}, message: null });
  });

  /** Create, or (with the "Try it" button: try=1) show the dry run of the form as it is, saving nothing. */
  async function save(req: Request, res: Response, existing: number | null) {
    const c = ctx(req);
    const body = (req.body ?? {}) as Body;
    const trying = body.try === '1';
    if (!trying) assertCan(c.actor, 'automation.manage');
    const form = (existing && !trying ? EditRuleForm : RuleForm).safeParse(body);
    if (!form.success) {
      return renderForm(res, 422, { ruleId: existing, values: body, errors: fieldErrors(form.error), message: 'Please check the fields marked below.' });
    }
    try {
      const input = await ruleInput(c, form.data);
      if (trying) {
        const tried = await dryRunRule(c, input, existing ?? undefined);
        return renderForm(res, 200, { ruleId: existing, values: body, errors: {}, message: null, tried });
      }
      const rule = existing
        ? await updateRule(c, existing, (form.data as z.output<typeof EditRuleForm>).version, input)
        : await createRule(c, input);
      res.redirect(303, withDone(`/rules/${rule.id}`, existing ? 'rule-saved' : 'rule-created'));
    } catch (err) {
      if (err instanceof ValidationError) return renderForm(res, 422, { ruleId: existing, values: body, errors: err.fieldErrors, message: err.message });
      if (err instanceof ConflictError) {
        return renderForm(res, 409, { ruleId: existing, values: body, errors: {}, message: `${err.message} Open the rule again to see it as it is now.` });
      }
      throw err;
    }
  }

  router.post('/', (req, res) => save(req, res, null));
  // The dry run of a form (new or edited rule): technicians may try too; nothing is written.
  router.post('/try', (req, res) => {
    req.body = { ...((req.body ?? {}) as Body), try: '1' };
    const existing = id.safeParse((req.body as Body).ruleId);
    return save(req, res, existing.success ? existing.data : null);
  });

  router.get('/:id', async (req, res) => {
    const c = ctx(req);
    const page = await getRulePage(c, ruleId(req));
    const zone = timeZoneOf(res);
    const tried = req.query.try === '1' ? await dryRunRule(c, { ...page.parsed, description: page.rule.description }, page.rule.id) : null;
    res.render('automation/show', {
      title: `Rule: ${page.rule.name}`,
      rule: page.rule,
      eventLabel: RULE_EVENT_LABEL[page.rule.event],
      conditionWords: page.conditionWords,
      match: page.parsed.conditions.type,
      actionWords: page.actionWords,
      log: page.rule.log.map((l) => ({ ...l, at: when(l.createdAt, zone) })),
      history: page.rule.history.map((h) => ({ ...h, at: when(h.createdAt, zone) })),
      manage: can(c.actor, 'automation.manage'),
      tried,
      dryRunMax: DRY_RUN_MATCHES,
      done: doneIn(req, 'top'),
    });
  });

  router.get('/:id/edit', async (req, res) => {
    const c = ctx(req);
    assertCan(c.actor, 'automation.manage');
    const page = await getRulePage(c, ruleId(req));
    const rows = await formRows(c.db, page.parsed.conditions, page.parsed.actions);
    renderForm(res, 200, {
      ruleId: page.rule.id,
      values: {
        version: page.rule.version,
        name: page.rule.name,
        description: page.rule.description ?? '',
        event: page.rule.event,
        quietHours: page.rule.quietHours ?? '',
        match: page.parsed.conditions.type,
        ...rows,
      },
      errors: {},
      message: null,
    });
  });

  router.post('/:id', (req, res) => save(req, res, ruleId(req)));

  /** A small form on the rule page or the list: a refusal goes back to the list with its reason. */
  async function small<S extends z.ZodType>(req: Request, res: Response, schema: S, run: (c: ServiceContext, id: number, f: z.output<S>) => Promise<unknown>, done: string) {
    const c = ctx(req);
    const rid = ruleId(req);
    const parsed = schema.safeParse(req.body ?? {});
    if (!parsed.success) {
      return res.status(422).render('error', { title: 'Please check the form', message: Object.values(fieldErrors(parsed.error)).join(' '), status: 422 });
    }
    await run(c, rid, parsed.data);
    res.redirect(303, withDone(done === 'rule-moved' ? '/rules' : `/rules/${rid}`, done));
  }

  router.post('/:id/active', (req, res) =>
    small(req, res, ActiveForm, (c, rid, f) => setRuleActive(c, rid, f.active === 'true'), (req.body as Body)?.active === 'true' ? 'rule-on' : 'rule-off'),
  );
  router.post('/:id/move', (req, res) => small(req, res, MoveForm, (c, rid, f) => moveRule(c, rid, f.direction), 'rule-moved'));

  return router;
}
