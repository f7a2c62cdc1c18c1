import { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import type { Database } from '../../db/client.js';
import type { ServiceContext } from '../../services/context.js';
import { ConflictError, NotFoundError, ValidationError } from '../../services/errors.js';
import { assertCan, can } from '../../services/policy.js';
import { getTeamPage, listNonMembers, listTeams } from '../../services/teams/teams.js';
import {
  addTeamMember,
  createTeam,
  removeTeamMember,
  setAvailability,
  updateTeam,
  type TeamInput,
} from '../../services/teams/manage-teams.js';
import { actorOf } from '../middleware/auth.js';
import { timeZoneOf } from '../middleware/locals.js';
import { doneIn, withDone } from '../confirmations.js';
import { fieldErrors, id } from '../schemas/common.js';
import { AUTO_ASSIGN_LABEL, AUTO_ASSIGN_MODES, AvailabilityForm, EditTeamForm, MemberForm, NewTeamForm } from '../schemas/teams.js';
import { when } from '../presenters/time.js';

type Body = Record<string, unknown>;
type Failed = { form: string; message: string; errors: Record<string, string>; values?: Body };

const input = (f: z.output<typeof NewTeamForm>): TeamInput => ({
  name: f.name,
  description: f.description,
  autoAssign: f.autoAssign,
  maxOpenPerPerson: f.maxOpenPerPerson,
  isDefault: f.isDefault === '1',
  address: f.address,
});

/** Teams: every technician reads them and sets their own availability; admins manage them. */
export function teamRoutes(db: Database): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });
  const modes = AUTO_ASSIGN_MODES.map((m) => [m, AUTO_ASSIGN_LABEL[m]]);

  const teamId = (req: Request): number => {
    const parsed = id.safeParse(req.params.id);
    if (!parsed.success) throw new NotFoundError('No such team.');
    return parsed.data;
  };

  router.get('/', async (req, res) => {
    res.render('teams/list', { title: 'Teams', teams: await listTeams(ctx(req)), done: doneIn(req, 'top') });
  });

  const renderNew = (res: Response, status: number, values: Body, errors: Record<string, string>, message: string | null) =>
    res.status(status).render('teams/new', { title: 'New team', values, errors, message, modes });

  router.get('/new', (req, res) => {
    assertCan(actorOf(req), 'team.manage');
    renderNew(res, 200, { autoAssign: 'OFF' }, {}, null);
  });

  router.post('/', async (req, res) => {
    assertCan(actorOf(req), 'team.manage');
    const body = (req.body ?? {}) as Body;
    const form = NewTeamForm.safeParse(body);
    if (!form.success) return renderNew(res, 422, body, fieldErrors(form.error), 'Please check the fields marked below.');
    try {
      const team = await createTeam(ctx(req), input(form.data));
      res.redirect(303, withDone(`/teams/${team.id}`, 'team-created'));
    } catch (err) {
      if (err instanceof ValidationError) return renderNew(res, 422, body, err.fieldErrors, err.message);
      throw err;
    }
  });

  async function renderTeam(req: Request, res: Response, status = 200, failed?: Failed) {
    const c = ctx(req);
    const page = await getTeamPage(c, teamId(req));
    const manage = can(c.actor, 'team.manage');
    res.status(status).render('teams/show', {
      title: page.team.name,
      ...page,
      manage,
      candidates: manage ? await listNonMembers(c, page.team.id) : [],
      leadOptions: [['', 'Nobody']].concat(page.members.filter((m) => m.active).map((m) => [String(m.id), m.name])),
      modes,
      labels: { ...res.locals.labels, AUTO_ASSIGN_LABEL },
      history: page.team.history.map((h) => ({ ...h, at: when(h.createdAt, timeZoneOf(res)), actor: h.actor?.name ?? 'Caseboard' })),
      values: failed?.form === 'team' && failed.values ? failed.values : { ...page.team, isDefault: page.team.isDefault ? '1' : '' },
      failed: failed ?? null,
      done: failed ? null : doneIn(req, 'top'),
    });
  }

  router.get('/:id', (req, res) => renderTeam(req, res));

  /** A form on the team page: parse, call the service, and on a refusal show the page with the reason. */
  function teamAction<S extends z.ZodType>(
    form: string,
    path: string,
    schema: S,
    run: (c: ServiceContext, teamId: number, input: z.output<S>) => Promise<unknown>,
    done: string,
  ) {
    router.post(`/:id${path}`, async (req, res) => {
      const body = (req.body ?? {}) as Body;
      const parsed = schema.safeParse(body);
      if (!parsed.success) {
        return renderTeam(req, res, 422, { form, message: 'Please check the fields marked below.', errors: fieldErrors(parsed.error), values: body });
      }
      try {
        await run(ctx(req), teamId(req), parsed.data);
      } catch (err) {
        if (err instanceof ValidationError) return renderTeam(req, res, 422, { form, message: err.message, errors: err.fieldErrors, values: body });
        if (err instanceof ConflictError) {
          return renderTeam(req, res, 409, { form, message: `${err.message} This is the team as it is now: apply your change again.`, errors: {} });
        }
        throw err;
      }
      res.redirect(303, withDone(`/teams/${teamId(req)}`, done));
    });
  }

  teamAction('team', '', EditTeamForm, (c, tid, f) => updateTeam(c, tid, f.version, { ...input(f), leadId: f.leadId }), 'team-saved');
  teamAction('add', '/members', MemberForm, (c, tid, f) => addTeamMember(c, tid, f.userId), 'team-member-added');
  teamAction('remove', '/members/remove', MemberForm, (c, tid, f) => removeTeamMember(c, tid, f.userId), 'team-member-removed');
  teamAction('availability', '/availability', AvailabilityForm, (c, _tid, f) => setAvailability(c, f.userId, f.available === 'true'), 'team-availability');
  return router;
}
