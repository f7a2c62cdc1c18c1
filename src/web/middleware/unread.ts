import type { NextFunction, Request, Response } from 'express';
import type { Database } from '../../db/client.js';
import { countUnread } from '../../services/notifications/inbox.js';

/**
 * The header's count of unread notifications (views/partials/header.ejs): read just before a
 * signed-in user's page is rendered, so redirects, files and fragments (views named _*) cost nothing, and a page
 * costs one query on the (userId, readAt, …) index, bounded at 100 rows ("99+"). If it fails,
 * the page is shown without its count rather than not at all.
 */
export function unreadNotificationCount(db: Database) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const user = req.user;
    if (!user) return next();
    type Callback = (err: Error, html: string) => void;
    const render = res.render.bind(res) as (view: string, options?: object, callback?: Callback) => void;
    res.render = ((view: string, options?: object | Callback, callback?: Callback) => {
      const go = () => (typeof options === 'function' ? render(view, undefined, options as Callback) : render(view, options, callback));
      // Fragments fetched by scripts (views named _*) and the customer-facing pages have no such header.
      if (/(^|\/)_[^/]*$/.test(view) || view.startsWith('public/')) return go();
      countUnread(db.prisma, user.id).then(
        (n) => {
          res.locals.unread = n;
          go();
        },
        () => go(),
      );
    }) as Response['render'];
    next();
  };
}
