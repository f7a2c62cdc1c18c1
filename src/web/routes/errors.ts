// Error-reporting projects (/errors): admins create and edit them and roll their keys (the DSN is
// shown once, in the answer to that form, never in a URL); technicians read the problems.
import { Router, type Request, type Response } from 'express';
import type { Config } from '../../config/env.js';
import type { Database } from '../../db/client.js';
import { URGENCIES, URGENCY_LABEL } from '../../domain/enums.js';
import type { ServiceContext } from '../../services/context.js';
import { ConflictError, NotFoundError, ValidationError } from '../../services/errors.js';
import { assertCan, can } from '../../services/policy.js';
import { createErrorProject, dsnFor, findErrorProject, listErrorProjects, rollErrorProjectKey, updateErrorProject } from '../../services/errors/projects.js';
import { listProblems } from '../../services/errors/read.js';
import { listTeams } from '../../services/teams/teams.js';
import { actorOf } from '../middleware/auth.js';
import { timeZoneOf } from '../middleware/locals.js';
import { doneIn, withDone } from '../confirmations.js';
import { fieldErrors, id } from '../schemas/common.js';
import { EditErrorProjectForm, NewErrorProjectForm } from '../schemas/errors.js';
import { ago, when } from '../presenters/time.js';

declare module 'express-session' {
  interface SessionData {
    /**
     * A project key just made, shown once (as a DSN) by the next GET of /errors/:id/key and then
     * dropped (post-redirect-get: a reload never creates a second project or rolls again).
     */
    errorProjectKey?: { projectId: number; key: string; rolled: boolean };
  }
}

type Body = Record<string, unknown>;

export function errorRoutes(db: Database, config: Config): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });
  const urgencies = URGENCIES.map((u) => [u, URGENCY_LABEL[u]]);
  const teamOptions = async (c: ServiceContext) => (await listTeams(c)).map((t) => [t.id, t.name]);
  // The DSN's host: the configured public address, else the one this request came to.
  const base = (req: Request) => config.PUBLIC_URL ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
  const projectId = (req: Request): number => {
    const parsed = id.safeParse(req.params.id);
    if (!parsed.success) throw new NotFoundError('No such error-reporting project.');
    return parsed.data;
  };

  router.get('/', async (req, res) => {
    res.render('errors/list', { title: 'Error reports', projects: await listErrorProjects(ctx(req)), done: doneIn(req, 'top') });
  });

  const renderNew = async (req: Request, res: Response, status: number, values: Body, errors: Record<string, string>, message: string | null) =>
    res.status(status).render('errors/new', { title: 'New error-reporting project', values, errors, message, urgencies, teams: await teamOptions(ctx(req)) });

  router.get('/new', async (req, res) => {
    assertCan(actorOf(req), 'errors.manage');
    await renderNew(req, res, 200, { urgency: 'NORMAL' }, {}, null);
  });

  /** Keeps the new key for the one page that shows it, and sends the browser there. */
  const showKeyOnce = (req: Request, res: Response, projectId: number, key: string, rolled: boolean) => {
    req.session.errorProjectKey = { projectId, key, rolled };
    res.redirect(303, `/errors/${projectId}/key`);
  };

  router.post('/', async (req, res) => {
    assertCan(actorOf(req), 'errors.manage');
    const body = (req.body ?? {}) as Body;
    const form = NewErrorProjectForm.safeParse(body);
    if (!form.success) return renderNew(req, res, 422, body, fieldErrors(form.error), 'Please check the fields marked below.');
    try {
      const { project, key } = await createErrorProject(ctx(req), form.data);
      showKeyOnce(req, res, project.id, key, false);
    } catch (err) {
      if (err instanceof ValidationError) return renderNew(req, res, 422, body, err.fieldErrors, err.message);
      throw err;
    }
  });

  async function renderProject(req: Request, res: Response, status = 200, failed?: { values: Body; errors: Record<string, string>; message: string }) {
    const c = ctx(req);
    const project = await findErrorProject(c, projectId(req));
    const now = new Date();
    const zone = timeZoneOf(res);
    const problems = (await listProblems(c, project.id)).map((p) => ({ ...p, last: when(p.lastSeen, zone), lastAgo: ago(p.lastSeen, now), first: when(p.firstSeen, zone) }));
    const manage = can(c.actor, 'errors.manage');
    res.status(status).render('errors/show', {
      title: project.name,
      project,
      problems,
      manage,
      teams: manage ? await teamOptions(c) : [],
      urgencies,
      values: failed?.values ?? { ...project, active: project.active ? '1' : undefined, perMinute: project.perMinute ?? '' },
      errors: failed?.errors ?? {},
      message: failed?.message ?? null,
      done: doneIn(req, 'project'),
    });
  }

  router.get('/:id', (req, res) => renderProject(req, res));

  router.post('/:id', async (req, res) => {
    assertCan(actorOf(req), 'errors.manage');
    const body = (req.body ?? {}) as Body;
    const form = EditErrorProjectForm.safeParse(body);
    if (!form.success) return renderProject(req, res, 422, { values: body, errors: fieldErrors(form.error), message: 'Please check the fields marked below.' });
    try {
      const { version, active, ...input } = form.data;
      await updateErrorProject(ctx(req), projectId(req), version, { ...input, active: active === '1' });
      res.redirect(303, withDone(`/errors/${projectId(req)}`, 'error-project-saved'));
    } catch (err) {
      if (err instanceof ValidationError) return renderProject(req, res, 422, { values: body, errors: err.fieldErrors, message: err.message });
      if (err instanceof ConflictError) return renderProject(req, res, 409, { values: body, errors: {}, message: err.message });
      throw err;
    }
  });

  router.post('/:id/key', async (req, res) => {
    assertCan(actorOf(req), 'errors.manage');
    const { project, key } = await rollErrorProjectKey(ctx(req), projectId(req));
    showKeyOnce(req, res, project.id, key, true);
  });

  // The DSN, once: taken out of the session as it is shown; a reload shows it no more.
  router.get('/:id/key', async (req, res) => {
    assertCan(actorOf(req), 'errors.manage');
    const project = await findErrorProject(ctx(req), projectId(req));
    const kept = req.session.errorProjectKey;
    const shown = kept?.projectId === project.id ? kept : null;
    if (shown) delete req.session.errorProjectKey;
    res.set('Cache-Control', 'no-store');
    res.render('errors/key', {
      title: `${project.name}: its DSN`,
      project,
      dsn: shown ? dsnFor(base(req), shown.key, project.id) : null,
      rolled: shown?.rolled ?? false,
    });
  });

  return router;
}
