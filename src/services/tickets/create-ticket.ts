import type { Ticket } from '../../generated/prisma/client.js';
import type { Channel, TicketStatus, Urgency } from '../../domain/enums.js';
import { asciiDomain, emailSkeleton } from '../../domain/email-address.js';
import { generateReference } from '../../domain/reference.js';
import { sql } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { Db, Tx } from '../../db/client.js';
import type { Actor, HistoryActor, ServiceContext } from '../context.js';
import { assertCan } from '../policy.js';
import { organizationByName } from '../organizations/rules.js';
import { findAssignableUser, requireText } from './rules.js';
import { announceToTeam, autoAssign } from './auto-assign.js';
import { ticketTeam } from '../teams/teams.js';
import { countCreatedTicket, invalidateQueueCounts } from './queue.js';
import type { IncomingFile } from '../attachments/files.js';
import { assertWithinLimits, attachmentLimits } from '../attachments/limits.js';
import { storeAttachments } from '../attachments/attach.js';
import { withStagedFiles } from '../attachments/store.js';
import { recordTicketEvent, settleTicketEvents, ticketEventsActive, type CreationPreview } from './events.js';
import { slaAtCreation } from '../sla/recompute.js';

export interface NewTicket {
  title: string;
  description: string;
  channel: Channel;
  urgency: Urgency;
  environment?: string | null;
  occurrence?: string | null;
  workaround?: string | null;
  /**
   * A new customer's organization: its name on the staff form (resolved by createTicket: an
   * unknown name is refused), or the record; without either, the one whose domain the address has.
   */
  customer: { name: string; email: string; phone?: string | null; organization?: string | null; organizationId?: number | null };
  /** The team that works it (default: the default team). */
  teamId?: number | null;
  /** The creator takes the ticket at once (they must be in its team). */
  assignToMe?: boolean;
  /** Mail the reference and a private access link to the customer (default: yes). */
  notifyCustomer?: boolean;
  /** Files of the initial report (a screenshot, a log). */
  files?: readonly IncomingFile[];
  /** The inbound mail the ticket (and its files) came from. */
  inboundMailId?: number | null;
}

const MAX_ATTEMPTS = 5;

/**
 * The customer (found by email, or added), the ticket and its CREATED history row, in one
 * statement: one round trip, and all or nothing like any single statement.
 * When a new customer's first two tickets arrive at once, the second statement waits for the
 * first, finds its customer row taken but not yet visible, and inserts nothing: it is retried.
 * $15/$16 are the history row's JSON around the customer's stored name. Without a staff creator
 * ($13 null: the customer reported it) the customer is the history row's actor. With $17 the
 * "ticket created" mail goes into the outbox (its trigger queues the sending job), marked
 * fromCustomer when no staff member created the ticket (then it echoes nothing the reporter typed).
 * A creator who takes the ticket at once follows it (nobody else is told: it is their own action).
 * $18 is a new customer's address skeleton (look-alike addresses share it: src/domain/email-address.ts).
 * $19 is the ticket's team. $29 is the API token a staff creator used (null: the browser).
 * $20 is the status it is born with: OPEN when it has an owner from the start, as a New ticket
 * becomes Open when it is taken (assign-ticket.ts); the one CREATED row records both.
 * A new customer joins an organization: the one staff chose ($4), else the one whose domain is
 * the address's ($21, lower-case ASCII), recorded in both histories; a join by domain has no actor
 * (nobody chose it) and says so (LINKED). This is the one place customers are created.
 */
