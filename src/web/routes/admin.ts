import { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import type { Database } from '../../db/client.js';
import type { ServiceContext } from '../../services/context.js';
import { ConflictError, NotFoundError, ValidationError } from '../../services/errors.js';
import { assertCan } from '../../services/policy.js';
import { createUser, resetPassword, setUserActive, updateUser } from '../../services/users/manage-users.js';
import { getUserWithHistory, listUsers } from '../../services/users/list-users.js';
import { actorOf } from '../middleware/auth.js';
import { doneIn, withDone } from '../confirmations.js';
import { fieldErrors, id } from '../schemas/common.js';
import { ActiveForm, EditUserForm, NewUserForm, PasswordForm } from '../schemas/users.js';
import { userTimeline } from '../presenters/user.js';
import { timeZoneOf } from '../middleware/locals.js';

type Body = Record<string, unknown>;

export function adminRoutes(db: Database): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });
  // Every admin page needs the permission; the services check it again for each change.
  router.use((req, _res, next) => {
    assertCan(actorOf(req), 'user.manage');
    next();
  });

  const userId = (req: Request): number => {
    const parsed = id.safeParse(req.params.id);
    if (!parsed.success) throw new NotFoundError('No such user.');
    return parsed.data;
  };

  router.get('/users', async (req, res) => {
    res.render('admin/users', { title: 'Users', users: await listUsers(ctx(req)) });
  });

  router.get('/users/new', (_req, res) => {
    res.render('admin/user-new', { title: 'New user', values: { role: 'TECHNICIAN' }, errors: {}, message: null });
  });

  router.post('/users', async (req, res) => {
    const body = (req.body ?? {}) as Body;
    const values = { ...body, password: '' };
    const fail = (message: string, errors: Record<string, string>) =>
      res.status(422).render('admin/user-new', { title: 'New user', values, errors, message });
    const form = NewUserForm.safeParse(body);
    if (!form.success) return fail('Please check the fields marked below.', fieldErrors(form.error));
    try {
      const user = await createUser(ctx(req), form.data);
      res.redirect(303, withDone(`/admin/users/${user.id}`, 'user-created'));
    } catch (err) {
      if (err instanceof ValidationError) return fail(err.message, err.fieldErrors);
      throw err;
    }
  });

  /** The user page; a refused form gets back its own input and messages, the others show the record. */
  async function renderUser(req: Request, res: Response, status = 200, failed?: { form: string; message: string; errors: Record<string, string>; values?: Body }) {
    const user = await getUserWithHistory(ctx(req), userId(req));
    res.status(status).render('admin/user', {
      title: user.name,
      u: user,
      history: userTimeline(user.userHistory, timeZoneOf(res)),
      values: failed?.form === 'details' && failed.values ? failed.values : user,
      errors: failed?.errors ?? {},
      message: failed?.message ?? null,
      // After a redirect from one of the forms: a fixed text by key (see confirmations.ts).
      done: failed ? null : doneIn(req, 'top'),
    });
  }

  router.get('/users/:id', (req, res) => renderUser(req, res));

  /** Posts to a user: parse, call the service, and on a refusal show the page with the reason. */
  function userAction<S extends z.ZodType>(
    form: 'details' | 'active' | 'password',
    path: string,
    schema: S,
    run: (c: ServiceContext, id: number, input: z.output<S>) => Promise<unknown>,
  ) {
    router.post(`/users/:id${path}`, async (req, res) => {
      const body = (req.body ?? {}) as Body;
      const values = { ...body, password: '' };
      const parsed = schema.safeParse(body);
      if (!parsed.success) {
        return renderUser(req, res, 422, { form, message: 'Please check the fields marked below.', errors: fieldErrors(parsed.error), values });
      }
      try {
        await run(ctx(req), userId(req), parsed.data);
      } catch (err) {
        if (err instanceof ValidationError) return renderUser(req, res, 422, { form, message: err.message, errors: err.fieldErrors, values });
        if (err instanceof ConflictError) {
          return renderUser(req, res, 409, { form, message: `${err.message} This is the current record: apply your change again.`, errors: {} });
        }
        throw err;
      }
      res.redirect(303, withDone(`/admin/users/${userId(req)}`, `user-${form}`));
    });
  }

  userAction('details', '', EditUserForm, (c, uid, f) => updateUser(c, uid, f.version, { email: f.email, name: f.name, role: f.role }));
  userAction('active', '/active', ActiveForm, (c, uid, f) => setUserActive(c, uid, f.version, f.active === 'true'));
  userAction('password', '/password', PasswordForm, (c, uid, f) => resetPassword(c, uid, f.version, f.password));
  return router;
}
