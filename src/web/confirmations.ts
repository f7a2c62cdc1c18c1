// The short confirmation a page shows after a form did what it was asked. The redirect after the
// POST carries a key (`?done=urgency-high`); the page looks the key up in this fixed table and shows
// the table's text, or nothing for a key it does not know. Nothing from the request is echoed, and
// nothing is kept in memory between the two requests (another instance may serve the GET).
import {
  RESOLUTION_CODES,
  RESOLUTION_LABEL,
  STATUSES,
  STATUS_LABEL,
  URGENCIES,
  URGENCY_LABEL,
  type ResolutionCode,
  type TicketStatus,
  type Urgency,
  type WorkLogKind,
} from '../domain/enums.js';

const slug = (value: string) => value.toLowerCase().replaceAll('_', '-');

const MESSAGES = new Map<string, string>([
  // The ticket page.
  ['details', 'Details saved.'],
  ...URGENCIES.map((u): [string, string] => [`urgency-${slug(u)}`, `Urgency changed to ${URGENCY_LABEL[u]}.`]),
  ...STATUSES.map((s): [string, string] => [`status-${slug(s)}`, `Status changed to ${STATUS_LABEL[s]}.`]),
  ['take', 'You took this ticket.'],
  ['assign', 'Owner changed.'],
  ['unassign', 'Ticket unassigned.'],
  ...RESOLUTION_CODES.map((r): [string, string] => [`resolve-${slug(r)}`, `Ticket resolved: ${RESOLUTION_LABEL[r]}.`]),
  ['reopen', 'Ticket reopened.'],
  ['fixed-in', 'Fixed-in release set for its error reports.'],
  ['worklog-note', 'Note added.'],
  ['worklog-attempted-fix', 'Attempted fix logged.'],
  ['worklog-reply', 'Reply sent to the customer.'],
  ['articles', 'Article linked.'],
  ['unlink-article', 'Article unlinked.'],
  ['revoke-links', 'Private links revoked.'],
  ['redact-file', 'File redacted.'],
  ['team', 'Ticket moved to another team.'],
  ['follow', 'You follow this ticket: you will be told of its changes.'],
  // SLA settings.
  ['sla-calendar-saved', 'Calendar saved. Open tickets’ due times are being recomputed.'],
  ['sla-holiday-added', 'Holiday added.'],
  ['sla-holiday-removed', 'Holiday removed.'],
  ['sla-policy-saved', 'Policy saved. Open tickets’ due times are being recomputed.'],
  ['unfollow', 'You no longer follow this ticket.'],
  ['tag-added', 'Tag added.'],
  ['tag-removed', 'Tag removed.'],
  ['macro-applied', 'Macro applied.'],
  // Notifications.
  ['notifications-read', 'All notifications marked read.'],
  ['notification-preferences', 'Notification mail preferences saved.'],
  // The queue's saved views.
  ['view-saved', 'View saved.'],
  ['view-deleted', 'View deleted.'],
  // Customers.
  ['customer-saved', 'Customer saved.'],
  ['customer-merged', 'Customers merged.'],
  // Organizations.
  ['organization-created', 'Organization created.'],
  ['organization-saved', 'Organization saved.'],
  // Webhooks (admin).
  ['webhook-saved', 'Webhook endpoint saved.'],
  ['webhook-deleted', 'Webhook endpoint deleted: it sends nothing more (its log is kept).'],
  ['webhook-resent', 'Delivery queued again: it is sent in a moment.'],
  // Users (admin).
  ['user-created', 'User created.'],
  ['user-details', 'User saved.'],
  ['user-active', 'Active state changed.'],
  ['user-password', 'Password reset.'],
  // Teams.
  ['team-created', 'Team created.'],
  // Error-reporting projects.
  ['error-project-saved', 'Project saved.'],
  ['team-saved', 'Team saved.'],
  ['team-member-added', 'Member added.'],
  ['team-member-removed', 'Member removed.'],
  ['team-availability', 'Availability changed.'],
  // Automation rules, macros, canned replies.
  ['rule-created', 'Rule created. It is off: try it, then switch it on.'],
  ['rule-saved', 'Rule saved.'],
  ['rule-on', 'Rule switched on.'],
  ['rule-off', 'Rule switched off.'],
  ['rule-moved', 'Order changed.'],
  ['macro-created', 'Macro created.'],
  ['macro-saved', 'Macro saved.'],
  ['macro-deleted', 'Macro deleted.'],
  ['canned-created', 'Canned reply created.'],
  ['canned-saved', 'Canned reply saved.'],
  ['canned-deleted', 'Canned reply deleted.'],
  // Your profile.
  ['profile-password', 'Password changed. Your other sessions were signed out.'],
  ['profile-preferences', 'Settings saved.'],
  // Articles.
  ['article-created', 'Article created.'],
  ['article-saved', 'Article saved.'],
  ['article-status-draft', 'Article taken back to draft.'],
  ['article-status-published', 'Article published.'],
  ['article-status-archived', 'Article archived.'],
  // Run books.
  ['runbook-created', 'Run book saved as a draft: an admin publishes it.'],
  ['runbook-proposed', 'Version saved as a draft: an admin publishes it.'],
  ['runbook-published', 'Version published: tickets attached from now on get it.'],
  ['runbook-archived', 'Run book archived.'],
  ['runbook-restored', 'Run book published again.'],
  ['runbook-attached', 'Run book attached.'],
  ['runbook-step', 'Step done.'],
  ['runbook-run', 'Automation queued.'],
  // API tokens.
  ['token-revoked', 'Token revoked: programs using it now get 401.'],
]);

export const doneKey = {
  urgency: (u: Urgency) => `urgency-${slug(u)}`,
  status: (s: TicketStatus) => `status-${slug(s)}`,
  resolve: (r: ResolutionCode) => `resolve-${slug(r)}`,
  worklog: (k: WorkLogKind) => `worklog-${slug(k)}`,
};

/** The text for a `done` query value, or null when it is missing, repeated or not one of ours. */
export function confirmation(query: unknown): string | null {
  return typeof query === 'string' ? (MESSAGES.get(query) ?? null) : null;
}

/** For a page that shows its confirmation in one place: the text and that place's id, or null. */
export function doneIn(req: { query: Record<string, unknown> }, section: string): { message: string; section: string } | null {
  const message = confirmation(req.query.done);
  return message ? { message, section } : null;
}

/** `path?done=key#anchor`, for a redirect after a POST; the key must be one of the table's. */
export function withDone(path: string, key: string, anchor?: string, extra: Record<string, number> = {}): string {
  if (!MESSAGES.has(key)) throw new Error(`No confirmation for ${key}`);
  const query = new URLSearchParams({ done: key });
  for (const [k, v] of Object.entries(extra)) query.set(k, String(v));
  return `${path}?${query}${anchor ? `#${anchor}` : ''}`;
}


