import { z } from 'zod';
import { version } from './common.js';

/** Checkboxes: absent (none), one value, or repeated keys (an array). */
const events = z
  .union([z.string().max(40), z.array(z.string().max(40)).max(50)], { error: 'Choose among the events listed.' })
  .optional()
  .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]));

export const EndpointForm = z.object({
  url: z.string({ error: 'Enter the address.' }).trim().min(1, 'Enter the address.').max(2000, 'The address is too long (2,000 characters at most).'),
  description: z.string().trim().max(500, 'Keep the description under 500 characters.').optional().default(''),
  events,
  active: z.enum(['1']).optional(),
});

export const EditEndpointForm = EndpointForm.extend({ version });

export const DeleteEndpointForm = z.object({
  confirm: z.literal('1', { error: 'Tick the box to confirm.' }),
});

/** The delivery log's keyset: deliveries with ids below this one. */
export const LogQuery = z.object({
  before: z.coerce.number().int().min(1).max(2_147_483_647).optional().catch(undefined),
});
