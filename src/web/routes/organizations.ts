import { Router, type Request, type Response } from 'express';
import type { Database } from '../../db/client.js';
import type { ServiceContext } from '../../services/context.js';
import { ConflictError, NotFoundError, ValidationError } from '../../services/errors.js';
import { can, assertCan } from '../../services/policy.js';
import { createOrganization, updateOrganization } from '../../services/organizations/manage-organizations.js';
import {
  getOrganizationPage,
  listOrganizations,
  ORGANIZATION_PEOPLE_LIMIT,
  ORGANIZATION_TICKET_LIMIT,
} from '../../services/organizations/read-organizations.js';
import { actorOf } from '../middleware/auth.js';
import { doneIn, withDone } from '../confirmations.js';
import { fieldErrors, id } from '../schemas/common.js';
import { NewOrganizationForm, OrganizationForm, OrganizationQuery, encodeCursor } from '../schemas/organizations.js';
import { organizationTimeline } from '../presenters/organization.js';
import { age, ago, when } from '../presenters/time.js';

type Body = Record<string, unknown>;

/** A refused form: the message, the field messages and what the user sent. */
interface Failed {
  message: string;
  errors: Record<string, string>;
  values: Body;
}

export function organizationRoutes(db: Database): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });

  const organizationId = (req: Request): number => {
    const parsed = id.safeParse(req.params.id);
    if (!parsed.success) throw new NotFoundError('There is no such organization.');
    return parsed.data;
  };

  // The list: search by part of the name; people and open tickets counted.
  router.get('/', async (req, res) => {
    const parsed = OrganizationQuery.safeParse(req.query);
    const query = parsed.success ? parsed.data : { q: undefined, after: undefined };
    const page = await listOrganizations(ctx(req), query);
    const nextParams = new URLSearchParams();
    if (query.q) nextParams.set('q', query.q);
    if (page.next) nextParams.set('after', encodeCursor(page.next));
    res.status(parsed.success ? 200 : 400).render('organizations/list', {
      title: 'Organizations',
      rows: page.rows,
      q: query.q ?? '',
      nextUrl: page.next ? `/organizations?${nextParams.toString()}` : null,
      isFirstPage: !query.after,
      canManage: can(actorOf(req), 'organization.manage'),
      error: parsed.success ? null : Object.values(fieldErrors(parsed.error)).join(' '),
    });
  });

  const renderNew = (res: Response, status: number, failed?: Failed) =>
    res.status(status).render('organizations/form', {
      title: 'New organization',
      org: null,
      values: failed?.values ?? {},
      errors: failed?.errors ?? {},
      message: failed?.message ?? null,
    });

  router.get('/new', (req, res) => {
    assertCan(actorOf(req), 'organization.manage');
    renderNew(res, 200);
  });

  router.post('/', async (req, res) => {
    // Technicians are refused before their input is even read.
    assertCan(actorOf(req), 'organization.manage');
    const values = (req.body ?? {}) as Body;
    const form = NewOrganizationForm.safeParse(values);
    if (!form.success) return renderNew(res, 422, { message: 'Please check the fields marked below.', errors: fieldErrors(form.error), values });
    try {
      const org = await createOrganization(ctx(req), form.data);
      res.redirect(303, withDone(`/organizations/${org.id}`, 'organization-created'));
    } catch (err) {
      if (err instanceof ValidationError) return renderNew(res, 422, { message: err.message, errors: err.fieldErrors, values });
      throw err;
    }
  });

  router.get('/:id', async (req, res) => {
    const page = await getOrganizationPage(ctx(req), organizationId(req));
    const now = new Date();
    const org = page.organization;
    res.render('organizations/show', {
      title: org.name,
      org,
      domains: page.domains,
      people: page.people,
      firstPeople: page.firstPeople,
      peopleLimit: ORGANIZATION_PEOPLE_LIMIT,
      peopleUrl: `/customers?${new URLSearchParams({ organization: org.name }).toString()}`,
      counts: page.tickets,
      tickets: page.firstTickets.map((t) => ({ ...t, age: age(t.createdAt, now), opened: when(t.createdAt) })),
      ticketLimit: ORGANIZATION_TICKET_LIMIT,
      timeline: organizationTimeline(page.history, now),
      since: { at: when(org.createdAt), ago: ago(org.createdAt, now), iso: org.createdAt.toISOString() },
      canManage: can(actorOf(req), 'organization.manage'),
      done: doneIn(req, 'top'),
    });
  });

  async function renderEdit(req: Request, res: Response, status = 200, failed?: Failed) {
    assertCan(actorOf(req), 'organization.manage');
    const page = await getOrganizationPage(ctx(req), organizationId(req));
    const org = page.organization;
    res.status(status).render('organizations/form', {
      title: `Edit ${org.name}`,
      org,
      values: failed?.values ?? { ...org, domains: page.domains.join('\n'), shareTickets: org.shareTickets ? '1' : undefined },
      errors: failed?.errors ?? {},
      message: failed?.message ?? null,
    });
  }

  router.get('/:id/edit', (req, res) => renderEdit(req, res));

  router.post('/:id', async (req, res) => {
    assertCan(actorOf(req), 'organization.manage');
    const values = (req.body ?? {}) as Body;
    const form = OrganizationForm.safeParse(values);
    if (!form.success) {
      const errors = fieldErrors(form.error);
      // The version is a hidden field: its message goes at the top.
      return renderEdit(req, res, 422, { message: errors.version ?? 'Please check the fields marked below.', errors, values });
    }
    const { version, ...edit } = form.data;
    try {
      await updateOrganization(ctx(req), organizationId(req), version, edit);
    } catch (err) {
      if (err instanceof ValidationError) return renderEdit(req, res, 422, { message: err.message, errors: err.fieldErrors, values });
      if (err instanceof ConflictError) {
        const message = `${err.message} Nothing of yours was saved. The form below holds your input: check it against the record (open it in another tab), then save again.`;
        return renderEdit(req, res, 409, { message, errors: {}, values: { ...values, version: err.currentVersion } });
      }
      throw err;
    }
    res.redirect(303, withDone(`/organizations/${organizationId(req)}`, 'organization-saved'));
  });

  return router;
}