const CREATE_TICKET = `
WITH RECURSIVE chain AS (
  -- A merged record's address leads to the record it was merged into (and on, if that was merged too).
  SELECT id, name, email, "mergedIntoId", 1 AS depth FROM "Customer" WHERE email = $1::varchar
  UNION ALL
  SELECT c.id, c.name, c.email, c."mergedIntoId", chain.depth + 1
  FROM "Customer" c JOIN chain ON c.id = chain."mergedIntoId" WHERE chain.depth < 50
), found AS (
  SELECT id, name, email FROM chain WHERE "mergedIntoId" IS NULL
), org AS (
  SELECT o.id, o.name, $4::int IS NULL AS "byDomain" FROM "Organization" o
  WHERE o.id = coalesce($4::int, (SELECT d."organizationId" FROM "OrganizationDomain" d WHERE d.domain = $21::varchar))
), added AS (
  INSERT INTO "Customer" (email, name, phone, "organizationId", "emailSkeleton")
  SELECT $1::varchar, $2::varchar, $3::varchar, (SELECT id FROM org), $18::varchar WHERE NOT EXISTS (SELECT 1 FROM chain)
  ON CONFLICT (email) DO NOTHING
  RETURNING id, name, email, "organizationId", "createdAt"
), joined AS (
  INSERT INTO "CustomerHistory" (action, field, "newValue", "newRefId", "customerId", "actorId", "createdAt")
  SELECT CASE WHEN org."byDomain" THEN 'LINKED' ELSE 'CHANGED' END::"HistoryAction", 'organization', org.name, org.id,
         added.id, CASE WHEN NOT org."byDomain" THEN $13::int END, added."createdAt"
  FROM added JOIN org ON org.id = added."organizationId"
), members AS (
  INSERT INTO "OrganizationHistory" (action, field, "newValue", "newRefId", "organizationId", "actorId", "createdAt")
  SELECT 'LINKED', 'customer', added.email, added.id, org.id, CASE WHEN NOT org."byDomain" THEN $13::int END, added."createdAt"
  FROM added JOIN org ON org.id = added."organizationId"
), customer AS (
  SELECT id, name, email FROM found UNION ALL SELECT id, name, email FROM added
), ticket AS (
  INSERT INTO "Ticket" (reference, title, description, channel, urgency, environment, occurrence, workaround,
                        "customerId", "createdById", "assigneeId", "teamId", status, "awaitingSince", "createdAt", "updatedAt",
                        "slaPolicyId", "slaFirstResponseDueAt", "slaNextResponseDueAt", "slaResolutionDueAt", "slaDueAt", "slaNextCheckAt")
  SELECT $5::varchar, $6::varchar, $7::text, $8::"Channel", $9::"Urgency", $10::text, $11::text, $12::text,
         customer.id, $13::int, $14::int, $19::int, $20::"TicketStatus", coalesce($22::timestamptz, now()),
         coalesce($22::timestamptz, now()), coalesce($22::timestamptz, now()),
         $23::int, $24::timestamptz, $25::timestamptz, $26::timestamptz, $27::timestamptz, $28::timestamptz
  FROM customer
  RETURNING *
), history AS (
  INSERT INTO "TicketHistory" ("ticketId", "actorId", "actorCustomerId", action, "newValue", "newRefId",
                               "ticketVersion", "createdAt", "apiTokenId")
  SELECT ticket.id, $13::int, CASE WHEN $13::int IS NULL THEN customer.id END, 'CREATED',
         $15::text || to_json(customer.name)::text || $16::text, $14::int, ticket.version, ticket."createdAt", $29::int
  FROM ticket, customer
), follow AS (
  -- The owner (the creator who took it) follows it, as any owner does (services/notifications).
  INSERT INTO "TicketFollower" ("ticketId", "userId")
  SELECT ticket.id, ticket."assigneeId" FROM ticket WHERE ticket."assigneeId" IS NOT NULL
), mail AS (
  INSERT INTO "OutboundMail" (kind, recipient, payload, "ticketId")
  SELECT 'TICKET_CREATED', customer.email,
         jsonb_build_object('reference', ticket.reference, 'title', ticket.title, 'name', customer.name)
           || CASE WHEN $13::int IS NULL THEN '{"fromCustomer": true}'::jsonb ELSE '{}'::jsonb END, ticket.id
  FROM ticket, customer WHERE $17::boolean
)
SELECT ticket.id, ticket.reference, ticket.title, ticket.description, ticket.channel::text AS channel,
       ticket.environment, ticket.occurrence, ticket.workaround, ticket.urgency::text AS urgency,
       ticket.status::text AS status, ticket."resolutionCode"::text AS "resolutionCode", ticket."resolutionNote",
       ticket."internalResolutionNote", ticket.tags,
       ticket.version, (extract(epoch FROM ticket."createdAt") * 1000)::float8 AS "createdAt",
       (extract(epoch FROM ticket."updatedAt") * 1000)::float8 AS "updatedAt", ticket."resolvedAt", ticket."customerId",
       ticket."assigneeId", ticket."createdById", ticket."duplicateOfId", ticket."teamId",
       ticket."awaitingSince", ticket."lastCustomerReplyAt", ticket."slaPolicyId", ticket."slaFirstResponseDueAt",
       ticket."slaNextResponseDueAt", ticket."slaResolutionDueAt", ticket."slaDueAt", ticket."slaNextCheckAt"
FROM ticket`;

/** The new ticket as the statement returns it: times as epoch milliseconds (cheaper to read). */
type CreatedRow = Omit<Ticket, 'createdAt' | 'updatedAt'> & { createdAt: number; updatedAt: number };

/**
 * Log a new ticket: the customer is found by email or created, the ticket gets a fresh random
 * reference (retried on the rare collision; not inside a caller's transaction `opts.tx`), and
 * its creation is the first history row.
 */
