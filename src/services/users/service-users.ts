// Service accounts: the users programs act as (an API service token, an error-reporting project).
// History and work-log rows name them like anyone ("Checkout app"), so an auditor sees which
// program did what; they never sign in (no usable password), are in no team (so never own a
// ticket) and are not listed among the people a ticket can be given to.
import { randomUUID } from 'node:crypto';
import type { Tx } from '../../db/client.js';
import type { Role } from '../../domain/enums.js';
import type { User } from '../../generated/prisma/client.js';
import { ValidationError } from '../errors.js';

/** Not a hash any password verifies against (services/passwords.ts): sign-in always fails. */
const NO_PASSWORD = '!service-account';

/**
 * Creates a service account in the caller's transaction (the caller records why: the token or
 * project it belongs to). Its email is a unique placeholder under the reserved `.invalid` domain.
 */
export async function createServiceUser(tx: Tx, input: { name: string; role: Role; createdById: number }): Promise<User> {
  const name = input.name.trim();
  if (!name || name.length > 120) throw new ValidationError('A name of 1 to 120 characters is required.', { name: 'Enter a name.' });
  const user = await tx.user.create({
    data: { email: `service-${randomUUID()}@caseboard.invalid`, name, role: input.role, passwordHash: NO_PASSWORD, kind: 'SERVICE', available: false },
  });
  await tx.userHistory.create({
    data: { userId: user.id, actorId: input.createdById, action: 'CREATED', newValue: JSON.stringify({ name, role: input.role, kind: 'SERVICE' }) },
  });
  return user;
}
