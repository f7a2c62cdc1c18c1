import { ROLE_LABEL, THEME_LABEL, type Role, type Theme } from '../../domain/enums.js';
import type { UserHistory } from '../../generated/prisma/client.js';
import { when } from './time.js';

type Row = UserHistory & { actor: { name: string } | null };

function summarize(row: Row): string {
  if (row.action === 'CREATED') return 'created the user';
  switch (row.field) {
    case 'password':
      return row.actorId === row.userId ? 'changed their own password' : 'reset the password';
    case 'timeZone':
      return `changed the time zone from ${row.oldValue ?? '—'} to ${row.newValue ?? '—'}`;
    case 'theme':
      return `changed the theme from ${THEME_LABEL[row.oldValue as Theme] ?? row.oldValue} to ${THEME_LABEL[row.newValue as Theme] ?? row.newValue}`;
    case 'active':
      return row.newValue === 'true' ? 'reactivated the user' : 'deactivated the user';
    case 'role':
      return `changed the role from ${ROLE_LABEL[row.oldValue as Role] ?? row.oldValue} to ${ROLE_LABEL[row.newValue as Role] ?? row.newValue}`;
    default:
      return `changed the ${row.field} from ${row.oldValue ?? '—'} to ${row.newValue ?? '—'}`;
  }
}

/** A user's history as lines for the admin page: who did what, when. */
export function userTimeline(rows: Row[], zone?: string) {
  return rows.map((row) => ({
    id: row.id,
    actor: row.actor?.name ?? 'Caseboard',
    summary: summarize(row),
    at: when(row.createdAt, zone),
    iso: row.createdAt.toISOString(),
  }));
}