export async function createTicket(ctx: ServiceContext, input: NewTicket, opts: { tx?: Tx } = {}): Promise<Ticket> {
  assertCan(ctx.actor, 'ticket.create');
  // `tx`: inside the caller's transaction (an error report records its problem with its ticket),
  // which then settles the ticket events before it commits; every read goes through it.
  const db = opts.tx ?? ctx.db;
  const team = await ticketTeam(db, input.teamId);
  const teamId = team.id;
  // Deactivated users and non-members cannot be given tickets, not even their own new one.
  if (input.assignToMe) await findAssignableUser(db, ctx.actor.id, teamId, 'assignToMe');
  // The organization is picked by name from those on record (it applies to a new customer only).
  const org = await organizationByName(db, input.customer.organization, 'customerOrganization');
  const customer = { ...input.customer, organizationId: org?.id ?? input.customer.organizationId ?? null };
  // In a caller's transaction (an API create records its idempotency key with it; an error report
  // its problem): the caller settles the ticket events (settleTicketEvents) before it commits.
  return insertTicket(ctx.db, { ...input, customer, teamId }, ctx.actor, opts.tx, team);
}

/**
 * A ticket reported by the customer themselves (web form, email): no staff creator, the customer
 * is the actor of its creation, and they are mailed its reference and access link (unless
 * `notify` is false: inbound mail's backscatter policy). That mail is generic: a customer-reported
 * ticket's title and name were typed by whoever used the address, so they are not echoed back.
 * The caller (a customer-facing service) has checked the input and the channel.
 */
export function createTicketForCustomer(
  db: Db,
  input: NewTicket & { channel: 'WEB' | 'EMAIL' },
  opts: { tx?: Tx; notify?: boolean } = {},
): Promise<Ticket> {
  return insertTicket(db, { ...input, assignToMe: false, notifyCustomer: opts.notify ?? true }, null, opts.tx);
}

/**
 * A team that assigns automatically gives the new ticket an owner in the transaction that creates
 * it (auto-assign.ts); a team other than the default one is told of its new unowned ticket there
 * too. Otherwise (the default team without automatic assignment: the common case, and the
 * fastest) the ticket is one statement, with no transaction around it. The team's setting is read just before: a ticket created as an
 * admin switches automatic assignment on may be left for a person to assign.
 */
async function insertTicket(
  db: Db,
  input: NewTicket,
  staff: Actor | null,
  tx?: Tx,
  known?: Awaited<ReturnType<typeof ticketTeam>>,
): Promise<Ticket> {
  const team = known ?? (await ticketTeam(tx ?? db, input.teamId));
  const withTeam = { ...input, teamId: team.id };
  // Given an owner by the team's automatic assignment; or else, outside the default team, announced to its members.
  const route = async (t: Tx, ticket: Ticket) => {
    const routed = await autoAssign(t, ticket);
    if (team.isDefault) return routed;
    const by: HistoryActor = staff ?? { customerId: ticket.customerId, name: input.customer.name, email: input.customer.email };
    return announceToTeam(t, by, routed);
  };
  if (tx) return route(tx, await insertTicketWithFiles(db, withTeam, staff, tx));
  // Nothing to route, no rule or SLA to apply (events.ts): one statement, no transaction.
  const routed = !withTeam.assignToMe && !(team.autoAssign === 'OFF' && team.isDefault);
  const preview: CreationPreview = {
    title: input.title.trim(),
    description: input.description.trim(),
    urgency: input.urgency,
    channel: input.channel,
    status: input.assignToMe && staff ? 'OPEN' : 'NEW',
    teamId: team.id,
    assigneeId: input.assignToMe && staff ? staff.id : null,
    customerEmail: input.customer.email.trim().toLowerCase(),
  };
  if (!routed && !(await ticketEventsActive(db, preview))) return insertTicketWithFiles(db, withTeam, staff);
  return insertTicketWithFiles(db, withTeam, staff, undefined, routed ? route : (_t, ticket) => Promise.resolve(ticket));
}

/**
 * `tx`: run inside the caller's transaction (inbound mail records the message with its ticket).
 * There a reference collision aborts the transaction instead of being retried: the caller fails
 * and tries again later (once in 34 billion). `then`: more work on the new ticket in its
 * transaction (one is opened for it).
 */
