// Conditions and actions as the plain HTML forms hold them: repeatable rows of a kind and a text
// value (c0_kind/c0_value…, a0_kind/a0_value…), usable without JavaScript. Names the admin typed
// (a team, a person's address or name, an organization) are looked up here; an unknown one is a
// ValidationError on its row. The result is checked again by the zod schemas of the engine.
import type { Db } from '../../db/client.js';
import { CHANNELS, CHANNEL_LABEL, STATUSES, STATUS_LABEL, URGENCIES, URGENCY_LABEL } from '../../domain/enums.js';
import { ValidationError } from '../errors.js';
import { ConditionGroup, type LeafCondition } from './conditions.js';
import { Action, Actions } from './actions.js';
import type { z } from 'zod';

export const CONDITION_KINDS: [string, string][] = [
  ['urgency', 'Urgency is (one of)'],
  ['urgency_not', 'Urgency is not'],
  ['status', 'Status is (one of)'],
  ['status_not', 'Status is not'],
  ['channel', 'Channel is (one of)'],
  ['channel_not', 'Channel is not'],
  ['team', 'Team is (one of)'],
  ['team_not', 'Team is not'],
  ['owner', 'Owner is (one of; “nobody”)'],
  ['owner_not', 'Owner is not'],
  ['customer_email', "Customer's address is"],
  ['customer_domain', "Customer's domain is"],
  ['organization', 'Organization is (“none”)'],
  ['organization_not', 'Organization is not'],
  ['title', 'Title contains'],
  ['description', 'Description contains'],
  ['message', 'Latest customer message contains'],
  ['text', 'Title, description or latest message contains'],
  ['tag', 'Has the tag'],
  ['tag_not', 'Has not the tag'],
  ['business_hours', 'Inside the business hours of (calendar)'],
  ['outside_business_hours', 'Outside the business hours of (calendar)'],
];

export const ACTION_KINDS: [string, string][] = [
  ['setUrgency', 'Set urgency to'],
  ['setTeam', 'Move to team'],
  ['setOwner', 'Assign to (address or name; “nobody”)'],
  ['setStatus', 'Set status to'],
  ['addNote', 'Add an internal note'],
  ['sendReply', 'Reply to the customer'],
  ['addTag', 'Add the tag'],
  ['removeTag', 'Remove the tag'],
  ['follow', 'Make follow (address or name)'],
  ['attachRunbook', 'Attach the run book (its title)'],
];

export type RowValues = Record<string, string | undefined>;

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

function enumValue<T extends string>(raw: string, values: readonly T[], labels: Record<T, string>, what: string, field: string): T {
  const k = raw.trim().toLowerCase();
  const hit = values.find((v) => v.toLowerCase() === k || labels[v].toLowerCase() === k);
  if (!hit) throw new ValidationError(`“${raw}” is not a ${what}: ${values.map((v) => labels[v]).join(', ')}.`, { [field]: `Not a ${what}.` });
  return hit;
}

interface Lookups {
  team(name: string, field: string): Promise<number>;
  user(name: string, field: string): Promise<number>;
  organization(name: string, field: string): Promise<number>;
  calendar(name: string, field: string): Promise<{ id: number; name: string }>;
  runbook(title: string, field: string): Promise<{ id: number; title: string }>;
}

function lookups(db: Db): Lookups {
  return {
    async runbook(title, field) {
      const r = await db.runbook.findFirst({ where: { title: { equals: title.trim(), mode: 'insensitive' }, status: 'PUBLISHED' }, select: { id: true, title: true } });
      if (!r) throw new ValidationError(`No published run book is called “${title}”.`, { [field]: 'Enter a published run book’s title.' });
      return r;
    },
    async calendar(name, field) {
      const c = await db.businessCalendar.findFirst({ where: { name: { equals: name.trim(), mode: 'insensitive' } }, select: { id: true, name: true } });
      if (!c) throw new ValidationError(`No business calendar is called “${name}”.`, { [field]: 'Enter a calendar’s name (SLAs page).' });
      return c;
    },
    async team(name, field) {
      const t = await db.team.findFirst({ where: { name: { equals: name.trim(), mode: 'insensitive' } }, select: { id: true } });
      if (!t) throw new ValidationError(`No team is called “${name}”.`, { [field]: 'Enter a team’s name.' });
      return t.id;
    },
    async user(name, field) {
      const v = name.trim();
      const u = await db.user.findFirst({
        where: { OR: [{ email: { equals: v, mode: 'insensitive' } }, { name: { equals: v, mode: 'insensitive' } }] },
        select: { id: true },
      });
      if (!u) throw new ValidationError(`Nobody on the staff is “${name}”.`, { [field]: 'Enter a colleague’s address or name.' });
      return u.id;
    },
    async organization(name, field) {
      const o = await db.organization.findFirst({ where: { name: { equals: name.trim(), mode: 'insensitive' } }, select: { id: true } });
      if (!o) throw new ValidationError(`No organization is called “${name}”.`, { [field]: 'Enter an organization’s name.' });
      return o.id;
    },
  };
}

