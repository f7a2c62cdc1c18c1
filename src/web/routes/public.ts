// Customer-facing pages: no staff sign-in. Status by reference + email (the status only), the
// private access link (the conversation, with replies and the files of public entries), the web
// request form, and the public help centre. Every form is throttled per client and carries a CSRF
// token; wrong input changes nothing (files past the limits included: the form comes back with
// the text typed); no page stores anything for a visitor who only reads (no session, no row).
import { Router, type Request, type Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { PostgresRateLimitStore } from '../middleware/pg-rate-limit.js';
import type { Config } from '../../config/env.js';
import type { Database } from '../../db/client.js';
import { NotFoundError, ValidationError } from '../../services/errors.js';
import { readCustomerFile, RedactedError } from '../../services/attachments/read.js';
import type { IncomingFile } from '../../services/attachments/files.js';
import { assertWithinLimits, attachmentLimits } from '../../services/attachments/limits.js';
import { accessLinkFor, confirmAccessLink } from '../../services/public/access-links.js';
import {
  addCustomerReply,
  findTicketForCustomer,
  publicTicketById,
  sharedTicketFor,
  sharedTicketsFor,
  type PublicTicket,
  type SharedTicketRow,
  type TicketStatusSummary,
} from '../../services/public/customer-ticket.js';
import { getHelpArticle, searchHelp, suggestHelp } from '../../services/public/help-articles.js';
import { submitWebRequest } from '../../services/public/web-request.js';
import type { Renderer } from '../rendering/renderer.js';
import { heldCopy, sendFile } from '../send-file.js';
import { snippetHtml } from '../presenters/article.js';
import { ago, when } from '../presenters/time.js';
import { fieldErrors } from '../schemas/common.js';
import { id } from '../schemas/common.js';
import { CustomerReplyForm, CustomerReplyWithFilesForm, HelpQuery, StatusLookupForm, TitleQuery, WebRequestForm } from '../schemas/public.js';

const NOT_FOUND =
  'No ticket was found for that reference number and email address. (A request sent from this website shows here once you have opened the link in our confirmation mail and pressed “Show my request”.)';
const SHARED_NOT_FOUND = 'There is no such ticket among your organization’s.';
const LINK_INVALID =
  'This link is not valid any more: it may have expired or been withdrawn. Use the link in our latest mail, or look your ticket up below.';

/**
 * `token`: the private link the page was opened with (its files are served under it), or null
 * for the status lookup, which shows neither the conversation nor any file.
 */
function ticketPage(t: PublicTicket | TicketStatusSummary, token: string | null, now = new Date()) {
  return {
    t,
    token,
    opened: { at: when(t.createdAt), ago: ago(t.createdAt, now) },
    updated: { at: when(t.updatedAt), ago: ago(t.updatedAt, now) },
    // null: the status lookup, which never shows the conversation.
    replies: 'replies' in t ? t.replies.map((r) => ({ ...r, at: when(r.createdAt), ago: ago(r.createdAt, now) })) : null,
    reportFiles: 'reportFiles' in t ? t.reportFiles : [],
    fileHref: token === null ? null : (fileId: number, name: string) => `/s/${token}/files/${fileId}/${encodeURIComponent(name)}`,
  };
}

/**
 * Why the form's files cannot be kept, for the message beside the file field, or undefined: a
 * limit passed while reading (the files were dropped then), or an empty file. The service checks
 * the same again before writing; asking here too shows it together with the other fields' errors.
 */
/** Colleagues' tickets for the private page's list, each opened under the customer's own link. */
function sharedList(rows: SharedTicketRow[], token: string, now = new Date()) {
  return rows.map((r) => ({ ...r, href: `/s/${token}/org/${r.reference}`, at: when(r.updatedAt), ago: ago(r.updatedAt, now) }));
}

function filesProblem(req: Request): string | undefined {
  if (req.uploadError) return req.uploadError;
  try {
    assertWithinLimits(req.files ?? ([] as IncomingFile[]), attachmentLimits());
    return undefined;
  } catch (err) {
    if (err instanceof ValidationError) return err.fieldErrors.files ?? err.message;
    throw err;
  }
}

/** Pages about one customer's ticket are nobody else's: no shared or browser cache keeps them. */
function privatePage(res: Response): void {
  res.set('Cache-Control', 'no-store');
}

export function publicRoutes(db: Database, config: Config, renderer: Renderer): Router {
  const router = Router();
  const throttle = (what: string, times = 1) =>
    rateLimit({
      // Counted in PostgreSQL: every instance shares the count (src/web/middleware/pg-rate-limit.ts).
      store: new PostgresRateLimitStore(db.pool, 'public:'),
      windowMs: 15 * 60_000,
      limit: config.PUBLIC_FORM_LIMIT * times,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      keyGenerator: (req) => `${what}|${ipKeyGenerator(req.ip ?? '')}`,
      handler: (_req, res) => {
        res.status(429).render('public/message', {
          title: 'Too many attempts',
          heading: 'Too many attempts',
          message: 'Please wait a few minutes, then try again.',
        });
      },
    });

  // Status by reference number and email.
  router.get('/status', (_req, res) => {
    res.render('public/status-lookup', { title: 'Check a ticket', values: {}, errors: {}, message: null });
  });
  router.post('/status', throttle('status'), async (req, res) => {
    const form = StatusLookupForm.safeParse(req.body ?? {});
    const values = (req.body ?? {}) as Record<string, string>;
    if (!form.success) {
      return res.status(422).render('public/status-lookup', {
        title: 'Check a ticket', values, errors: fieldErrors(form.error), message: 'Please check the fields marked below.',
      });
    }
    const ticket = await findTicketForCustomer(db.prisma, form.data.reference, form.data.email);
    privatePage(res);
    if (!ticket) {
      return res.status(404).render('public/status-lookup', { title: 'Check a ticket', values, errors: {}, message: NOT_FOUND });
    }
    res.render('public/ticket', { title: `${ticket.reference} · status`, ...ticketPage(ticket, null), values: {}, errors: {} });
  });

  // The private access link from the customer's mails.
  const linkInvalid = (res: Response) =>
    res.status(404).render('public/status-lookup', { title: 'Check a ticket', values: {}, errors: {}, message: LINK_INVALID });
  const byToken = async (req: Request, res: Response): Promise<number | null> => {
    const link = await accessLinkFor(db.prisma, String(req.params.token));
    if (link === null) linkInvalid(res);
    return link?.ticketId ?? null;
  };
  // Following a link is no guess (the token is 256 random bits): a looser limit than the forms.
  // Mail providers' link scanners (and previews, prefetchers) GET every link in a mail: this page
  // changes nothing. Until a person has confirmed a link of the ticket, it shows only a button
  // (a form, which scanners do not send); after that, the ticket and its conversation.
  router.get('/s/:token', throttle('link', 4), async (req, res) => {
    privatePage(res);
    const link = await accessLinkFor(db.prisma, String(req.params.token));
    if (link === null) return linkInvalid(res);
    const ticket = await publicTicketById(db.prisma, link.ticketId);
    if (!link.confirmed) {
      return res.render('public/confirm-link', { title: `${ticket.reference} · your request`, reference: ticket.reference, token: req.params.token });
    }
    res.render('public/ticket', {
      title: `${ticket.reference} · status`, ...ticketPage(ticket, String(req.params.token)), values: {}, errors: {},
      notice: req.query.replied === '1' ? 'Thank you: your reply was added to the ticket.' : null,
      colleagues: sharedList(await sharedTicketsFor(db.prisma, link.ticketId), String(req.params.token)),
    });
  });
  // A colleague's ticket, when the customer's organization shares tickets: read-only, its public
  // conversation only, no files, through the customer's own confirmed link. Whatever is wrong
  // (no such reference, not a colleague's, sharing off) gets the same 404 as a missing ticket.
  router.get('/s/:token/org/:reference', throttle('org-link', 4), async (req, res) => {
    privatePage(res);
    const token = String(req.params.token);
    const link = await accessLinkFor(db.prisma, token);
    if (link === null) return linkInvalid(res);
    if (!link.confirmed) return res.redirect(303, `/s/${token}`);
    const ticket = await sharedTicketFor(db.prisma, link.ticketId, String(req.params.reference));
    if (!ticket) {
      return res.status(404).render('public/message', {
        title: 'Ticket not found', heading: 'Ticket not found', message: SHARED_NOT_FOUND,
      });
    }
    res.render('public/ticket', {
      title: `${ticket.reference} · status`, ...ticketPage(ticket, null), values: {}, errors: {},
      shared: { back: `/s/${token}` },
    });
  });
  // A file of the ticket's public conversation (a staff reply's, the customer's own, their
  // report's), under the same rule as the page: a valid link, and a person has confirmed one of
  // the ticket's links — until then the page shows only the button, and its files are not served
  // either (the answer sends to that page, whatever the file). Which files a customer may read is
  // the service's to decide (readCustomerFile): a note's or attempted fix's file, another ticket's
  // and one that does not exist get the same 404. Reads only: GET and HEAD change nothing.
  // A thumbnail is a request too: its own counter, as generous as the page's.
  router.get('/s/:token/files/:fileId{/:name}', throttle('file', 4), async (req, res) => {
    privatePage(res);
    const token = String(req.params.token);
    const link = await accessLinkFor(db.prisma, token);
    if (link === null) return linkInvalid(res);
    if (!link.confirmed) return res.redirect(303, `/s/${token}`);
    const noSuchFile = () =>
      res.status(404).render('public/message', {
        title: 'File not found', heading: 'File not found', message: 'There is no such file on this ticket.',
      });
    const fileId = id.safeParse(req.params.fileId);
    if (!fileId.success) return noSuchFile();
    try {
      const file = await readCustomerFile(db.prisma, link.ticketId, fileId.data, { have: heldCopy(req) });
      sendFile(req, res, file, { cacheControl: 'no-store' });
    } catch (err) {
      if (err instanceof NotFoundError) return noSuchFile();
      // Customers are told that it was redacted, not by whom.
      if (err instanceof RedactedError) {
        return res.status(410).render('public/message', {
          title: 'File redacted', heading: 'File redacted', message: `${err.fileName} was redacted: it can no longer be downloaded.`,
        });
      }
      throw err;
    }
  });
  // The button: the mailbox's owner confirms, and sees the ticket. It proves no more than holding
  // the link does (it only opens the ticket of the link it is on), so a forged one could only show
  // somebody their own ticket: it still needs the CSRF token, like every form.
  router.post('/s/:token/confirm', throttle('confirm', 4), async (req, res) => {
    privatePage(res);
    const ticketId = await confirmAccessLink(db.prisma, String(req.params.token));
    if (ticketId === null) return linkInvalid(res);
    res.redirect(303, `/s/${req.params.token}`);
  });
  router.post('/s/:token/reply', throttle('reply'), async (req, res) => {
    privatePage(res);
    const ticketId = await byToken(req, res);
    if (ticketId === null) return;
    const files = req.files ?? [];
    // A reply may be files alone (as a staff entry may): then its text may be left empty.
    const form = (files.length > 0 || req.uploadError ? CustomerReplyWithFilesForm : CustomerReplyForm).safeParse(req.body ?? {});
    let errors: Record<string, string> = form.success ? {} : fieldErrors(form.error);
    let message = 'Please check the fields marked below.';
    // Files past a limit (dropped while reading) or empty: nothing is written, the text comes back.
    const fileError = filesProblem(req);
    if (fileError) errors.files = fileError;
    else if (form.success) {
      try {
        await addCustomerReply(db.prisma, ticketId, form.data.body, { files });
        return res.redirect(303, `/s/${req.params.token}?replied=1`);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        errors = err.fieldErrors;
        message = err.message;
      }
    }
    const ticket = await publicTicketById(db.prisma, ticketId);
    res.status(422).render('public/ticket', {
      title: `${ticket.reference} · status`, ...ticketPage(ticket, String(req.params.token)),
      values: req.body ?? {}, errors, message,
    });
  });

  // Reporting an issue from the web.
  const requestForm = async (res: Response, status: number, values: Record<string, unknown>, errors: Record<string, string>, message: string | null) => {
    const title = typeof values.title === 'string' ? values.title : '';
    const suggestions = title.trim().length >= 3 ? await suggestHelp(db.prisma, title) : [];
    res.status(status).render('public/request', { title: 'Report an issue', values, errors, message, suggestions });
  };
  router.get('/request', async (req, res) => {
    const q = TitleQuery.safeParse(req.query);
    await requestForm(res, 200, q.success && q.data.title ? { title: q.data.title } : {}, {}, null);
  });
  router.post('/request', throttle('request'), async (req, res) => {
    const values = (req.body ?? {}) as Record<string, unknown>;
    const form = WebRequestForm.safeParse(values);
    // Files past a limit (dropped while reading) or empty: the form comes back with the text typed
    // and the reason beside the file field, and nothing is written.
    const fileError = filesProblem(req);
    if (!form.success || fileError) {
      const errors = form.success ? {} : fieldErrors(form.error);
      if (fileError) errors.files = fileError;
      return requestForm(res, 422, values, errors, 'Please check the fields marked below.');
    }
    // A filled-in honeypot is a bot: it is thanked and nothing is saved (its files neither).
    if (form.data.website) {
      return res.render('public/message', {
        title: 'Request received', heading: 'Thank you', message: 'Your request was received.',
      });
    }
    const { website: _w, ...input } = form.data;
    try {
      const ticket = await submitWebRequest(db.prisma, { ...input, files: req.files ?? [] });
      res.status(201).render('public/request-done', { title: 'Request received', reference: ticket.reference, email: input.email });
    } catch (err) {
      // An empty file (or a rule of the service): nothing was written.
      if (!(err instanceof ValidationError)) throw err;
      return requestForm(res, 422, values, err.fieldErrors, err.message);
    }
  });

  // The public help centre.
  router.get('/help', async (req, res) => {
    const q = HelpQuery.safeParse(req.query);
    const { q: text, page } = q.success ? q.data : { q: '', page: 0 };
    const { hits, hasMore } = await searchHelp(db.prisma, text, page);
    res.render('public/help', {
      title: 'Help centre', q: text, page, hasMore,
      hits: hits.map((h) => ({ ...h, snippet: snippetHtml(h.snippet) })),
    });
  });
  router.get('/help/suggest', async (req, res) => {
    const q = TitleQuery.safeParse(req.query);
    const suggestions = q.success ? await suggestHelp(db.prisma, q.data.title) : [];
    res.render('public/_suggestions', { suggestions });
  });
  router.get('/help/:id', async (req, res) => {
    const articleId = id.safeParse(req.params.id);
    if (!articleId.success) {
      return res.status(404).render('public/message', { title: 'Not found', heading: 'Not found', message: 'There is no such help article.' });
    }
    const article = await getHelpArticle(db.prisma, articleId.data);
    const text = await renderer.markdown(article.body);
    res.render('public/article', { title: article.title, a: article, text, updated: when(article.updatedAt) });
  });

  return router;
}
