import { Router, type Request, type Response } from 'express';
import type { Database } from '../../db/client.js';
import { normalizeReference } from '../../domain/reference.js';
import type { ServiceContext } from '../../services/context.js';
import { ConflictError, NotFoundError, ValidationError } from '../../services/errors.js';
import { can } from '../../services/policy.js';
import { ARTICLE_TRANSITIONS } from '../../services/knowledge/article-rules.js';
import { createArticle, draftFromTicket, setArticleStatus, updateArticle } from '../../services/knowledge/manage-articles.js';
import { articleCategories, getArticle, getRevisions, searchArticles } from '../../services/knowledge/read-articles.js';
import { actorOf } from '../middleware/auth.js';
import { doneIn, withDone } from '../confirmations.js';
import { fieldErrors, id } from '../schemas/common.js';
import { ArticleForm, ArticleSearchQuery, ArticleStatusForm, CompareQuery, EditArticleForm } from '../schemas/articles.js';
import { snippetHtml } from '../presenters/article.js';
import { compareWords } from '../presenters/diff.js';
import type { Renderer } from '../rendering/renderer.js';
import { when } from '../presenters/time.js';
import { timeZoneOf } from '../middleware/locals.js';

type Body = Record<string, unknown>;

export function articleRoutes(db: Database, renderer: Renderer): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });
  const articleId = (req: Request): number => {
    const parsed = id.safeParse(req.params.id);
    if (!parsed.success) throw new NotFoundError('No such article.');
    return parsed.data;
  };

  router.get('/', async (req, res) => {
    const parsed = ArticleSearchQuery.safeParse(req.query);
    const query = parsed.success ? parsed.data : {};
    const c = ctx(req);
    const [result, categories] = await Promise.all([searchArticles(c, query), articleCategories(c)]);
    const page = query.page ?? 0;
    const params = (p: number) => {
      const u = new URLSearchParams();
      if (query.q) u.set('q', query.q);
      if (query.status) u.set('status', query.status);
      if (query.category) u.set('category', query.category);
      if (p) u.set('page', String(p));
      return `/articles?${u.toString()}`;
    };
    res.status(parsed.success ? 200 : 400).render('articles/list', {
      title: 'Knowledge base',
      query,
      categories,
      hits: result.hits.map((h) => ({ ...h, snippet: snippetHtml(h.snippet), updated: when(h.updatedAt, timeZoneOf(res)) })),
      prevUrl: page > 0 ? params(page - 1) : null,
      nextUrl: result.hasMore ? params(page + 1) : null,
      error: parsed.success ? null : Object.values(fieldErrors(parsed.error)).join(' '),
    });
  });

  function renderForm(res: Response, status: number, view: { values: Body; errors: Record<string, string>; message: string | null; article?: { id: number; version: number; title: string } }) {
    res.status(status).render('articles/form', { title: view.article ? `Edit · ${view.article.title}` : 'New article', ...view });
  }

  router.get('/new', async (req, res) => {
    const from = typeof req.query.fromTicket === 'string' ? normalizeReference(req.query.fromTicket) : null;
    if (req.query.fromTicket !== undefined && !from) throw new NotFoundError('No ticket has that reference.');
    const draft = from ? await draftFromTicket(ctx(req), from) : null;
    const values = draft ? { ...draft, tags: draft.tags.join(', ') } : { visibility: 'INTERNAL' };
    renderForm(res, 200, { values, errors: {}, message: null });
  });

  router.post('/', async (req, res) => {
    const body = (req.body ?? {}) as Body;
    const form = ArticleForm.safeParse(body);
    if (!form.success) return renderForm(res, 422, { values: body, errors: fieldErrors(form.error), message: 'Please check the fields marked below.' });
    try {
      const article = await createArticle(ctx(req), form.data);
      res.redirect(303, withDone(`/articles/${article.id}`, 'article-created'));
    } catch (err) {
      if (err instanceof ValidationError) return renderForm(res, 422, { values: body, errors: err.fieldErrors, message: err.message });
      throw err;
    }
  });

  router.get('/:id', async (req, res) => {
    const a = await getArticle(ctx(req), articleId(req));
    const actor = actorOf(req);
    const text = await renderer.markdown(a.body);
    res.render('articles/show', {
      title: a.title,
      a,
      text,
      updated: when(a.updatedAt, timeZoneOf(res)),
      history: a.history.map((h) => ({ ...h, at: when(h.createdAt, timeZoneOf(res)) })),
      revisions: a.revisions.map((r) => ({ ...r, at: when(r.createdAt, timeZoneOf(res)) })),
      canEdit: can(actor, 'article.manage') || (a.status === 'DRAFT' && a.authorId === actor.id),
      nextStatuses: can(actor, 'article.manage') ? ARTICLE_TRANSITIONS[a.status] : [],
      message: null,
      // After a redirect from the article's forms: a fixed text by key (see confirmations.ts).
      done: doneIn(req, 'top'),
    });
  });

  router.get('/:id/edit', async (req, res) => {
    const a = await getArticle(ctx(req), articleId(req));
    renderForm(res, 200, { values: { ...a, tags: a.tags.join(', ') }, errors: {}, message: null, article: a });
  });

  router.post('/:id', async (req, res) => {
    const body = (req.body ?? {}) as Body;
    const idNum = articleId(req);
    const form = EditArticleForm.safeParse(body);
    const again = async (status: number, errors: Record<string, string>, message: string, version?: number) => {
      const a = await getArticle(ctx(req), idNum);
      renderForm(res, status, { values: body, errors, message, article: { ...a, version: version ?? Number(body.version) } });
    };
    if (!form.success) return again(422, fieldErrors(form.error), 'Please check the fields marked below.');
    try {
      await updateArticle(ctx(req), idNum, form.data.version, form.data);
    } catch (err) {
      if (err instanceof ValidationError) return again(422, err.fieldErrors, err.message);
      if (err instanceof ConflictError) {
        const a = await getArticle(ctx(req), idNum);
        return again(409, {}, `${err.message} Your text is kept below; compare with revision ${a.version} and save again.`, a.version);
      }
      throw err;
    }
    res.redirect(303, withDone(`/articles/${idNum}`, 'article-saved'));
  });

  router.post('/:id/status', async (req, res) => {
    const form = ArticleStatusForm.safeParse(req.body ?? {});
    if (!form.success) throw new ValidationError(Object.values(fieldErrors(form.error)).join(' '));
    await setArticleStatus(ctx(req), articleId(req), form.data.version, form.data.status);
    res.redirect(303, withDone(`/articles/${articleId(req)}`, `article-status-${form.data.status.toLowerCase()}`));
  });

  router.get('/:id/revisions/:version', async (req, res) => {
    const v = id.safeParse(req.params.version);
    if (!v.success) throw new NotFoundError('No such revision of this article.');
    const { article, revisions } = await getRevisions(ctx(req), articleId(req), [v.data]);
    const r = revisions[0]!;
    const text = await renderer.markdown(r.body);
    res.render('articles/revision', { title: `${article.title} · revision ${r.version}`, a: article, r, text, at: when(r.createdAt, timeZoneOf(res)) });
  });

  router.get('/:id/compare', async (req, res) => {
    const q = CompareQuery.safeParse(req.query);
    if (!q.success) throw new ValidationError('Choose two revisions to compare.');
    const { article, revisions } = await getRevisions(ctx(req), articleId(req), [q.data.from, q.data.to]);
    const [from, to] = revisions as [(typeof revisions)[0], (typeof revisions)[0]];
    // Line by line in a render worker, with a time limit: two very different long texts are
    // only linked to, with a note that they differ too much to compare.
    const body = from.body === to.body ? { parts: [{ kind: 'same' as const, text: to.body }] } : await renderer.compareLines(from.body, to.body);
    res.render('articles/compare', {
      title: `${article.title} · revisions ${from.version} and ${to.version}`,
      a: article,
      from,
      to,
      titleDiff: compareWords(from.title, to.title),
      bodyDiff: body.parts,
      bodyNotCompared: body.parts ? null : body.reason,
    });
  });

  return router;
}