async function condition(kind: string, value: string, field: string, l: Lookups): Promise<LeafCondition> {
  const negate = kind.endsWith('_not');
  const base = negate ? kind.slice(0, -4) : kind;
  const need = () => {
    if (!value.trim()) throw new ValidationError('Enter the value of the condition.', { [field]: 'Enter a value.' });
  };
  need();
  switch (base) {
    case 'urgency':
      return { type: 'field', field: 'urgency', values: list(value).map((v) => enumValue(v, URGENCIES, URGENCY_LABEL, 'urgency', field)), negate };
    case 'status':
      return { type: 'field', field: 'status', values: list(value).map((v) => enumValue(v, STATUSES, STATUS_LABEL, 'status', field)), negate };
    case 'channel':
      return { type: 'field', field: 'channel', values: list(value).map((v) => enumValue(v, CHANNELS, CHANNEL_LABEL, 'channel', field)), negate };
    case 'team':
      return { type: 'field', field: 'team', values: await Promise.all(list(value).map((v) => l.team(v, field))), negate };
    case 'owner':
      return {
        type: 'field',
        field: 'owner',
        values: await Promise.all(list(value).map((v) => (v.toLowerCase() === 'nobody' ? ('unassigned' as const) : l.user(v, field)))),
        negate,
      };
    case 'customer_email':
      return { type: 'customer', match: 'email', value: value.trim().toLowerCase() };
    case 'customer_domain':
      return { type: 'customer', match: 'domain', value: value.trim().toLowerCase().replace(/^@/, '') };
    case 'organization':
      return { type: 'organization', organizationId: value.trim().toLowerCase() === 'none' ? null : await l.organization(value, field), negate };
    case 'title':
    case 'description':
      return { type: 'text', where: base, value: value.trim() };
    case 'message':
      return { type: 'text', where: 'latestMessage', value: value.trim() };
    case 'text':
      return { type: 'text', where: 'any', value: value.trim() };
    case 'tag':
      return { type: 'tag', value: value.trim().toLowerCase(), negate };
    case 'business_hours':
    case 'outside_business_hours': {
      const cal = await l.calendar(value, field);
      return { type: 'businessHours', calendarId: cal.id, calendarName: cal.name, inside: kind === 'business_hours' };
    }
  }
  throw new ValidationError('Choose a kind of condition from the list.', { [field.replace('_value', '_kind')]: 'Choose from the list.' });
}

async function action(kind: string, value: string, field: string, l: Lookups): Promise<Action> {
  const v = value.trim();
  if (!v) throw new ValidationError('Enter the value of the action.', { [field]: 'Enter a value.' });
  switch (kind) {
    case 'setUrgency':
      return { type: 'setUrgency', urgency: enumValue(v, URGENCIES, URGENCY_LABEL, 'urgency', field) };
    case 'setTeam':
      return { type: 'setTeam', teamId: await l.team(v, field) };
    case 'attachRunbook': {
      const rb = await l.runbook(v, field);
      return { type: 'attachRunbook', runbookId: rb.id, runbookTitle: rb.title };
    }
    case 'setOwner':
      return { type: 'setOwner', userId: v.toLowerCase() === 'nobody' ? null : v.toLowerCase() === 'me' ? 'me' : await l.user(v, field) };
    case 'setStatus': {
      const status = enumValue(v, STATUSES, STATUS_LABEL, 'status', field);
      if (status !== 'OPEN' && status !== 'IN_PROGRESS' && status !== 'WAITING_ON_CUSTOMER') {
        throw new ValidationError('An action may set the status to Open, In progress or Waiting on customer.', { [field]: 'Not this status.' });
      }
      return { type: 'setStatus', status };
    }
    case 'addNote':
    case 'sendReply':
      return { type: kind, body: v };
    case 'addTag':
    case 'removeTag':
      return { type: kind, tag: v };
    case 'follow':
      return { type: 'follow', userId: v.toLowerCase() === 'me' ? 'me' : await l.user(v, field) };
  }
  throw new ValidationError('Choose a kind of action from the list.', { [field.replace('_value', '_kind')]: 'Choose from the list.' });
}

/** The first zod issue of a row, as a form error on that row. */
function rowError(error: z.ZodError, field: string): ValidationError {
  return new ValidationError(error.issues[0]?.message ?? 'Check this row.', { [field]: error.issues[0]?.message ?? 'Check this row.' });
}

