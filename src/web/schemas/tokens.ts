import { z } from 'zod';
import { ROLES, type Role } from '../../domain/enums.js';
import { SCOPE_NAMES } from '../../services/api/scopes.js';
import { EXPIRY_DAYS } from '../../services/api/tokens.js';
import { choice, id, requiredText } from './common.js';

/** The new-token form: a name, the scopes ticked (one field, repeated), an expiry in days. */
export const TokenForm = z.object({
  name: requiredText('A name', 120),
  scopes: z
    .union([z.string(), z.array(z.string()).max(SCOPE_NAMES.length * 2)], { error: 'Choose at least one scope.' })
    .transform((v) => ([] as string[]).concat(v)),
  expiresInDays: z.enum(EXPIRY_DAYS.map(String) as [string, ...string[]], { error: 'Choose an expiry.' }).transform(Number),
});

/** An admin's service token: also the role its service account acts with. */
export const ServiceTokenForm = TokenForm.extend({ role: choice('role', ROLES as readonly Role[]) });

export const TokenId = id;
