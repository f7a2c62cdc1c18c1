import { problemPanel } from '../../services/errors/read.js';
import { setFixedInRelease } from '../../services/errors/fixed-in.js';
import { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import type { Database } from '../../db/client.js';
import { URGENCIES, type TicketStatus } from '../../domain/enums.js';
import { normalizeReference } from '../../domain/reference.js';
import { plainStatusMoves } from '../../domain/status.js';
import type { ServiceContext } from '../../services/context.js';
import { ConflictError, NotFoundError, ValidationError } from '../../services/errors.js';
import { createTicket, type NewTicket } from '../../services/tickets/create-ticket.js';
import { logDuplicateTicket } from '../../services/tickets/log-duplicate.js';
import { HIDDEN_MATCHES_LIMIT, QUEUE_SORTS, SEARCH_COUNT_LIMIT, listQueue, type QueueRow } from '../../services/tickets/queue.js';
import { BULK_LIMIT, bulkChange } from '../../services/tickets/bulk.js';
import { VIEW_COUNT_LIMIT, deleteView, listSavedViews, saveView } from '../../services/tickets/saved-views.js';
import { getChangesSince, getTicketView } from '../../services/tickets/ticket-view.js';
import { updateTicketDetails } from '../../services/tickets/update-details.js';
import { changeUrgency } from '../../services/tickets/change-urgency.js';
import { changeStatus } from '../../services/tickets/change-status.js';
import { assignTicket, takeTicket } from '../../services/tickets/assign-ticket.js';
import { resolveTicket } from '../../services/tickets/resolve-ticket.js';
import { reopenTicket } from '../../services/tickets/reopen-ticket.js';
import { addWorkLog } from '../../services/tickets/add-work-log.js';
import { listAssignableUsers } from '../../services/users/list-users.js';
import { listTeams, teamIdsOf } from '../../services/teams/teams.js';
import { moveTicketToTeam } from '../../services/tickets/move-team.js';
import { linkArticle, unlinkArticle } from '../../services/tickets/link-article.js';
import { findSimilarTickets } from '../../services/tickets/similar-tickets.js';
import { searchArticles, suggestArticles } from '../../services/knowledge/read-articles.js';
import { LinkArticleForm } from '../schemas/articles.js';
import { revokeAccessLinks } from '../../services/public/access-links.js';
import { actorOf } from '../middleware/auth.js';
import { can } from '../../services/policy.js';
import type { IncomingFile } from '../../services/attachments/files.js';
import { readTicketFile } from '../../services/attachments/read.js';
import { getChangedSince, isBaseValue } from '../../services/tickets/stale.js';
import type { TrackedField } from '../../services/tickets/history.js';
import { redactAttachment, sameContent } from '../../services/attachments/redact.js';
import { heldCopy, sendFile } from '../send-file.js';
import { fieldErrors } from '../schemas/common.js';
import { confirmation, doneKey, withDone } from '../confirmations.js';
import {
  AssignForm,
  BulkForm,
  SaveViewForm,
  DetailsForm,
  EmptyForm,
  FileId,
  NewTicketForm,
  RedactForm,
  QueueQuery,
  TypingForm,
  ReopenForm,
  FixedInForm,
  ResolveForm,
  StatusForm,
  TeamForm,
  UrgencyForm,
  VersionForm,
  WorkLogForm,
  encodeCursor,
  TagForm,
  MacroForm,
} from '../schemas/tickets.js';
import { timeline } from '../presenters/ticket.js';
import { followTicket, unfollowTicket } from '../../services/notifications/follow.js';
import { handleIndex, mentionParts } from '../../services/notifications/mentions.js';
import { TooManyStreams, type LiveHub } from '../live.js';
import { setTyping } from '../../services/live/presence.js';
import { age, ago, when } from '../presenters/time.js';
import { timeZoneOf } from '../middleware/locals.js';
import { organizationNames } from '../../services/organizations/read-organizations.js';
import { slaSettings } from '../../services/sla/policies.js';
import { dueShown, slaPanel } from '../presenters/sla.js';
import { explainTicketSla } from '../../services/sla/explain.js';
import { addTicketTag, removeTicketTag } from '../../services/tickets/tags.js';
import { applyMacro, cannedRepliesFor, listMacros } from '../../services/automation/macros.js';
import { runbookPanel } from './runbooks.js';
import type { Renderer } from '../rendering/renderer.js';

type Body = Record<string, unknown>;

/** A form that failed: which action, the message, the field messages, and what the user typed. */
interface FailedAction {
  action: string;
  message: string;
  fieldErrors: Record<string, string>;
  values: Body;
}

const NEW_TICKET_DEFAULTS = { urgency: 'NORMAL', channel: 'PHONE' };

/** Statuses a bulk change may set (resolving needs a reason: "close as duplicate" instead). */
const BULK_STATUSES: readonly TicketStatus[] = ['OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER', 'CLOSED'];

export function ticketRoutes(db: Database, live: LiveHub, renderer: Renderer): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });

  function referenceParam(req: Request): string {
    const raw = String(req.params.reference ?? '');
    const reference = normalizeReference(raw);
    if (!reference) throw new NotFoundError(`No ticket has the reference ${raw}.`);
    return reference;
  }

  /** Which section shows the confirmation: the one the redirect's anchor lands on. */
  function doneAt(message: string | null, key: unknown, fileQuery: unknown, reportFiles: { id: number }[]) {
    if (!message || typeof key !== 'string') return null;
    if (key.startsWith('worklog-')) return { message, section: 'worklog' };
    if (key === 'articles' || key === 'unlink-article') return { message, section: 'articles' };
    if (key === 'follow' || key === 'unfollow') return { message, section: 'following' };
    if (key.startsWith('runbook-')) return { message, section: 'runbooks' };
    if (key === 'redact-file') {
      const id = typeof fileQuery === 'string' ? Number(fileQuery) : NaN;
      return { message, section: reportFiles.some((f) => f.id === id) ? 'problem-details' : 'worklog' };
    }
    return { message, section: 'history' };
  }

  async function renderTicket(req: Request, res: Response, reference: string, status = 200, failed?: FailedAction) {
    const c = ctx(req);
    const [view, teams, everyone, macros, canned] = await Promise.all([
      getTicketView(c, reference), listTeams(c), listAssignableUsers(c), listMacros(c), cannedRepliesFor(c, reference),
    ]);
    // A canned reply chosen without JavaScript (?canned=id): the reply box comes pre-filled, nothing written.
    const cannedId = typeof req.query.canned === 'string' ? Number(req.query.canned) : NaN;
    const cannedText = canned.find((r) => r.id === cannedId)?.text ?? null;
    // The SLA clocks explained, when a policy applies (one more query, only then).
    const sla = view.ticket.slaPolicyId != null ? slaPanel(await explainTicketSla(c, view.ticket.id), new Date(), timeZoneOf(res)) : null;
    // An automatic error report's problem: counts, releases, the latest events (one query, only then).
    const errors = view.ticket.channel === 'AUTOMATIC' ? await problemPanel(c.db, view.ticket.id) : null;
    // Who the ticket can be given to: the active members of its team.
    const staff = teams.find((tm) => tm.id === view.ticket.teamId)?.members ?? [];
    // Articles to link: only when asked (?kb=words, or ?kb= for articles matching the title).
    const kb = typeof req.query.kb === 'string' ? req.query.kb.trim().slice(0, 200) : null;
    const kbHits =
      kb === null
        ? null
        : kb
          ? (await searchArticles(c, { q: kb, status: 'PUBLISHED' })).hits
          : await suggestArticles(c, view.ticket.title, 10);
    const now = new Date();
    // @handles of active colleagues in notes and attempted fixes are shown highlighted (escaped there).
    const handles = handleIndex(everyone);
    const mentions = (e: { kind: string; body: string }) =>
      (e.kind === 'NOTE' || e.kind === 'ATTEMPTED_FIX') && e.body.includes('@') ? mentionParts(e.body, handles) : null;
    // Where the work is (the keyboard's first stop, public/js/keys.js): the reply, when the
    // customer spoke last (or reported it and nobody answered yet) on a ticket that needs work.
    const last = view.workLog.at(-1);
    const needsWork = !['RESOLVED', 'CLOSED', 'WAITING_ON_CUSTOMER'].includes(view.ticket.status);
    const awaitsUs = needsWork && (last ? last.kind === 'CUSTOMER_REPLY' : view.ticket.createdById === null);
    res.status(status).render('tickets/show', {
      title: `${view.ticket.reference} · ${view.ticket.title}`,
      t: view.ticket,
      sla,
      errorReport: errors
        ? {
            ...errors,
            first: when(errors.firstSeen, timeZoneOf(res)),
            last: when(errors.lastSeen, timeZoneOf(res)),
            lastAgo: ago(errors.lastSeen, now),
            events: errors.events.map((e) => ({ ...e, at: when(e.receivedAt, timeZoneOf(res)) })),
          }
        : null,
      slaDue: sla ? dueShown(view.ticket.slaDueAt, view.ticket.slaPolicyId, view.ticket.status, new Date()) : null,
      // Completed in place (this request's own objects): a spread with new keys is slow (bench-spread.ts).
      workLog: view.workLog.map((e) => Object.assign(e, { at: when(e.createdAt, timeZoneOf(res)), ago: ago(e.createdAt, now), parts: mentions(e) })),
      markMentions: (text: string) => mentionParts(text, handles),
      followers: view.followers,
      followerCount: view.followerCount,
      following: view.following,
      timeline: timeline(view.history, now, timeZoneOf(res)),
      mails: view.mails.map((m) => Object.assign(m, { at: when(m.sentAt ?? m.createdAt, timeZoneOf(res)), ago: ago(m.sentAt ?? m.createdAt, now) })),
      activeLinks: view.activeLinks,
      opened: { at: when(view.ticket.createdAt, timeZoneOf(res)), ago: ago(view.ticket.createdAt, now) },
      updated: { at: when(view.ticket.updatedAt, timeZoneOf(res)), ago: ago(view.ticket.updatedAt, now) },
      nextStatuses: plainStatusMoves(view.ticket.status),
      reportFiles: view.reportFiles,
      reportMailId: view.reportMailId,
      fileHref: (id: number, name: string) => `/tickets/${view.ticket.reference}/files/${id}/${encodeURIComponent(name)}`,
      redactHref: can(c.actor, 'attachment.redact') ? (id: number) => `/tickets/${view.ticket.reference}/redact-file/${id}` : null,
      staff,
      teams,
      kb,
      kbHits,
      failed: failed ?? null,
      // Live updates (public/js/live.js): the latest history row the page shows (every change writes one).
      liveMark: view.history.reduce((m, h) => Math.max(m, h.id), 0),
      awaitsUs,
      // Macros to apply and canned replies for the reply box (views/tickets/_macros.ejs, _canned.ejs).
      macros: macros.map((m) => ({ id: m.id, name: m.name, shared: m.ownerId === null })),
      canned,
      cannedText,
      // Run books: attached ones as checklists, suggestions (views/tickets/_runbooks.ejs).
      runbooks: await runbookPanel(c, view.ticket, renderer, timeZoneOf(res), view.hasRunbooks),
      // After a redirect from one of the forms: what was done, and the section it is shown in.
      done: failed ? null : doneAt(confirmation(req.query.done), req.query.done, req.query.file, view.reportFiles),
    });
  }

  /**
   * The queue by the filters in `raw` (its URL's query, or the query a form came back from), with
   * the user's saved views. `problem`: a refused form's message and the form it belongs to.
   */
  async function renderQueue(
    req: Request,
    res: Response,
    raw: Record<string, unknown>,
    status = 200,
    problem: { form: 'bulk' | 'view'; message: string; values?: Body } | null = null,
  ) {
    const parsed = QueueQuery.safeParse(raw);
    const query = parsed.success ? parsed.data : QueueQuery.parse({});
    const c = ctx(req);
    const teams = await listTeams(c);
    // "My teams": the teams the user is in (none: an empty queue that says so).
    const teamFilter = query.team === 'mine' ? await teamIdsOf(c) : query.team === undefined ? undefined : [query.team];
    const [page, staff, views, sla] = await Promise.all([
      listQueue(c, { statuses: query.status, urgency: query.urgency, assignee: query.assignee, teams: teamFilter, text: query.q, sort: query.sort, after: query.after }),
      listAssignableUsers(c),
      listSavedViews(c),
      slaSettings(c.db),
    ]);
    // The "Due" column, when SLA policies are in use (or the queue is in due order).
    const slaOn = sla.policies.length > 0 || query.sort === 'due';
    const shown = parsed.success ? raw : {};
    const now = new Date();
    const filterParams = new URLSearchParams();
    for (const key of ['status', 'urgency', 'assignee', 'team', 'q', 'sort'] as const) {
      const v = shown[key];
      if (typeof v === 'string' && v !== '' && !(key === 'sort' && v === 'urgency')) filterParams.set(key, v);
    }
    const urgencyLinks = Object.fromEntries(
      URGENCIES.map((u) => {
        const p = new URLSearchParams(filterParams);
        p.set('urgency', u);
        return [u, `/tickets?${p.toString()}`];
      }),
    );
    const sortLinks = Object.fromEntries(
      QUEUE_SORTS.map((s) => {
        const p = new URLSearchParams(filterParams);
        if (s === 'urgency') p.delete('sort');
        else p.set('sort', s);
        return [s, `/tickets?${p.toString()}`];
      }),
    );
    // A search that left resolved or closed tickets out says how many, with the same search over every status.
    let hiddenDone: { count: string; one: boolean; href: string } | null = null;
    if (page.hiddenDone) {
      const all = new URLSearchParams(filterParams);
      all.set('status', 'all');
      const count = page.hiddenDone > HIDDEN_MATCHES_LIMIT ? `${HIDDEN_MATCHES_LIMIT.toLocaleString('en')}+` : String(page.hiddenDone);
      hiddenDone = { count, one: page.hiddenDone === 1, href: `/tickets?${all.toString()}` };
    }
    const nextParams = new URLSearchParams(filterParams);
    if (page.next) nextParams.set('after', encodeCursor(page.next));
    const thisPage = new URLSearchParams(filterParams);
    if (query.after) thisPage.set('after', encodeCursor(query.after));
    const sort = query.sort;
    // The last column's time: age for the urgency and age orders, else the order's own time.
    const timeOf = (r: QueueRow) => (sort === 'updated' ? r.updatedAt : sort === 'waiting' ? r.awaitingSince : r.createdAt);
    const currentView = filterParams.toString();
    const teamName = new Map(teams.map((t) => [t.id, t.isDefault ? null : t.name]));
    const zone = timeZoneOf(res);
    res.status(status === 200 && !parsed.success ? 400 : status).render('tickets/queue', {
      title: query.team === 'mine' ? 'My teams' : 'Queue',
      // Each row a literal: in Node 20's V8, `{ ...row, more }` costs ~50 µs per object (measured
      // in scripts/bench-spread.ts), 2.5 ms for a page of 50 rows, against ~0.1 µs written out.
      rows: page.rows.map((r) => {
        const t = timeOf(r);
        return {
          id: r.id,
          reference: r.reference,
          title: r.title,
          urgency: r.urgency,
          status: r.status,
          version: r.version,
          customerName: r.customerName,
          customerOrganization: r.customerOrganization,
          assigneeId: r.assigneeId,
          assigneeName: r.assigneeName,
          awaitingSince: r.awaitingSince,
          slaDueAt: r.slaDueAt,
          unseen: r.unseen,
          newReply: r.newReply,
          teamName: teamName.get(r.teamId) ?? null,
          item: `${r.reference}:${r.version}`,
          time: t ? age(t, now) : null,
          at: t ? t.toISOString() : null,
          atLabel: t ? when(t, zone) : null,
          due: slaOn ? dueShown(r.slaDueAt, r.slaPolicyId, r.status, now) : null,
          dueLabel: slaOn && r.slaDueAt ? when(r.slaDueAt, zone) : null,
        };
      }),
      slaOn,
      // A search with more matches than SEARCH_COUNT_LIMIT stopped counting there: lower bounds.
      counts: page.countsCapped ? Object.fromEntries(Object.entries(page.counts).map(([u, n]) => [u, `${n.toLocaleString('en')}+`])) : page.counts,
      total: page.countsCapped ? `${SEARCH_COUNT_LIMIT.toLocaleString('en')}+` : page.total,
      hiddenDone,
      filters: {
        status: shown.status ?? 'active',
        urgency: shown.urgency ?? '',
        assignee: shown.assignee ?? 'anyone',
        team: shown.team ?? '',
        q: shown.q ?? '',
        sort,
      },
      teams,
      noTeams: query.team === 'mine' && teamFilter?.length === 0,
      filterQuery: filterParams.toString(),
      pageQuery: thisPage.toString(),
      urgencyLinks,
      sortLinks,
      timeTitle: sort === 'updated' ? 'Last updated' : sort === 'waiting' ? 'Waiting for us since' : 'Opened',
      nextUrl: page.next ? `/tickets?${nextParams.toString()}` : null,
      isFirstPage: !query.after,
      staff,
      views: views.views.map((v) => ({
        ...v,
        count: v.count === null ? null : v.count > VIEW_COUNT_LIMIT ? `${VIEW_COUNT_LIMIT.toLocaleString('en')}+` : v.count.toLocaleString('en'),
        current: v.query !== null && v.query === currentView,
      })),
      bulkStatuses: BULK_STATUSES,
      macros: (await listMacros(c)).map((m) => ({ id: m.id, name: m.name })),
      problem,
      done: problem ? null : confirmation(req.query.done),
      error: parsed.success ? null : Object.values(fieldErrors(parsed.error)).join(' '),
    });
  }

  // The queue.
  router.get('/', async (req, res) => {
    await renderQueue(req, res, req.query as Record<string, unknown>);
  });

  /** A queue query string sent back by a form, as the query it was (only plain query text). */
  const queryOf = (back: unknown): Record<string, unknown> =>
    typeof back === 'string' && back.length <= 2000 ? Object.fromEntries(new URLSearchParams(back)) : {};

  // Bulk actions on the selected rows: each ticket through its single change's service (bulk.ts).
  router.post('/bulk', async (req, res) => {
    const body = (req.body ?? {}) as Body;
    const back = queryOf(body.back);
    // "Select all on this page" without JavaScript: the page's rows (one hidden field, as the
    // checkboxes' values separated by spaces).
    const values =
      body.all === '1' && typeof body.page === 'string' && body.page.length <= 4000
        ? { ...body, t: body.page.split(' ').filter(Boolean).slice(0, BULK_LIMIT + 1) }
        : body;
    const form = BulkForm.safeParse(values);
    if (!form.success) {
      const errors = fieldErrors(form.error);
      return renderQueue(req, res, back, 422, { form: 'bulk', message: errors.t ?? Object.values(errors).join(' '), values: body });
    }
    let result;
    try {
      result = await bulkChange(ctx(req), form.data.items, form.data.action);
    } catch (err) {
      if (err instanceof ValidationError) return renderQueue(req, res, back, 422, { form: 'bulk', message: err.message, values: body });
      throw err;
    }
    res.render('tickets/bulk-result', {
      title: 'Bulk change',
      result,
      backUrl: `/tickets${form.data.back ? `?${form.data.back}` : ''}`,
    });
  });

  // Saved views: save the current filters and sort under a name; delete one's own.
  router.post('/views', async (req, res) => {
    const body = (req.body ?? {}) as Body;
    const form = SaveViewForm.safeParse(body);
    const filters = Object.fromEntries(['status', 'urgency', 'assignee', 'team', 'q', 'sort'].map((k) => [k, body[k]]).filter(([, v]) => typeof v === 'string'));
    if (!form.success) {
      return renderQueue(req, res, filters, 422, { form: 'view', message: Object.values(fieldErrors(form.error)).join(' '), values: body });
    }
    const f = form.data;
    try {
      await saveView(ctx(req), {
        name: f.name,
        shared: f.share.shared,
        teamId: f.share.teamId,
        sort: f.sort,
        query: { status: f.status, urgency: f.urgency, assignee: f.assignee, team: f.team, q: f.q },
      });
    } catch (err) {
      if (err instanceof ValidationError) return renderQueue(req, res, filters, 422, { form: 'view', message: err.message, values: body });
      throw err;
    }
    const params = new URLSearchParams(Object.entries(filters).filter(([k, v]) => v !== '' && !(k === 'sort' && v === 'urgency')) as [string, string][]);
    params.set('done', 'view-saved');
    res.redirect(303, `/tickets?${params.toString()}`);
  });

  router.post('/views/:id/delete', async (req, res) => {
    const id = FileId.parse(req.params.id);
    if (id === null) throw new NotFoundError('You have no such view.');
    const form = EmptyForm.safeParse(req.body ?? {});
    if (!form.success) return renderQueue(req, res, {}, 422, { form: 'view', message: 'Please check the form.' });
    await deleteView(ctx(req), id);
    res.redirect(303, '/tickets?done=view-deleted');
  });

  /** Articles and open tickets that look like the problem being typed (for the new-ticket form). */
  async function suggestionsFor(c: ServiceContext, title: string) {
    const [articles, tickets] = await Promise.all([suggestArticles(c, title), findSimilarTickets(c, title)]);
    return { articles, tickets };
  }

  router.get('/new', async (req, res) => {
    // "Look for similar problems first" sends the form here (GET): keep what was typed, add suggestions.
    const typed = Object.fromEntries(
      Object.entries(req.query).filter((e): e is [string, string] => typeof e[1] === 'string').map(([k, v]) => [k, v.slice(0, 20_000)]),
    );
    const title = (typed.title ?? '').trim().slice(0, 200);
    const suggestions = title ? await suggestionsFor(ctx(req), title) : null;
    res.render('tickets/new', {
      title: 'New ticket',
      teams: await listTeams(ctx(req)),
      values: { ...NEW_TICKET_DEFAULTS, ...typed },
      errors: {},
      message: null,
      suggestions,
      organizations: await organizationNames(ctx(req)),
    });
  });

  // The same suggestions as an HTML fragment, fetched by public/js/suggest.js while the title is typed.
  router.get('/suggest', async (req, res) => {
    const title = typeof req.query.title === 'string' ? req.query.title.trim().slice(0, 200) : '';
    const suggestions = title.length >= 3 ? await suggestionsFor(ctx(req), title) : { articles: [], tickets: [] };
    res.render('tickets/_suggestions', { suggestions });
  });

  router.post('/', async (req, res) => {
    const body = (req.body ?? {}) as Body;
    const form = NewTicketForm.safeParse(body);
    const fail = async (message: string, errors: Record<string, string>) =>
      res.status(422).render('tickets/new', { title: 'New ticket', teams: await listTeams(ctx(req)), values: body, errors, message, suggestions: null });
    if (req.uploadError) return fail(req.uploadError, { files: req.uploadError });
    if (!form.success) return fail('Please check the fields marked below.', fieldErrors(form.error));
    const f = form.data;
    try {
      const create = f.duplicateOf
        ? (c: ServiceContext, input: NewTicket) => logDuplicateTicket(c, input, f.duplicateOf!)
        : createTicket;
      const ticket = await create(ctx(req), {
        title: f.title,
        description: f.description,
        urgency: f.urgency,
        channel: f.channel,
        environment: f.environment,
        occurrence: f.occurrence,
        workaround: f.workaround,
        customer: { name: f.customerName, email: f.customerEmail, phone: f.customerPhone, organization: f.customerOrganization },
        teamId: f.teamId,
        assignToMe: f.assignToMe === '1',
        notifyCustomer: f.quiet !== '1',
        files: req.files ?? [],
      });
      res.redirect(303, `/tickets/${ticket.reference}`);
    } catch (err) {
      if (err instanceof ValidationError) return fail(err.message, err.fieldErrors);
      throw err;
    }
  });

  router.get('/:reference', async (req, res) => {
    const reference = referenceParam(req);
    if (reference !== req.params.reference) return res.redirect(301, `/tickets/${reference}`);
    await renderTicket(req, res, reference);
  });

  // Live updates of an open ticket page (server-sent events, see src/web/live.ts): staff only,
  // as the page itself. Past the caps a plain 429, which EventSource does not retry.
  router.get('/:reference/events', async (req, res) => {
    const reference = referenceParam(req);
    try {
      await live.open(req, res, actorOf(req), reference);
    } catch (err) {
      if (!(err instanceof TooManyStreams)) throw err;
      res.status(429).type('text/plain').send(err.message);
    }
  });

  // "Writing a reply / a note" beats from the page's script, throttled there (public/js/live.js).
  router.post('/:reference/typing', async (req, res) => {
    const form = TypingForm.safeParse(req.body ?? {});
    if (!form.success) return res.status(422).type('text/plain').send(Object.values(fieldErrors(form.error)).join(' '));
    await setTyping(ctx(req), referenceParam(req), form.data.kind);
    res.status(204).end();
  });

  /**
   * One POST route per thing a technician can do on a ticket. The route parses, the service
   * decides; a refused change re-renders the page with the user's input and the reason, a stale
   * form shows what changed meanwhile.
   */
  function action<S extends z.ZodType>(
    name: string,
    schema: S,
    run: (c: ServiceContext, reference: string, input: z.output<S>, files: IncomingFile[]) => Promise<unknown>,
    done: (input: z.output<S>) => string = () => name,
  ) {
    router.post(`/:reference/${name}`, async (req, res) => {
      const reference = referenceParam(req);
      const values = (req.body ?? {}) as Body;
      // Files past a limit were dropped while reading: the form comes back with its text and why.
      if (req.uploadError) {
        return renderTicket(req, res, reference, 422, { action: name, message: req.uploadError, fieldErrors: { files: req.uploadError }, values });
      }
      const form = schema.safeParse(values);
      if (!form.success) {
        const errors = fieldErrors(form.error);
        // The version is a hidden field: its message goes at the top.
        const message = errors.version ?? 'Please check the fields marked below.';
        return renderTicket(req, res, reference, 422, { action: name, message, fieldErrors: errors, values });
      }
      try {
        await run(ctx(req), reference, form.data, req.files ?? []);
      } catch (err) {
        if (err instanceof ValidationError) {
          return renderTicket(req, res, reference, 422, { action: name, message: err.message, fieldErrors: err.fieldErrors, values });
        }
        if (err instanceof ConflictError) return renderConflict(req, res, reference, name, values, err.message);
        throw err;
      }
      // The page says what was done, where the user lands (a fixed text chosen by key: see confirmations.ts).
      // (Unlinking an article is done in the articles section too: it lands there.)
      const anchor =
        name === 'worklog' ? name
        : name === 'articles' || name === 'unlink-article' ? 'articles'
        : name === 'follow' || name === 'unfollow' ? 'following'
        : 'history';
      res.redirect(303, withDone(`/tickets/${reference}`, done(form.data), anchor));
    });
  }

  async function renderConflict(req: Request, res: Response, reference: string, name: string, values: Body, message: string) {
    const c = ctx(req);
    const formVersion = Number(values.version) || 0;
    const [view, changes, staff, teams] = await Promise.all([
      getTicketView(c, reference),
      getChangesSince(c, reference, formVersion),
      listAssignableUsers(c),
      listTeams(c),
    ]);
    // What the user did not change (sent as it was when they opened the page) is shown, and sent
    // again, as it is now: "Apply my change" must not put back a colleague's value of another field.
    const since = formVersion >= 1 ? await getChangedSince(c, reference, formVersion) : new Map();
    const current = view.ticket as unknown as Record<string, unknown>;
    const kept = Object.entries(values)
      .filter(([k]) => k !== '_csrf' && k !== 'version')
      .map(([k, v]): [string, unknown] => {
        const base = since.get(k as TrackedField);
        return base && isBaseValue(k as TrackedField, v, base) ? [k, current[k] ?? ''] : [k, v];
      });
    res.status(409).render('tickets/conflict', {
      title: `Changed meanwhile · ${reference}`,
      t: view.ticket,
      message,
      action: name,
      kept,
      staff,
      teams,
      changes: timeline(changes, new Date(), timeZoneOf(res)),
    });
  }

  const target = (reference: string, f: { version: number }) => ({ reference, version: f.version });

  action('details', DetailsForm, (c, ref, f) =>
    updateTicketDetails(c, target(ref, f), {
      title: f.title,
      description: f.description,
      channel: f.channel,
      environment: f.environment,
      occurrence: f.occurrence,
      workaround: f.workaround,
    }),
  );
  action('urgency', UrgencyForm, (c, ref, f) => changeUrgency(c, target(ref, f), f.urgency), (f) => doneKey.urgency(f.urgency));
  action('status', StatusForm, (c, ref, f) => changeStatus(c, target(ref, f), f.status), (f) => doneKey.status(f.status));
  action('take', VersionForm, (c, ref, f) => takeTicket(c, target(ref, f)));
  action('team', TeamForm, (c, ref, f) => moveTicketToTeam(c, target(ref, f), f.teamId));
  action('assign', AssignForm, (c, ref, f) => assignTicket(c, target(ref, f), f.assigneeId), (f) => (f.assigneeId === null ? 'unassign' : 'assign'));
  action('resolve', ResolveForm, (c, ref, f) =>
    resolveTicket(c, target(ref, f), {
      code: f.resolutionCode,
      note: f.resolutionNote,
      internalNote: f.internalResolutionNote,
      duplicateOf: f.duplicateOf,
      articleId: f.resolutionArticleId,
    }),
    (f) => doneKey.resolve(f.resolutionCode),
  );
  action('reopen', ReopenForm, (c, ref, f) => reopenTicket(c, target(ref, f), f.reason));
  action('fixed-in', FixedInForm, (c, ref, f) => setFixedInRelease(c, ref, f.release));
  action(
    'worklog',
    WorkLogForm,
    (c, ref, f, files) => addWorkLog(c, ref, { kind: f.kind, body: f.body, outcome: f.outcome, files }, { waitForCustomer: f.waitForCustomer }),
    (f) => doneKey.worklog(f.kind),
  );
  action('articles', LinkArticleForm, (c, ref, f) => linkArticle(c, ref, f.articleId));
  action('unlink-article', LinkArticleForm, (c, ref, f) => unlinkArticle(c, ref, f.articleId));
  action('revoke-links', EmptyForm, (c, ref) => revokeAccessLinks(c, { reference: ref }));
  action('follow', EmptyForm, (c, ref) => followTicket(c, ref));
  action('unfollow', EmptyForm, (c, ref) => unfollowTicket(c, ref));
  // Tags are a set: adding or removing one needs no version (services/tickets/tags.ts).
  action('tags', TagForm, (c, ref, f) => addTicketTag(c, { reference: ref }, f.tag), () => 'tag-added');
  action('untag', TagForm, (c, ref, f) => removeTicketTag(c, { reference: ref }, f.tag), () => 'tag-removed');
  action('macro', MacroForm, (c, ref, f) => applyMacro(c, target(ref, f), f.macroId), () => 'macro-applied');

  // Files: read (staff), and redaction (admins) with a page that says what else has the same bytes.
  const fileParams = (req: Request) => {
    const id = FileId.parse(req.params.fileId);
    if (id === null) throw new NotFoundError('There is no such file.');
    return { reference: referenceParam(req), id };
  };
  router.get('/:reference/files/:fileId{/:name}', async (req, res) => {
    const { reference, id } = fileParams(req);
    sendFile(req, res, await readTicketFile(ctx(req), reference, id, { have: heldCopy(req) }));
  });
  async function renderRedaction(req: Request, res: Response, reference: string, id: number, status = 200, message: string | null = null) {
    const c = ctx(req);
    const [view, others] = await Promise.all([getTicketView(c, reference), sameContent(c, reference, id)]);
    const all = [...view.reportFiles, ...view.workLog.flatMap((e) => e.files)];
    const file = all.find((f) => f.id === id);
    if (!file) throw new NotFoundError('There is no such file on this ticket.');
    // A file that came inside a forwarded message is in that message's .eml on the same entry too.
    const forwards = all.filter((f) => f.id !== id && f.workLogEntryId === file.workLogEntryId && f.mediaType === 'message/rfc822' && !f.redacted);
    res.status(status).render('tickets/redact', { title: `Redact ${file.fileName} · ${reference}`, t: view.ticket, file, others, forwards, message });
  }
  router.get('/:reference/redact-file/:fileId', async (req, res) => {
    const { reference, id } = fileParams(req);
    await renderRedaction(req, res, reference, id);
  });
  router.post('/:reference/redact-file/:fileId', async (req, res) => {
    const { reference, id } = fileParams(req);
    const form = RedactForm.safeParse(req.body ?? {});
    if (!form.success) return renderRedaction(req, res, reference, id, 422, 'Please check the form.');
    try {
      await redactAttachment(ctx(req), reference, id, { everywhere: form.data.everywhere === '1' });
    } catch (err) {
      if (err instanceof ValidationError) return renderRedaction(req, res, reference, id, 422, err.message);
      throw err;
    }
    res.redirect(303, withDone(`/tickets/${reference}`, 'redact-file', `file-${id}`, { file: id }));
  });

  return router;
}
