import type { Actor } from './context.js';
import { ForbiddenError } from './errors.js';

/**
 * Who may do what, in one place. Services call assertCan; routes pass `can` flags to templates
 * so that buttons appear only when allowed.
 */
export type Permission =
  | 'ticket.read'
  | 'ticket.create'
  | 'ticket.update'
  | 'ticket.assign'
  | 'ticket.resolve'
  | 'ticket.worklog'
  | 'user.manage'
  | 'customer.read'
  | 'customer.update'
  | 'customer.merge'
  | 'organization.read'
  | 'organization.manage'
  | 'article.read'
  | 'article.propose'
  | 'article.manage'
  | 'runbook.read'
  | 'runbook.propose'
  | 'runbook.manage'
  | 'mail.triage'
  | 'attachment.redact'
  | 'team.manage'
  | 'sla.read'
  | 'sla.manage'
  | 'automation.read'
  | 'automation.manage'
  | 'macro.shared'
  | 'profile.update'
  | 'webhook.manage'
  | 'token.own'
  | 'token.manage'
  | 'errors.read'
  | 'errors.manage';

/**
 * Technicians work tickets, keep customer records current (they gather the details on the call),
 * read organizations, published articles, propose drafts and sort quarantined mail. Admins also manage users, merge customers,
 * add and edit organizations (their domains decide where new customers belong),
 * create, edit, publish and archive articles, redact attached files, and manage teams.
 */
const STAFF: readonly Permission[] = [
  'ticket.read',
  'ticket.create',
  'ticket.update',
  'ticket.assign',
  'ticket.resolve',
  'ticket.worklog',
  'customer.read',
  'customer.update',
  'organization.read',
  'article.read',
  'article.propose',
  // Run books: read published ones, propose new versions (an admin publishes them).
  'runbook.read',
  'runbook.propose',
  'mail.triage',
  // SLA policies and calendars (the ticket page explains the clock by them).
  'sla.read',
  // Their own password, time zone and theme (src/services/users/profile.ts).
  'profile.update',
  // Automation rules: read them, their log and their dry run (admins manage them).
  'automation.read',
  // Their own API tokens (src/services/api/tokens.ts); admins also make service tokens and revoke anyone's.
  'token.own',
  // Error-reporting projects and their problems (admins manage the projects and their keys).
  'errors.read',
];

const GRANTS: Record<Actor['role'], readonly Permission[]> = {
  TECHNICIAN: STAFF,
  ADMIN: [...STAFF, 'user.manage', 'customer.merge', 'organization.manage', 'article.manage', 'attachment.redact', 'team.manage', 'sla.manage', 'automation.manage', 'macro.shared', 'runbook.manage', 'webhook.manage', 'token.manage', 'errors.manage'],
};

export function can(actor: Actor | undefined, permission: Permission): boolean {
  return actor !== undefined && GRANTS[actor.role].includes(permission);
}

export function assertCan(actor: Actor, permission: Permission): void {
  if (!can(actor, permission)) throw new ForbiddenError();
}
