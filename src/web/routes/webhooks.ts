import { Router, type Request, type Response } from 'express';
import type { Database } from '../../db/client.js';
import type { ServiceContext } from '../../services/context.js';
import { ConflictError, NotFoundError, ValidationError } from '../../services/errors.js';
import { assertCan } from '../../services/policy.js';
import { createEndpoint, deleteEndpoint, getEndpointPage, listEndpoints, rollSecret, updateEndpoint } from '../../services/webhooks/endpoints.js';
import { resendDelivery } from '../../services/webhooks/deliver.js';
import { WEBHOOK_EVENTS, WEBHOOK_EVENT_LABEL } from '../../services/webhooks/events.js';
import { actorOf } from '../middleware/auth.js';
import { timeZoneOf } from '../middleware/locals.js';
import { doneIn, withDone } from '../confirmations.js';
import { fieldErrors, id } from '../schemas/common.js';
import { DeleteEndpointForm, EditEndpointForm, EndpointForm, LogQuery } from '../schemas/webhooks.js';
import { when } from '../presenters/time.js';

declare module 'express-session' {
  interface SessionData {
    /**
     * A signing secret just made, shown once by the next GET of /webhooks/:id/secret and then
     * dropped (post-redirect-get: a reload never creates a second endpoint or rolls again).
     */
    webhookSecret?: { endpointId: number; secret: string; rolled: boolean };
  }
}

type Body = Record<string, unknown>;
type Failed = { form: string; message: string; errors: Record<string, string>; values?: Body };

const eventOptions = WEBHOOK_EVENTS.map((e) => ({ value: e, label: WEBHOOK_EVENT_LABEL[e] }));
/** The checked boxes of a submitted form, as the form shows them again. */
const checked = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