async function insertTicketWithFiles(
  db: Db,
  input: NewTicket & { teamId: number },
  staff: Actor | null,
  tx?: Tx,
  then?: (tx: Tx, ticket: Ticket) => Promise<Ticket>,
): Promise<Ticket> {
  const files = input.files ?? [];
  if (files.length === 0 && !then) return insertTicketRow(db, input, staff, tx);
  assertWithinLimits(files, attachmentLimits());
  // The ticket and its report's files in one transaction (the caller's, or one of its own).
  const withFiles = (staged: readonly IncomingFile[]) => async (t: Tx) => {
    const ticket = await insertTicketRow(db, input, staff, t);
    const by = { actorId: staff?.id ?? null, actorCustomerId: staff ? null : ticket.customerId };
    if (staged.length > 0) {
      await storeAttachments(t, by, ticket, { workLogEntryId: null, inboundMailId: input.inboundMailId, at: ticket.createdAt }, staged);
    }
    return then ? then(t, ticket) : ticket;
  };
  if (tx) return withFiles(files)(tx);
  // Large files' bytes are written before the transaction (src/services/attachments/store.ts).
  return withStagedFiles(db, files, async (staged) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const ticket = await db.$transaction(async (t) => {
          const created = await withFiles(staged)(t);
          await settleTicketEvents(t);
          return created;
        }, { timeout: 30_000 });
        invalidateQueueCounts();
        return ticket;
      } catch (err) {
        // A reference collision inside the transaction: the whole of it again, with another.
        if (isUniqueViolation(err) && attempt < MAX_ATTEMPTS) continue;
        throw err;
      }
    }
  });
}

async function insertTicketRow(
  db: Db,
  input: NewTicket & { teamId: number },
  staff: Actor | null,
  tx?: Tx,
): Promise<Ticket> {
  const title = requireText(input.title, 'title', 'A title');
  const description = requireText(input.description, 'description', 'A description');
  const email = requireText(input.customer.email, 'customerEmail', "The customer's email").toLowerCase();
  const customerName = requireText(input.customer.name, 'customerName', "The customer's name");
  const assigneeId = input.assignToMe && staff ? staff.id : null;
  // Created with an owner, it is already taken: Open, like a New ticket once someone takes it.
  const status: TicketStatus = assigneeId === null ? 'NEW' : 'OPEN';
  // What the ticket was at birth; later history rows hold each change from there.
  const born = JSON.stringify({ title, urgency: input.urgency, status, channel: input.channel });
  const bornHead = born.slice(0, -1) + ',"customer":';
  const bornTail = `,"assignee":${JSON.stringify(assigneeId === null ? null : staff?.name)}}`;

  // Its SLA due times go in with it (no UPDATE after), computed for the moment it is born; that
  // moment is then the ticket's creation time (the clock is recomputable from history exactly).
  const bornAt = new Date();
  const sla = await slaAtCreation(tx ?? db, { urgency: input.urgency, channel: input.channel, teamId: input.teamId, status, byStaff: staff !== null }, bornAt);
  const stored = sla === 'later' ? null : sla;
  const slaValues = [
    stored?.slaPolicyId ? bornAt : null,
    stored?.slaPolicyId ?? null,
    stored?.slaFirstResponseDueAt ?? null,
    stored?.slaNextResponseDueAt ?? null,
    stored?.slaResolutionDueAt ?? null,
    stored?.slaDueAt ?? null,
    stored?.slaNextCheckAt ?? null,
  ];

  for (let attempt = 1; ; attempt++) {
    try {
      const values = [
        email,
        customerName,
        input.customer.phone ?? null,
        input.customer.organizationId ?? null,
        generateReference(),
        title,
        description,
        input.channel,
        input.urgency,
        input.environment ?? null,
        input.occurrence ?? null,
        input.workaround ?? null,
        staff?.id ?? null,
        assigneeId,
        bornHead,
        bornTail,
        input.notifyCustomer ?? true,
        emailSkeleton(email),
        input.teamId,
        status,
        asciiDomain(email.slice(email.lastIndexOf('@') + 1)).toLowerCase(),
        ...slaValues,
        staff?.token?.id ?? null,
      ];
      const [row] = await sql<CreatedRow>(tx ?? db, CREATE_TICKET, values);
      if (row) {
        const ticket: Ticket = { ...row, createdAt: new Date(row.createdAt), updatedAt: new Date(row.updatedAt) };
        if (tx) {
          // Rules (and the SLA clock, when it could not be computed before) act on it before the commit.
          const creator: HistoryActor = staff ?? { customerId: ticket.customerId, name: customerName, email };
          recordTicketEvent(tx, { kind: 'created', ticketId: ticket.id, actor: creator, ticket, slaStored: stored !== null });
        }
        // Not yet committed inside a caller's transaction: the queue counts again instead.
        if (tx) invalidateQueueCounts();
        else countCreatedTicket(db, ticket);
        return ticket;
      }
      // The customer was being added by another request at the same moment: try again.
      if (attempt >= MAX_ATTEMPTS) throw new Error(`Could not add the customer ${email}; try again.`);
    } catch (err) {
      // A reference collision: try again with another.
      if (isUniqueViolation(err) && attempt < MAX_ATTEMPTS) continue;
      throw err;
    }
  }
}
