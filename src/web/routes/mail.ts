// Staff pages for inbound mail: the quarantine (messages Caseboard would not take on its own) and
// the three decisions on each message. Mounted at /mail behind requireSignIn; the services check
// the 'mail.triage' permission.
import { Router, type Request, type Response } from 'express';
import type { Database } from '../../db/client.js';
import type { ServiceContext } from '../../services/context.js';
import { NotFoundError, ValidationError } from '../../services/errors.js';
import { attachToTicket, discard, getInboundMessage, listIgnored, listQuarantine, turnIntoTicket } from '../../services/mail/quarantine.js';
import { readMailFile } from '../../services/attachments/read.js';
import { FileId } from '../schemas/tickets.js';
import { heldCopy, sendFile } from '../send-file.js';
import { actorOf } from '../middleware/auth.js';
import { fieldErrors, id } from '../schemas/common.js';
import { AttachForm, QuarantineQuery, encodeCursor } from '../schemas/mail.js';
import { ago, when } from '../presenters/time.js';
import { timeZoneOf } from '../middleware/locals.js';

type Body = Record<string, unknown>;

/** A refused decision: on which message, why, and what was typed. */
interface FailedDecision {
  id: number;
  action: string;
  message: string;
  fieldErrors: Record<string, string>;
  values: Body;
}

export function mailRoutes(db: Database): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });

  const inboundId = (req: Request): number => {
    const parsed = id.safeParse(req.params.id);
    if (!parsed.success) throw new NotFoundError('There is no such message.');
    return parsed.data;
  };

  async function renderQuarantine(req: Request, res: Response, status = 200, failed?: FailedDecision) {
    const parsed = QuarantineQuery.safeParse(failed ? {} : req.query);
    const query: { after?: { receivedAt: Date; id: number }; discarded?: number } = parsed.success ? parsed.data : {};
    const c = ctx(req);
    const [page, ignored] = await Promise.all([listQuarantine(c, { after: query.after }), listIgnored(c, 20)]);
    const now = new Date();
    const present = <T extends { receivedAt: Date }>(r: T) => ({ ...r, at: when(r.receivedAt, timeZoneOf(res)), ago: ago(r.receivedAt, now) });
    res.status(parsed.success ? status : 400).render('mail/quarantine', {
      title: 'Mail quarantine',
      rows: page.rows.map(present),
      ignored: ignored.map(present),
      nextUrl: page.next ? `/mail/quarantine?after=${encodeCursor(page.next)}` : null,
      isFirstPage: !query.after,
      discarded: query.discarded ?? null,
      failed: failed ?? null,
      error: parsed.success ? null : Object.values(fieldErrors(parsed.error)).join(' '),
    });
  }

  router.get('/', (_req, res) => res.redirect(303, '/mail/quarantine'));
  router.get('/quarantine', (req, res) => renderQuarantine(req, res));

  // One message whole ("show the whole message"): the original text before quotes were cut, its files.
  router.get('/:id', async (req, res) => {
    const message = await getInboundMessage(ctx(req), inboundId(req));
    const now = new Date();
    res.render('mail/message', { title: `Mail #${message.id} · ${message.subject || '(no subject)'}`, m: message, at: when(message.receivedAt, timeZoneOf(res)), ago: ago(message.receivedAt, now) });
  });
  // A file held with a quarantined message (files on a ticket are served under the ticket).
  router.get('/:id/files/:fileId{/:name}', async (req, res) => {
    const fileId = FileId.parse(req.params.fileId);
    if (fileId === null) throw new NotFoundError('There is no such file.');
    sendFile(req, res, await readMailFile(ctx(req), inboundId(req), fileId, { have: heldCopy(req) }));
  });

  /** One POST route per decision: a refused one shows the list again with the reason by the message. */
  function decision(name: string, run: (c: ServiceContext, inbound: number, body: Body) => Promise<string>) {
    router.post(`/quarantine/:id/${name}`, async (req, res) => {
      const inbound = inboundId(req);
      const values = (req.body ?? {}) as Body;
      try {
        res.redirect(303, await run(ctx(req), inbound, values));
      } catch (err) {
        if (err instanceof ValidationError) {
          return renderQuarantine(req, res, 422, { id: inbound, action: name, message: err.message, fieldErrors: err.fieldErrors, values });
        }
        throw err;
      }
    });
  }

  decision('attach', async (c, inbound, body) => {
    const form = AttachForm.safeParse(body);
    if (!form.success) {
      const errors = fieldErrors(form.error);
      throw new ValidationError(errors.reference ?? 'Enter the ticket reference.', errors);
    }
    const { reference } = await attachToTicket(c, inbound, form.data.reference);
    return `/tickets/${reference}#worklog`;
  });
  decision('new-ticket', async (c, inbound) => `/tickets/${(await turnIntoTicket(c, inbound)).reference}`);
  decision('discard', async (c, inbound) => {
    await discard(c, inbound);
    return `/mail/quarantine?discarded=${inbound}`;
  });

  return router;
}
