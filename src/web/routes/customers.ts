import { Router, type Request, type Response } from 'express';
import type { Database } from '../../db/client.js';
import type { ServiceContext } from '../../services/context.js';
import { ConflictError, NotFoundError, ValidationError } from '../../services/errors.js';
import { getCustomerPage } from '../../services/customers/customer-page.js';
import { mergeCustomers, prepareMerge } from '../../services/customers/merge-customers.js';
import { lookalikesForPage } from '../../services/customers/lookalikes.js';
import { lookupCustomers, searchCustomers } from '../../services/customers/search.js';
import { updateCustomer } from '../../services/customers/update-customer.js';
import { looksAlike, unambiguousAddress } from '../../domain/email-address.js';
import { actorOf } from '../middleware/auth.js';
import { fieldErrors, id } from '../schemas/common.js';
import { CustomerForm, CustomerQuery, LookupQuery, MergeForm, MergeQuery, encodeCursor } from '../schemas/customers.js';
import { customerTimeline } from '../presenters/customer.js';
import { organizationNames } from '../../services/organizations/read-organizations.js';
import { doneIn, withDone } from '../confirmations.js';
import { age, ago, when } from '../presenters/time.js';
import { timeZoneOf } from '../middleware/locals.js';

type Body = Record<string, unknown>;

/** A refused edit: the message, the field messages, what the user sent, and whether the record moved on. */
interface FailedEdit {
  message: string;
  errors: Record<string, string>;
  values: Body;
  conflict?: boolean;
}

const EDIT_FIELDS = [
  ['name', 'Name'],
  ['email', 'Email'],
  ['phone', 'Phone'],
  ['organization', 'Organization'],
  ['environment', 'Environment'],
  ['notes', 'Notes'],
] as const;

const plain = (v: unknown) => String(v ?? '').replace(/\r\n/g, '\n').trim();