/** Webhooks: admins only (the service checks; the pages check first so strangers see a 403, not a form). */
export function webhookRoutes(db: Database): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });
  const param = (v: unknown, what: string): number => {
    const parsed = id.safeParse(v);
    if (!parsed.success) throw new NotFoundError(`No such ${what}.`);
    return parsed.data;
  };

  /** Keeps the new secret for the one page that shows it, and sends the browser there. */
  const showSecretOnce = (req: Request, res: Response, endpointId: number, secret: string, rolled: boolean) => {
    req.session.webhookSecret = { endpointId, secret, rolled };
    res.redirect(303, `/webhooks/${endpointId}/secret`);
  };

  router.get('/', async (req, res) => {
    const endpoints = await listEndpoints(ctx(req));
    res.render('webhooks/list', { title: 'Webhooks', endpoints, done: doneIn(req, 'top') });
  });

  const renderNew = (res: Response, status: number, values: Body, errors: Record<string, string>, message: string | null) =>
    res.status(status).render('webhooks/new', { title: 'New webhook endpoint', values, events: checked(values.events), errors, message, eventOptions });

  router.get('/new', (req, res) => {
    assertCan(actorOf(req), 'webhook.manage');
    renderNew(res, 200, { active: '1' }, {}, null);
  });

  router.post('/', async (req, res) => {
    assertCan(actorOf(req), 'webhook.manage');
    const body = (req.body ?? {}) as Body;
    const form = EndpointForm.safeParse(body);
    if (!form.success) return renderNew(res, 422, body, fieldErrors(form.error), 'Please check the fields marked below.');
    try {
      const { endpoint, secret } = await createEndpoint(ctx(req), { ...form.data, active: form.data.active === '1' });
      showSecretOnce(req, res, endpoint.id, secret, false);
    } catch (err) {
      if (err instanceof ValidationError) return renderNew(res, 422, body, err.fieldErrors, err.message);
      throw err;
    }
  });

  async function renderEndpoint(req: Request, res: Response, status = 200, failed?: Failed) {
    const c = ctx(req);
    const before = LogQuery.parse(req.query).before;
    const page = await getEndpointPage(c, param(req.params.id, 'webhook endpoint'), before);
    const tz = timeZoneOf(res);
    const values = failed?.form === 'endpoint' && failed.values ? failed.values : { ...page.endpoint, active: page.endpoint.active ? '1' : '' };
    res.status(status).render('webhooks/show', {
      title: `Webhook: ${page.endpoint.url}`,
      endpoint: page.endpoint,
      values,
      events: failed?.form === 'endpoint' && failed.values ? checked(failed.values.events) : page.endpoint.events,
      eventOptions,
      history: page.endpoint.history.map((h) => ({ ...h, at: when(h.createdAt, tz), actor: h.actor.name })),
      deliveries: page.deliveries.map((d) => ({
        ...d,
        at: when(d.createdAt, tz),
        next: d.state === 'QUEUED' ? when(d.nextAttemptAt, tz) : null,
        attemptLog: d.attemptLog.map((a) => ({ ...a, at: when(a.startedAt, tz) })),
      })),
      nextBefore: page.nextBefore,
      paged: before !== undefined,
      failed: failed ?? null,
      errors: failed?.errors ?? {},
      done: failed ? null : doneIn(req, 'top'),
    });
  }

  router.get('/:id', (req, res) => renderEndpoint(req, res));

  // The secret, once: taken out of the session as it is shown; a reload shows it no more.
  router.get('/:id/secret', async (req, res) => {
    const endpointId = param(req.params.id, 'webhook endpoint');
    const { endpoint } = await getEndpointPage(ctx(req), endpointId);
    const kept = req.session.webhookSecret;
    const shown = kept?.endpointId === endpointId ? kept : null;
    if (shown) delete req.session.webhookSecret;
    res.set('Cache-Control', 'no-store');
    res.render('webhooks/secret', {
      title: shown ? (shown.rolled ? 'New signing secret' : 'Webhook endpoint created') : 'Signing secret',
      endpoint,
      secret: shown?.secret ?? null,
      rolled: shown?.rolled ?? false,
    });
  });

  router.post('/:id', async (req, res) => {
    assertCan(actorOf(req), 'webhook.manage');
    const endpointId = param(req.params.id, 'webhook endpoint');
    const body = (req.body ?? {}) as Body;
    const form = EditEndpointForm.safeParse(body);
    if (!form.success) return renderEndpoint(req, res, 422, { form: 'endpoint', message: 'Please check the fields marked below.', errors: fieldErrors(form.error), values: body });
    try {
      await updateEndpoint(ctx(req), endpointId, form.data.version, { ...form.data, active: form.data.active === '1' });
    } catch (err) {
      if (err instanceof ValidationError) return renderEndpoint(req, res, 422, { form: 'endpoint', message: err.message, errors: err.fieldErrors, values: body });
      if (err instanceof ConflictError) {
        return renderEndpoint(req, res, 409, { form: 'endpoint', message: `${err.message} This is the endpoint as it is now: apply your change again.`, errors: {} });
      }
      throw err;
    }
    res.redirect(303, withDone(`/webhooks/${endpointId}`, 'webhook-saved'));
  });

  router.post('/:id/secret', async (req, res) => {
    assertCan(actorOf(req), 'webhook.manage');
    const { endpoint, secret } = await rollSecret(ctx(req), param(req.params.id, 'webhook endpoint'));
    showSecretOnce(req, res, endpoint.id, secret, true);
  });

  router.post('/:id/delete', async (req, res) => {
    assertCan(actorOf(req), 'webhook.manage');
    const endpointId = param(req.params.id, 'webhook endpoint');
    const form = DeleteEndpointForm.safeParse(req.body ?? {});
    if (!form.success) return renderEndpoint(req, res, 422, { form: 'delete', message: 'Tick the box to confirm the deletion.', errors: fieldErrors(form.error) });
    await deleteEndpoint(ctx(req), endpointId);
    res.redirect(303, withDone('/webhooks', 'webhook-deleted'));
  });

  router.post('/:id/deliveries/:deliveryId/resend', async (req, res) => {
    assertCan(actorOf(req), 'webhook.manage');
    const endpointId = param(req.params.id, 'webhook endpoint');
    await resendDelivery(ctx(req), endpointId, param(req.params.deliveryId, 'delivery'));
    res.redirect(303, withDone(`/webhooks/${endpointId}`, 'webhook-resent', 'log'));
  });

  return router;
}
