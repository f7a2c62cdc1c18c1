// What an API token may do, on top of what its user may do (the service layer's assertCan still
// decides for the user). Each API operation names the one scope it needs (src/web/api/operations).
import type { Role } from '../../domain/enums.js';

export const SCOPES = {
  'tickets:read': 'Read tickets and their work log',
  'tickets:write': 'Create and change tickets, add to their work log',
  'customers:read': 'Read customers',
  'customers:write': 'Change customers',
  'organizations:read': 'Read organizations',
  'articles:read': 'Search and read knowledge-base articles',
  'users:manage': 'List and manage users (admins)',
} as const;

export type Scope = keyof typeof SCOPES;
export const SCOPE_NAMES = Object.keys(SCOPES) as Scope[];

/** The scopes a token of a user with this role may be given (users:manage is an admin's). */
export function grantableScopes(role: Role): Scope[] {
  return SCOPE_NAMES.filter((s) => s !== 'users:manage' || role === 'ADMIN');
}

export const isScope = (s: string): s is Scope => Object.hasOwn(SCOPES, s);