export function customerRoutes(db: Database): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });

  const customerId = (req: Request): number => {
    const parsed = id.safeParse(req.params.id);
    if (!parsed.success) throw new NotFoundError('There is no such customer.');
    return parsed.data;
  };
  const organizationUrl = (orgId: number) => `/organizations/${orgId}`;
  /** The queue, showing this customer's tickets (its search matches the customer's email). */
  const queueUrl = (status: string, email: string) => `/tickets?${new URLSearchParams({ status, q: email }).toString()}`;

  // The list: search by name, email or organization, or the customers of one organization.
  router.get('/', async (req, res) => {
    const parsed = CustomerQuery.safeParse(req.query);
    const query = parsed.success ? parsed.data : { q: undefined, organization: undefined, after: undefined };
    const page = await searchCustomers(ctx(req), query);
    const lookalikes = await lookalikesForPage(ctx(req), page.rows);
    const filterParams = new URLSearchParams();
    if (query.q) filterParams.set('q', query.q);
    if (query.organization) filterParams.set('organization', query.organization);
    const nextParams = new URLSearchParams(filterParams);
    if (page.next) nextParams.set('after', encodeCursor(page.next));
    res.status(parsed.success ? 200 : 400).render('customers/list', {
      title: query.organization ? `Customers of ${query.organization}` : 'Customers',
      rows: page.rows.map((r) => ({
        ...r,
        organizationUrl: r.organizationId ? organizationUrl(r.organizationId) : null,
        lookalikes: lookalikes.get(r.id) ?? [],
      })),
      filters: { q: query.q ?? '', organization: query.organization ?? '' },
      filterQuery: filterParams.toString(),
      nextUrl: page.next ? `/customers?${nextParams.toString()}` : null,
      isFirstPage: !query.after,
      allOrganizationsUrl: query.q ? `/customers?${new URLSearchParams({ q: query.q }).toString()}` : '/customers',
      error: parsed.success ? null : Object.values(fieldErrors(parsed.error)).join(' '),
    });
  });

  // Suggestions for the new-ticket form (public/js/customer-lookup.js).
  router.get('/lookup', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const parsed = LookupQuery.safeParse(req.query);
    if (!parsed.success) {
      res.status(400).json({ error: Object.values(fieldErrors(parsed.error)).join(' '), customers: [] });
      return;
    }
    const customers = await lookupCustomers(ctx(req), parsed.data.q);
    res.json({
      customers: customers.map(({ id: cid, name, email, phone, organization }) => {
        // An international address also as plain ASCII (punycode, code points), so that a look-alike shows.
        const plain = unambiguousAddress(email);
        return { id: cid, name, email, phone, organization, ...(plain !== email ? { plain } : {}) };
      }),
    });
  });

  /** The customer page; a refused edit gets back its input and messages beside the fields. */
  async function renderCustomer(req: Request, res: Response, status = 200, failed?: FailedEdit) {
    const c = ctx(req);
    const page = await getCustomerPage(c, customerId(req));
    const { counts } = page;
    // The form and the comparison name the organization (the record's name), as the field takes it.
    const customer = { ...page.customer, organization: page.customer.organization?.name ?? null };
    const organizationId = page.customer.organization?.id ?? null;
    const now = new Date();
    const values: Body = failed ? failed.values : customer;
    // After a conflict: where the user's input differs from the record as it is now.
    const differs = failed?.conflict
      ? EDIT_FIELDS.filter(([f]) => (f === 'email' ? plain(values[f]).toLowerCase() : plain(values[f])) !== plain(customer[f])).map(
          ([f, label]) => ({ field: f, label, current: customer[f] ?? '' }),
        )
      : [];
    res.status(status).render('customers/show', {
      title: customer.name,
      c: customer,
      mergedInto: page.mergedInto,
      mergedFrom: page.mergedFrom,
      lookalikes: page.lookalikes,
      organizationUrl: organizationId ? organizationUrl(organizationId) : null,
      organizations: await organizationNames(c),
      counts,
      queue: {
        active: queueUrl('active', customer.email),
        RESOLVED: queueUrl('RESOLVED', customer.email),
        CLOSED: queueUrl('CLOSED', customer.email),
        all: queueUrl('all', customer.email),
      },
      tickets: page.tickets.map((t) => ({ ...t, age: age(t.createdAt, now), opened: when(t.createdAt, timeZoneOf(res)) })),
      moreTickets: counts.total > page.tickets.length,
      timeline: customerTimeline(page.history, now, timeZoneOf(res)),
      since: { at: when(customer.createdAt, timeZoneOf(res)), ago: ago(customer.createdAt, now), iso: customer.createdAt.toISOString() },
      values,
      errors: failed?.errors ?? {},
      message: failed?.message ?? null,
      differs,
      // After a redirect from the edit or merge form: a fixed text by key (see confirmations.ts).
      done: failed ? null : doneIn(req, 'history'),
    });
  }

  router.get('/:id', (req, res) => renderCustomer(req, res));

  router.post('/:id', async (req, res) => {
    const values = (req.body ?? {}) as Body;
    const form = CustomerForm.safeParse(values);
    if (!form.success) {
      const errors = fieldErrors(form.error);
      // The version is a hidden field: its message goes at the top.
      return renderCustomer(req, res, 422, { message: errors.version ?? 'Please check the fields marked below.', errors, values });
    }
    const { version, ...edit } = form.data;
    try {
      await updateCustomer(ctx(req), customerId(req), version, edit);
    } catch (err) {
      if (err instanceof ValidationError) return renderCustomer(req, res, 422, { message: err.message, errors: err.fieldErrors, values });
      if (err instanceof ConflictError) {
        const message = `${err.message} Nothing of yours was saved. The form below holds your input: check it against the record as it is now, then save again.`;
        return renderCustomer(req, res, 409, { message, errors: {}, values, conflict: true });
      }
      throw err;
    }
    res.redirect(303, withDone(`/customers/${customerId(req)}`, 'customer-saved', 'history'));
  });

  /**
   * The merge page: search for the duplicate, then both records side by side to confirm.
   * `chosen` overrides the URL's choice (after a refused POST, which has none).
   */
  async function renderMerge(
    req: Request,
    res: Response,
    status = 200,
    message: string | null = null,
    chosen?: number,
    confirmError?: string,
  ) {
    const c = ctx(req);
    const keepId = customerId(req);
    const parsed = MergeQuery.safeParse(req.query);
    const query = parsed.success ? parsed.data : { q: undefined, mergeId: undefined };
    const preview = await prepareMerge(c, keepId, chosen ?? query.mergeId);
    const kept = preview.keep.customer;
    const results = !preview.merge && query.q
      ? (await searchCustomers(c, { q: query.q })).rows
          .filter((r) => r.id !== keepId)
          .map((r) => ({ ...r, lookalike: looksAlike(kept.email, r.email) }))
      : [];
    res.status(parsed.success ? status : 400).render('customers/merge', {
      title: `Merge into ${preview.keep.customer.name}`,
      keep: preview.keep,
      merge: preview.merge,
      filled: preview.filled,
      lookalike: preview.lookalike,
      confirmError: confirmError ?? null,
      q: query.q ?? '',
      results,
      message: parsed.success ? message : Object.values(fieldErrors(parsed.error)).join(' '),
    });
  }

  router.get('/:id/merge', (req, res) => renderMerge(req, res));

  router.post('/:id/merge', async (req, res) => {
    const keepId = customerId(req);
    const form = MergeForm.safeParse(req.body ?? {});
    if (!form.success) {
      const errors = fieldErrors(form.error);
      return renderMerge(req, res, 422, errors.mergeId ?? errors.keepVersion ?? errors.mergeVersion ?? errors.confirmLookalike ?? 'Choose the duplicate record.');
    }
    const f = form.data;
    try {
      await mergeCustomers(ctx(req), {
        keepId,
        mergeId: f.mergeId,
        keepVersion: f.keepVersion,
        mergeVersion: f.mergeVersion,
        confirmLookalike: f.confirmLookalike === '1',
      });
    } catch (err) {
      if (err instanceof ValidationError) {
        // A look-alike merge without confirmation: the same comparison again, with the warning.
        const confirm = err.fieldErrors.confirmLookalike;
        if (confirm) return renderMerge(req, res, 422, err.message, f.mergeId, confirm);
        return renderMerge(req, res, 422, err.message);
      }
      if (err instanceof ConflictError) {
        return renderMerge(req, res, 409, `${err.message} Nothing was merged: check both records as they are now, and confirm again.`, f.mergeId);
      }
      throw err;
    }
    res.redirect(303, withDone(`/customers/${keepId}`, 'customer-merged', 'history'));
  });

  return router;
}
