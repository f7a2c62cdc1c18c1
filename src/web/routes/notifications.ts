import { Router, type Request, type Response } from 'express';
import type { Database } from '../../db/client.js';
import type { ServiceContext } from '../../services/context.js';
import { NotFoundError } from '../../services/errors.js';
import { listNotifications, markAllRead, openNotification } from '../../services/notifications/inbox.js';
import { getEmailPreferences, setEmailPreferences } from '../../services/notifications/preferences.js';
import { actorOf } from '../middleware/auth.js';
import { timeZoneOf } from '../middleware/locals.js';
import { doneIn, withDone } from '../confirmations.js';
import { fieldErrors } from '../schemas/common.js';
import { InboxQuery, NotificationId, NotificationPreferencesForm, encodeInboxCursor } from '../schemas/notifications.js';
import { ago, when } from '../presenters/time.js';

/** The inbox: /notifications (newest first), open one (marks it read), mark all read. */
export function notificationRoutes(db: Database): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });

  router.get('/', async (req, res) => {
    const query = InboxQuery.safeParse(req.query);
    const after = query.success ? (query.data.after ?? null) : null;
    const page = await listNotifications(ctx(req), after);
    const now = new Date();
    res.status(query.success ? 200 : 400).render('notifications/inbox', {
      title: 'Notifications',
      rows: page.rows.map((r) => ({ ...r, at: when(r.createdAt, timeZoneOf(res)), ago: ago(r.createdAt, now) })),
      nextUrl: page.next ? `/notifications?after=${encodeInboxCursor(page.next)}` : null,
      isFirstPage: !after,
      error: query.success ? null : Object.values(fieldErrors(query.error)).join(' '),
      done: doneIn(req, 'inbox'),
    });
  });

  // Following a notification's link marks it read and lands where it happened on the ticket.
  router.get('/:id/open', async (req, res) => {
    const id = NotificationId.parse(req.params.id);
    if (id === null) throw new NotFoundError('There is no such notification.');
    res.redirect(303, await openNotification(ctx(req), id));
  });

  router.post('/read-all', async (req, res) => {
    await markAllRead(ctx(req));
    res.redirect(303, withDone('/notifications', 'notifications-read'));
  });

  return router;
}

/** /profile/notifications: which notifications are mailed (the profile page links here). */
export function notificationPreferenceRoutes(db: Database): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });

  async function render(req: Request, res: Response, status = 200, failed?: { message: string; values: string[] }) {
    const prefs = await getEmailPreferences(ctx(req));
    res.status(status).render('notifications/preferences', {
      title: 'Notification mail',
      prefs,
      failed: failed ?? null,
      done: failed ? null : doneIn(req, 'preferences'),
    });
  }

  router.get('/', (req, res) => render(req, res));

  router.post('/', async (req, res) => {
    const form = NotificationPreferencesForm.safeParse(req.body ?? {});
    if (!form.success) {
      const raw = (req.body as Record<string, unknown> | undefined)?.email;
      const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string');
      return render(req, res, 422, { message: Object.values(fieldErrors(form.error)).join(' '), values });
    }
    await setEmailPreferences(ctx(req), form.data.email);
    res.redirect(303, withDone('/profile/notifications', 'notification-preferences'));
  });

  return router;
}
