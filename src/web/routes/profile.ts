import { Router, type Request, type Response } from 'express';
import type { Database } from '../../db/client.js';
import { timeZones } from '../../domain/time-zones.js';
import type { ServiceContext } from '../../services/context.js';
import { ValidationError } from '../../services/errors.js';
import { changeOwnPassword, getProfile, updatePreferences } from '../../services/users/profile.js';
import type { SignedInUser } from '../../services/users/sessions.js';
import { actorOf } from '../middleware/auth.js';
import { doneIn, withDone } from '../confirmations.js';
import { fieldErrors } from '../schemas/common.js';
import { OwnPasswordForm, PreferencesForm } from '../schemas/profile.js';

type Body = Record<string, unknown>;

/** A refused form: which one, the message, the field messages, and what was typed (never a password). */
interface Failed {
  form: 'password' | 'preferences';
  message: string;
  errors: Record<string, string>;
  values: Body;
}

/** Every signed-in user's own page: name and email, their password, time zone and theme. */
export function profileRoutes(db: Database): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });

  async function renderProfile(req: Request, res: Response, status = 200, failed?: Failed) {
    const me = await getProfile(ctx(req));
    res.status(status).render('profile', {
      title: 'Your profile',
      me,
      zones: timeZones(),
      values: failed?.form === 'preferences' ? failed.values : { timeZone: me.timeZone, theme: me.theme },
      failed: failed ?? null,
      done: failed ? null : doneIn(req, 'top'),
    });
  }

  router.get('/', (req, res) => renderProfile(req, res));

  router.post('/password', async (req, res, next) => {
    const body = (req.body ?? {}) as Body;
    const fail = (message: string, errors: Record<string, string>) =>
      renderProfile(req, res, 422, { form: 'password', message, errors, values: {} });
    const form = OwnPasswordForm.safeParse(body);
    if (!form.success) return fail('Please check the fields marked below.', fieldErrors(form.error));
    const actor = actorOf(req);
    let stamp: string;
    try {
      ({ stamp } = await changeOwnPassword(ctx(req), form.data.currentPassword, form.data.newPassword));
    } catch (err) {
      if (err instanceof ValidationError) return fail(err.message, err.fieldErrors);
      throw err;
    }
    // Every session of the user ended with the old stamp, this one too: sign this browser in again
    // with the new stamp (a new session id, as at any sign-in), so that only the others end.
    const user: SignedInUser = { ...actor, stamp };
    req.logIn(user, (err) => (err ? next(err) : res.redirect(303, withDone('/profile', 'profile-password'))));
  });

  router.post('/preferences', async (req, res) => {
    const body = (req.body ?? {}) as Body;
    const values = { timeZone: body.timeZone, theme: body.theme };
    const fail = (message: string, errors: Record<string, string>) =>
      renderProfile(req, res, 422, { form: 'preferences', message, errors, values });
    const form = PreferencesForm.safeParse(body);
    if (!form.success) return fail('Please check the fields marked below.', fieldErrors(form.error));
    try {
      await updatePreferences(ctx(req), form.data);
    } catch (err) {
      if (err instanceof ValidationError) return fail(err.message, err.fieldErrors);
      throw err;
    }
    res.redirect(303, withDone('/profile', 'profile-preferences'));
  });
  return router;
}
