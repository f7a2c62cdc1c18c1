// Small named checks for customer records. Each throws a typed error whose message says what to do.
import type { Tx } from '../../db/client.js';
import type { Customer } from '../../generated/prisma/client.js';
import { looksAlike, unambiguousAddress } from '../../domain/email-address.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { organizationByName } from '../organizations/rules.js';
import type { CustomerPatch } from './customer-history.js';

/** Longest values the columns hold (schema.prisma); long texts get the forms' limit. */
export const LIMITS = { name: 120, email: 254, phone: 40, organization: 120, environment: 20_000, notes: 20_000 } as const;

const LABELS = {
  name: 'A name',
  email: 'An email',
  phone: 'A phone number',
  organization: 'An organization',
  environment: 'The environment notes',
  notes: 'The notes',
} as const;

type Field = keyof typeof LIMITS;

export async function findCustomerOrThrow(tx: Tx, id: number): Promise<Customer> {
  const customer = await tx.customer.findUnique({ where: { id } });
  if (!customer) throw new NotFoundError(`There is no customer number ${id}.`);
  return customer;
}

/** A merged record is kept for its history only: its tickets and edits belong to the kept one. */
export async function assertNotMerged(tx: Tx, customer: Customer): Promise<void> {
  if (customer.mergedIntoId === null) return;
  const into = await tx.customer.findUnique({ where: { id: customer.mergedIntoId }, select: { name: true, email: true } });
  const where = into ? `${into.name} (${into.email})` : `customer number ${customer.mergedIntoId}`;
  throw new ValidationError(`The record of ${customer.name} was merged into ${where}: use that record instead.`);
}

/** The form was filled in from this version; someone may have changed the record since. */
export function assertCustomerVersion(customer: Customer, formVersion: number): void {
  if (customer.version !== formVersion) {
    throw new ConflictError(`The record of ${customer.name} was changed by someone else meanwhile.`, customer.version);
  }
}

function text(field: Field, value: string | null | undefined, required: boolean): string | null {
  const trimmed = value?.trim() ?? '';
  if (trimmed === '') {
    if (!required) return null;
    const msg = `${LABELS[field]} is required.`;
    throw new ValidationError(msg, { [field]: msg });
  }
  if (trimmed.length > LIMITS[field]) {
    const msg = `${LABELS[field]} can be at most ${LIMITS[field]} characters.`;
    throw new ValidationError(msg, { [field]: msg });
  }
  return trimmed;
}

/** One address per customer, kept lower-case, so that "Ann@X.com" and "ann@x.com" are one customer. */
export function normalizeEmail(value: string | null | undefined): string {
  const email = text('email', value, true)!.toLowerCase();
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
    throw new ValidationError('Enter a valid email address.', { email: 'Enter a valid email address.' });
  }
  return email;
}

export interface CustomerEdit {
  name: string;
  email: string;
  phone?: string | null;
  /** The organization's name (an existing record's, whatever the case), or empty for none. */
  organization?: string | null;
  environment?: string | null;
  notes?: string | null;
}

/**
 * An edit as it is stored: trimmed, empty texts as none, email lower-case, lengths within limits,
 * the organization's name resolved to its record (an unknown name is refused).
 */
export async function normalizeEdit(tx: Tx, edit: CustomerEdit): Promise<Required<CustomerPatch>> {
  const fields = {
    name: text('name', edit.name, true)!,
    email: normalizeEmail(edit.email),
    phone: text('phone', edit.phone, false),
    organization: text('organization', edit.organization, false),
    environment: text('environment', edit.environment, false),
    notes: text('notes', edit.notes, false),
  };
  const { organization, ...rest } = fields;
  const org = await organizationByName(tx, organization);
  return { ...rest, organizationId: org?.id ?? null };
}

export function emailTaken(email: string, other?: Pick<Customer, 'name'>): ValidationError {
  const who = other ? `${other.name} already has` : 'Another customer already has';
  return new ValidationError(
    `${who} the email ${email}. If they are the same person, merge the two records instead.`,
    { email: 'This email belongs to another customer record.' },
  );
}

/** The address is not used by any other record (merged ones included: they keep theirs). */
export async function assertEmailFree(tx: Tx, email: string, customerId: number): Promise<void> {
  const other = await tx.customer.findUnique({ where: { email }, select: { id: true, name: true } });
  if (other && other.id !== customerId) throw emailTaken(email, other);
}

export function assertDifferentRecords(keepId: number, mergeId: number): void {
  if (keepId === mergeId) {
    throw new ValidationError('A record cannot be merged with itself: choose the duplicate record.', {
      mergeId: 'Choose another record.',
    });
  }
}

/**
 * Two addresses that look alike but differ ("ann@cust.test" and "ann@cust.tеst", Cyrillic е) may
 * be a customer and an impostor: merging them would give the impostor's mailbox the customer's
 * tickets. Only with the admin's explicit confirmation that both are the same person's.
 */
export function assertLookalikeConfirmed(keep: Customer, merge: Customer, confirmed: boolean): void {
  if (confirmed || !looksAlike(keep.email, merge.email)) return;
  throw new ValidationError(
    `The addresses ${unambiguousAddress(keep.email)} and ${unambiguousAddress(merge.email)} look alike but are different mailboxes: ` +
      'the duplicate may be an impostor. Nothing was merged. Check with the customer that both addresses are theirs, ' +
      'then tick the confirmation and merge again.',
    { confirmLookalike: 'Confirm that both addresses belong to the same person.' },
  );
}

/** "Name <email>": how a record is named where there may be two with the same name. */
export function customerLabel(c: Pick<Customer, 'name' | 'email'>): string {
  return `${c.name} <${c.email}>`;
}