/** The condition rows (c0_…) as a group ('all' or 'any'); empty rows are skipped. */
export async function conditionsFromForm(db: Db, match: 'all' | 'any', rows: RowValues, count: number): Promise<ConditionGroup> {
  const l = lookups(db);
  const conditions: LeafCondition[] = [];
  for (let i = 0; i < count; i++) {
    const kind = rows[`c${i}_kind`] ?? '';
    if (!kind) continue;
    conditions.push(await condition(kind, rows[`c${i}_value`] ?? '', `c${i}_value`, l));
  }
  const parsed = ConditionGroup.safeParse({ type: match, conditions });
  if (!parsed.success) throw rowError(parsed.error, 'c0_value');
  return parsed.data;
}

/** The action rows (a0_…); empty rows are skipped. */
export async function actionsFromForm(db: Db, rows: RowValues, count: number): Promise<Action[]> {
  const l = lookups(db);
  const actions: Action[] = [];
  for (let i = 0; i < count; i++) {
    const kind = rows[`a${i}_kind`] ?? '';
    if (!kind) continue;
    const a = await action(kind, rows[`a${i}_value`] ?? '', `a${i}_value`, l);
    const parsed = Action.safeParse(a);
    if (!parsed.success) throw rowError(parsed.error, `a${i}_value`);
    actions.push(parsed.data);
  }
  const all = Actions.safeParse(actions);
  if (!all.success) throw rowError(all.error, 'a0_value');
  return all.data;
}

// ---- back to form rows (the edit form) ----

export async function formRows(db: Db, group: ConditionGroup | null, actions: readonly Action[]): Promise<RowValues> {
  const ids = { users: new Set<number>(), teams: new Set<number>(), orgs: new Set<number>() };
  const leaves = (group?.conditions ?? []).flatMap((c) => (c.type === 'all' || c.type === 'any' ? (c as { conditions: LeafCondition[] }).conditions : [c as LeafCondition]));
  for (const c of leaves) {
    if (c.type === 'field' && c.field === 'owner') for (const v of c.values) if (typeof v === 'number') ids.users.add(v);
    if (c.type === 'field' && c.field === 'team') for (const v of c.values) ids.teams.add(v as number);
    if (c.type === 'organization' && c.organizationId) ids.orgs.add(c.organizationId);
  }
  for (const a of actions) {
    if ((a.type === 'setOwner' || a.type === 'follow') && typeof a.userId === 'number') ids.users.add(a.userId);
    if (a.type === 'setTeam') ids.teams.add(a.teamId);
  }
  const [users, teams, orgs] = await Promise.all([
    db.user.findMany({ where: { id: { in: [...ids.users] } }, select: { id: true, email: true } }),
    db.team.findMany({ where: { id: { in: [...ids.teams] } }, select: { id: true, name: true } }),
    db.organization.findMany({ where: { id: { in: [...ids.orgs] } }, select: { id: true, name: true } }),
  ]);
  const u = new Map(users.map((x) => [x.id, x.email]));
  const t = new Map(teams.map((x) => [x.id, x.name]));
  const o = new Map(orgs.map((x) => [x.id, x.name]));
  const rows: RowValues = {};
  leaves.forEach((c, i) => {
    let kind = '';
    let value = '';
    switch (c.type) {
      case 'field':
        kind = c.field;
        value = (c.values as (string | number)[])
          .map((v) => (c.field === 'team' ? (t.get(v as number) ?? '') : c.field === 'owner' ? (v === 'unassigned' ? 'nobody' : (u.get(v as number) ?? '')) : String(v)))
          .join(', ');
        if (c.negate) kind += '_not';
        break;
      case 'customer':
        kind = c.match === 'email' ? 'customer_email' : 'customer_domain';
        value = c.value;
        break;
      case 'organization':
        kind = c.negate ? 'organization_not' : 'organization';
        value = c.organizationId === null ? 'none' : (o.get(c.organizationId) ?? '');
        break;
      case 'text':
        kind = c.where === 'latestMessage' ? 'message' : c.where === 'any' ? 'text' : c.where;
        value = c.value;
        break;
      case 'tag':
        kind = c.negate ? 'tag_not' : 'tag';
        value = c.value;
        break;
      case 'businessHours':
        kind = c.inside ? 'business_hours' : 'outside_business_hours';
        value = c.calendarName;
        break;
    }
    rows[`c${i}_kind`] = kind;
    rows[`c${i}_value`] = value;
  });
  actions.forEach((a, i) => {
    rows[`a${i}_kind`] = a.type;
    rows[`a${i}_value`] =
      a.type === 'setUrgency' ? a.urgency
      : a.type === 'setTeam' ? (t.get(a.teamId) ?? '')
      : a.type === 'setOwner' ? (a.userId === null ? 'nobody' : a.userId === 'me' ? 'me' : (u.get(a.userId) ?? ''))
      : a.type === 'setStatus' ? a.status
      : a.type === 'addNote' || a.type === 'sendReply' ? a.body
      : a.type === 'addTag' || a.type === 'removeTag' ? a.tag
      : a.type === 'attachRunbook' ? a.runbookTitle
      : a.userId === 'me' ? 'me' : (u.get(a.userId) ?? '');
  });
  return rows;
}
