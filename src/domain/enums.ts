// The domain's vocabularies, their labels, and how they order. The values come from schema.prisma.
import {
  Channel,
  MailKind,
  MailState,
  FixOutcome,
  NotificationKind,
  ResolutionCode,
  Role,
  TicketStatus,
  Urgency,
  WorkLogKind,
  Theme,
} from '../generated/prisma/enums.js';

export { Channel, MailKind, MailState, FixOutcome, NotificationKind, ResolutionCode, Role, TicketStatus, Urgency, WorkLogKind, Theme };

export const NOTIFICATION_KINDS = Object.values(NotificationKind) as NotificationKind[];

export const URGENCIES = Object.values(Urgency) as Urgency[];
export const STATUSES = Object.values(TicketStatus) as TicketStatus[];
export const CHANNELS = Object.values(Channel) as Channel[];
export const RESOLUTION_CODES = Object.values(ResolutionCode) as ResolutionCode[];
export const FIX_OUTCOMES = Object.values(FixOutcome) as FixOutcome[];
export const ROLES = Object.values(Role) as Role[];
export const THEMES = Object.values(Theme) as Theme[];

/** A user's colour theme (their profile). */
export const THEME_LABEL: Record<Theme, string> = {
  SYSTEM: 'Follow the system',
  LIGHT: 'Light',
  DARK: 'Dark',
};

export const URGENCY_LABEL: Record<Urgency, string> = {
  CRITICAL: 'Critical',
  HIGH: 'High',
  NORMAL: 'Normal',
  LOW: 'Low',
  NONE: 'None',
};

export const STATUS_LABEL: Record<TicketStatus, string> = {
  NEW: 'New',
  OPEN: 'Open',
  IN_PROGRESS: 'In progress',
  WAITING_ON_CUSTOMER: 'Waiting on customer',
  RESOLVED: 'Resolved',
  CLOSED: 'Closed',
};

export const CHANNEL_LABEL: Record<Channel, string> = {
  PHONE: 'Phone',
  EMAIL: 'Email',
  WEB: 'Web form',
  CHAT: 'Chat',
  API: 'API',
  AUTOMATIC: 'Automatic report',
};

export const RESOLUTION_LABEL: Record<ResolutionCode, string> = {
  FIXED: 'Fixed',
  WORKAROUND: 'Workaround provided',
  KNOWN_ISSUE: 'Known issue',
  BY_DESIGN: 'Works as designed',
  DUPLICATE: 'Duplicate',
  CANNOT_REPRODUCE: 'Cannot reproduce',
  WONT_FIX: "Won't fix",
};

export const OUTCOME_LABEL: Record<FixOutcome, string> = {
  SOLVED: 'Solved the problem',
  PARTIAL: 'Helped partly',
  FAILED: 'Did not help',
  UNKNOWN: 'Outcome not known yet',
};

export const ROLE_LABEL: Record<Role, string> = { ADMIN: 'Admin', TECHNICIAN: 'Technician' };

export const WORKLOG_LABEL: Record<WorkLogKind, string> = {
  NOTE: 'Internal note',
  ATTEMPTED_FIX: 'Attempted fix',
  REPLY: 'Reply to customer',
  CUSTOMER_REPLY: 'Customer reply',
};

export const MAIL_KIND_LABEL: Record<MailKind, string> = {
  TICKET_CREATED: 'Request received',
  REPLY: 'Reply',
  WAITING_ON_CUSTOMER: 'Waiting on customer',
  RESOLVED: 'Resolved',
  STAFF_NOTICE: 'Notice to staff',
};

/** What a notification tells, in words (the inbox, the preferences page, the mails). */
export const NOTIFICATION_LABEL: Record<NotificationKind, string> = {
  ASSIGNED: 'A ticket was given to me',
  TEAM_ASSIGNED: 'A ticket was given to my team without an owner',
  CUSTOMER_REPLY: 'The customer replied on a ticket I own or follow',
  MENTION: 'Someone mentioned me in a note',
  FOLLOWED_CHANGE: 'A ticket I follow changed',
  SLA_WARNING: 'A ticket of mine (or my team’s, unowned) is close to its SLA target',
  SLA_BREACH: 'A ticket of mine (or my team’s, unowned) missed its SLA target',
};

export const MAIL_STATE_LABEL: Record<MailState, string> = { QUEUED: 'queued', SENT: 'sent', FAILED: 'failed' };

/** Work-log kinds the customer sees on their status page (never notes or attempted fixes). */
export const PUBLIC_WORKLOG_KINDS: readonly WorkLogKind[] = ['REPLY', 'CUSTOMER_REPLY'];

/** Kinds staff write from the ticket page (customer replies come from the customer). */
export const STAFF_WORKLOG_KINDS: readonly WorkLogKind[] = ['NOTE', 'ATTEMPTED_FIX', 'REPLY'];

/** What became of an inbound message, in words. */
export const INBOUND_STATE_LABEL: Record<string, string> = {
  ADDED: 'Added to its ticket as the customer’s reply',
  NEW_TICKET: 'Opened a new ticket',
  QUARANTINED: 'Held in quarantine',
  ATTACHED: 'Attached to a ticket by staff',
  TURNED_INTO_TICKET: 'Turned into a ticket by staff',
  DISCARDED: 'Discarded by staff',
  IGNORED: 'Ignored as automatic mail',
};
