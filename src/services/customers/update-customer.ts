import type { Customer } from '../../generated/prisma/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { ServiceContext } from '../context.js';
import { assertCan } from '../policy.js';
import { changeCustomer } from './customer-history.js';
import {
  assertCustomerVersion,
  assertEmailFree,
  assertNotMerged,
  emailTaken,
  findCustomerOrThrow,
  normalizeEdit,
  type CustomerEdit,
} from './rules.js';

export type { CustomerEdit } from './rules.js';

/**
 * Edit a customer's contact details, organization and notes. One history row per changed field;
 * the email stays unique (lower-case); a stale form or a merged record is refused.
 */
export async function updateCustomer(ctx: ServiceContext, id: number, version: number, edit: CustomerEdit): Promise<Customer> {
  assertCan(ctx.actor, 'customer.update');
  let email = edit.email;
  try {
    const updated = await ctx.db.$transaction(async (tx) => {
      const patch = await normalizeEdit(tx, edit);
      email = patch.email;
      const customer = await findCustomerOrThrow(tx, id);
      await assertNotMerged(tx, customer);
      assertCustomerVersion(customer, version);
      if (patch.email !== customer.email) await assertEmailFree(tx, patch.email, customer.id);
      return changeCustomer(tx, ctx.actor, customer, patch);
    });
    return updated;
  } catch (err) {
    // Another record took the address between the check and the write.
    if (isUniqueViolation(err)) throw emailTaken(email);
    throw err;
  }
}
