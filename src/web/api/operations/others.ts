// Customers, organizations, knowledge-base articles and users through the API: the services the
// pages call, answers in JSON.
import { z } from 'zod';
import type { Customer } from '../../../generated/prisma/client.js';
import { searchCustomers, type CustomerCursor } from '../../../services/customers/search.js';
import { getCustomerPage } from '../../../services/customers/customer-page.js';
import { updateCustomer } from '../../../services/customers/update-customer.js';
import { listOrganizations, getOrganizationPage } from '../../../services/organizations/read-organizations.js';
import { getArticle, HIT_END, HIT_START, searchArticles } from '../../../services/knowledge/read-articles.js';
import { getUserWithHistory, listUsers } from '../../../services/users/list-users.js';
import { ConflictError, PreconditionFailedError } from '../../../services/errors.js';
import { IdParams, Role } from '../../schemas/api.js';
import { ApiProblem } from '../problem.js';
import { operation, type Operation } from '../registry.js';

const when = z.iso.datetime();
const iso = (d: Date) => d.toISOString();

/** Keyset cursors as opaque strings: base64url of the last row's place. */
const encode = (c: object) => Buffer.from(JSON.stringify(c)).toString('base64url');
const NameCursor = z.object({ name: z.string().max(300), id: z.number().int().min(1).max(2_147_483_647) });
function decodeCursor(raw: string | undefined): CustomerCursor | undefined {
  if (raw === undefined) return undefined;
  try {
    return NameCursor.parse(JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')));
  } catch {
    throw new ApiProblem(422, 'That cursor is not valid.', { errors: [{ field: 'query.after', message: 'Pass a nextCursor as it was given.' }] });
  }
}
const PageQuery = z.object({ q: z.string().max(200).optional(), after: z.string().max(600).optional() });

const ApiCustomer = z
  .object({
    id: z.number().int(),
    name: z.string(),
    email: z.string(),
    phone: z.string().nullable(),
    organizationId: z.number().int().nullable(),
    organization: z.string().nullable(),
    environment: z.string().nullable().optional(),
    notes: z.string().nullable().optional(),
    version: z.number().int().optional(),
  })
  .meta({ id: 'Customer' });
const CustomerList = z.object({ items: z.array(ApiCustomer), nextCursor: z.string().nullable() }).meta({ id: 'CustomerList' });
const customerJson = (c: Customer, organization: { id: number; name: string } | null) => ({
  id: c.id,
  name: c.name,
  email: c.email,
  phone: c.phone,
  organizationId: organization?.id ?? null,
  organization: organization?.name ?? null,
  environment: c.environment,
  notes: c.notes,
  version: c.version,
});
const CustomerPatch = z
  .object({
    name: z.string().max(120),
    email: z.string().max(254),
    phone: z.string().max(40).nullable().optional(),
    organization: z.string().max(120).nullable().optional().meta({ description: "An existing organization's name, or null for none" }),
    environment: z.string().max(20_000).nullable().optional(),
    notes: z.string().max(20_000).nullable().optional(),
  })
  .strict()
  .meta({ id: 'CustomerEdit' });

const ApiOrganization = z
  .object({ id: z.number().int(), name: z.string(), domains: z.array(z.string()), people: z.number().int(), openTickets: z.number().int().optional() })
  .meta({ id: 'Organization' });
const OrganizationList = z.object({ items: z.array(ApiOrganization), nextCursor: z.string().nullable() }).meta({ id: 'OrganizationList' });

const ArticleHit = z
  .object({ id: z.number().int(), title: z.string(), category: z.string().nullable(), tags: z.array(z.string()), status: z.string(), updatedAt: when, snippet: z.string() })
  .meta({ id: 'ArticleHit' });
const ArticleList = z.object({ items: z.array(ArticleHit), hasMore: z.boolean() }).meta({ id: 'ArticleList' });
const ApiArticle = z
  .object({
    id: z.number().int(),
    title: z.string(),
    body: z.string(),
    category: z.string().nullable(),
    tags: z.array(z.string()),
    status: z.string(),
    visibility: z.string(),
    version: z.number().int(),
    updatedAt: when,
  })
  .meta({ id: 'Article' });

const ApiUser = z
  .object({ id: z.number().int(), email: z.string(), name: z.string(), role: Role, active: z.boolean(), version: z.number().int(), createdAt: when })
  .meta({ id: 'User' });
const UserList = z.object({ items: z.array(ApiUser) }).meta({ id: 'UserList' });

const noMarks = (s: string) => s.split(HIT_START).join('').split(HIT_END).join('');

export const otherOperations: Operation[] = [
  operation({
    id: 'listCustomers',
    method: 'get',
    path: '/customers',
    summary: 'Customers by part of a name, email or organization, in name order, 50 a page',
    tag: 'Customers',
    scope: 'customers:read',
    query: PageQuery,
    response: CustomerList,
    handle: async (ctx, { query }) => {
      const page = await searchCustomers(ctx, { q: query.q, after: decodeCursor(query.after) });
      return {
        body: {
          items: page.rows.map((r) => ({ id: r.id, name: r.name, email: r.email, phone: r.phone, organizationId: r.organizationId, organization: r.organization })),
          nextCursor: page.next ? encode(page.next) : null,
        },
      };
    },
  }),
  operation({
    id: 'getCustomer',
    method: 'get',
    path: '/customers/:id',
    summary: 'One customer (its ETag is its version)',
    tag: 'Customers',
    scope: 'customers:read',
    params: IdParams,
    response: ApiCustomer,
    handle: async (ctx, { params }) => {
      const page = await getCustomerPage(ctx, params.id);
      return { body: customerJson(page.customer, page.customer.organization), version: page.customer.version };
    },
  }),
  operation({
    id: 'updateCustomer',
    method: 'put',
    path: '/customers/:id',
    summary: "Replace a customer's details (name and email required; fields left out become empty)",
    tag: 'Customers',
    scope: 'customers:write',
    params: IdParams,
    body: CustomerPatch,
    response: ApiCustomer,
    ifMatch: true,
    present: (c) => c as { version?: number },
    handle: async (ctx, { params, body, version }) => {
      try {
        await updateCustomer(ctx, params.id, version!, body);
      } catch (err) {
        if (err instanceof ConflictError && err.currentVersion !== undefined) {
          const now = await getCustomerPage(ctx, params.id);
          throw new PreconditionFailedError(err.message, customerJson(now.customer, now.customer.organization));
        }
        throw err;
      }
      const page = await getCustomerPage(ctx, params.id);
      return { body: customerJson(page.customer, page.customer.organization), version: page.customer.version };
    },
  }),
  operation({
    id: 'listOrganizations',
    method: 'get',
    path: '/organizations',
    summary: 'Organizations by part of their name, in name order, 50 a page',
    tag: 'Organizations',
    scope: 'organizations:read',
    query: PageQuery,
    response: OrganizationList,
    handle: async (ctx, { query }) => {
      const page = await listOrganizations(ctx, { q: query.q, after: decodeCursor(query.after) });
      return {
        body: {
          items: page.rows.map((o) => ({ id: o.id, name: o.name, domains: o.domains, people: o.people, openTickets: o.openTickets })),
          nextCursor: page.next ? encode(page.next) : null,
        },
      };
    },
  }),
  operation({
    id: 'getOrganization',
    method: 'get',
    path: '/organizations/:id',
    summary: 'One organization',
    tag: 'Organizations',
    scope: 'organizations:read',
    params: IdParams,
    response: ApiOrganization,
    handle: async (ctx, { params }) => {
      const p = await getOrganizationPage(ctx, params.id);
      return { body: { id: p.organization.id, name: p.organization.name, domains: p.domains, people: p.people, openTickets: p.tickets.active }, version: p.organization.version };
    },
  }),
  operation({
    id: 'searchArticles',
    method: 'get',
    path: '/articles',
    summary: 'Search the knowledge base (full text, ranked; without q: the most recently updated)',
    tag: 'Articles',
    scope: 'articles:read',
    query: z.object({ q: z.string().max(200).optional(), page: z.coerce.number().int().min(1).max(100).optional() }),
    response: ArticleList,
    handle: async (ctx, { query }) => {
      const { hits, hasMore } = await searchArticles(ctx, { ...(query.q ? { q: query.q } : {}), ...(query.page ? { page: query.page } : {}) });
      return {
        body: {
          items: hits.map((h) => ({ id: h.id, title: h.title, category: h.category, tags: h.tags, status: h.status, updatedAt: iso(new Date(h.updatedAt)), snippet: noMarks(h.snippet ?? '') })),
          hasMore,
        },
      };
    },
  }),
  operation({
    id: 'getArticle',
    method: 'get',
    path: '/articles/:id',
    summary: 'One article (Markdown body)',
    tag: 'Articles',
    scope: 'articles:read',
    params: IdParams,
    response: ApiArticle,
    handle: async (ctx, { params }) => {
      const a = await getArticle(ctx, params.id);
      return {
        body: { id: a.id, title: a.title, body: a.body, category: a.category, tags: a.tags, status: a.status, visibility: a.visibility, version: a.version, updatedAt: iso(a.updatedAt) },
        version: a.version,
      };
    },
  }),
  operation({
    id: 'listUsers',
    method: 'get',
    path: '/users',
    summary: 'Every user (admins)',
    tag: 'Users',
    scope: 'users:manage',
    response: UserList,
    handle: async (ctx) => ({ body: { items: (await listUsers(ctx)).map((u) => ({ ...u, createdAt: iso(u.createdAt) })) } }),
  }),
  operation({
    id: 'getUser',
    method: 'get',
    path: '/users/:id',
    summary: 'One user (admins)',
    tag: 'Users',
    scope: 'users:manage',
    params: IdParams,
    response: ApiUser,
    handle: async (ctx, { params }) => {
      const u = await getUserWithHistory(ctx, params.id);
      return { body: { id: u.id, email: u.email, name: u.name, role: u.role, active: u.active, version: u.version, createdAt: iso(u.createdAt) }, version: u.version };
    },
  }),
];
