// API tokens' pages: each user's own (/profile/tokens) and the admins' (/admin/tokens: service
// tokens, and revoking anyone's). A new token is shown once, in the answer to the form that made
// it (never in a URL, never kept); revoking asks first.
import { Router, type Request, type Response } from 'express';
import type { Database } from '../../db/client.js';
import type { ServiceContext } from '../../services/context.js';
import { NotFoundError, ValidationError } from '../../services/errors.js';
import { SCOPES, grantableScopes } from '../../services/api/scopes.js';
import { EXPIRY_DAYS, createPersonalToken, createServiceToken, listAllTokens, listOwnTokens, revokeToken } from '../../services/api/tokens.js';
import { ROLES } from '../../domain/enums.js';
import { actorOf } from '../middleware/auth.js';
import { doneIn, withDone } from '../confirmations.js';
import { fieldErrors } from '../schemas/common.js';
import { ServiceTokenForm, TokenForm, TokenId } from '../schemas/tokens.js';

type Body = Record<string, unknown>;

interface Shown {
  status?: number;
  /** The token just made: shown this once. */
  created?: { token: string; name: string } | null;
  message?: string | null;
  errors?: Record<string, string>;
  values?: Body;
}

/** `admin`: the admins' page (every token, service tokens); else the user's own. */
export function tokenRoutes(db: Database, admin: boolean): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });
  const base = admin ? '/admin/tokens' : '/profile/tokens';

  async function render(req: Request, res: Response, shown: Shown = {}) {
    const c = ctx(req);
    const tokens = admin ? await listAllTokens(c) : await listOwnTokens(c);
    res.status(shown.status ?? 200).render('tokens/list', {
      title: admin ? 'API tokens (all)' : 'Your API tokens',
      admin,
      base,
      tokens,
      scopes: Object.entries(SCOPES).filter(([s]) => (admin ? true : grantableScopes(c.actor.role).includes(s as never))),
      expiries: EXPIRY_DAYS,
      roles: ROLES,
      created: shown.created ?? null,
      message: shown.message ?? null,
      errors: shown.errors ?? {},
      values: shown.values ?? { expiresInDays: '90', role: 'TECHNICIAN', scopes: [] },
      done: doneIn(req, 'tokens'),
      now: Date.now(),
    });
  }

  router.get('/', (req, res) => render(req, res));

  router.post('/', async (req, res) => {
    const body = (req.body ?? {}) as Body;
    const values = { name: body.name, scopes: ([] as unknown[]).concat(body.scopes ?? []), expiresInDays: body.expiresInDays, role: body.role };
    const fail = (message: string, errors: Record<string, string>) => render(req, res, { status: 422, message, errors, values });
    const form = (admin ? ServiceTokenForm : TokenForm).safeParse(body);
    if (!form.success) return fail('Please check the fields marked below.', fieldErrors(form.error));
    let made: { token: string };
    try {
      made = admin
        ? await createServiceToken(ctx(req), { ...form.data, role: (form.data as unknown as { role: string }).role })
        : await createPersonalToken(ctx(req), form.data);
    } catch (err) {
      if (err instanceof ValidationError) return fail(err.message, err.fieldErrors);
      throw err;
    }
    // Shown in this answer only (not cached: helmet's defaults plus no-store).
    res.set('Cache-Control', 'no-store');
    return render(req, res, { status: 201, created: { token: made.token, name: form.data.name } });
  });

  const tokenOf = async (req: Request) => {
    const parsed = TokenId.safeParse(req.params.id);
    if (!parsed.success) throw new NotFoundError('There is no such token.');
    const c = ctx(req);
    const list = admin ? await listAllTokens(c) : await listOwnTokens(c);
    const t = list.find((x) => x.id === parsed.data);
    if (!t) throw new NotFoundError('There is no such token.');
    return t;
  };

  // Revoking asks first (a page with the button), then does it.
  router.get('/:id/revoke', async (req, res) => {
    const token = await tokenOf(req);
    res.render('tokens/revoke', { title: `Revoke ${token.name}`, token, base });
  });
  router.post('/:id/revoke', async (req, res) => {
    const token = await tokenOf(req);
    await revokeToken(ctx(req), token.id);
    res.redirect(303, withDone(base, 'token-revoked', 'tokens'));
  });
  return router;
}
