import { z } from 'zod';
import { optionalText, requiredText, version, searchText } from './common.js';
import { encodeCursor } from './customers.js';

const LONG = 20_000;

/** The organizations list's filters, as they appear in its URL (the page link as the customer list's). */
export const OrganizationQuery = z.object({
  q: searchText().optional(),
  after: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,700}\.\d{1,10}$/, 'That page link is not valid.')
    .optional()
    .transform((s) => (s ? decodeCursor(s) : undefined))
    .refine((c) => c !== null, 'That page link is not valid.')
    .transform((c) => c ?? undefined),
});

const fields = {
  name: requiredText('A name', 120),
  /** One a line (or separated by commas or spaces); each is checked by the service. */
  domains: optionalText('The domains', 20_000),
  environment: optionalText('The environment notes', LONG),
  contract: optionalText('The contract notes', LONG),
  /** A checkbox: sent as "1" when ticked, absent otherwise. */
  shareTickets: z
    .literal('1', { error: 'Tick the box, or leave it empty.' })
    .optional()
    .transform((v) => v === '1'),
};

export const NewOrganizationForm = z.object(fields);
export const OrganizationForm = z.object({ version, ...fields });

export { encodeCursor };

function decodeCursor(s: string): { name: string; id: number } | null {
  const [encoded = '', idText = ''] = s.split('.');
  const name = Buffer.from(encoded, 'base64url').toString('utf8');
  const n = Number(idText);
  if (name.length > 120 || !Number.isInteger(n) || n < 1 || n > 2_147_483_647) return null;
  return { name, id: n };
}
