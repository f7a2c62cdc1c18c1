import { z } from 'zod';
import { optionalText, requiredText, version, searchText } from './common.js';

const LONG = 20_000;

/** A record number from a form or link, with one message for anything else. */
const recordId = (message: string) =>
  z.coerce.number({ error: message }).int(message).min(1, message).max(2_147_483_647, message);

/** The customer list's filters, as they appear in its URL. */
export const CustomerQuery = z.object({
  q: searchText().optional(),
  organization: z.string().trim().max(120, 'An organization can be at most 120 characters.').optional(),
  after: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,700}\.\d{1,10}$/, 'That page link is not valid.')
    .optional()
    .transform((s) => (s ? decodeCursor(s) : undefined))
    .refine((c) => c !== null, 'That page link is not valid.')
    .transform((c) => c ?? undefined),
});

/** The new-ticket form's suggestions. */
export const LookupQuery = z.object({
  q: searchText().default(''),
});

export const CustomerForm = z.object({
  version,
  name: requiredText('A name', 120),
  email: z
    .string({ error: 'An email is required.' })
    .trim()
    .min(1, 'An email is required.')
    .max(254, 'An email can be at most 254 characters.')
    .pipe(z.email({ error: 'Enter a valid email address.' })),
  phone: optionalText('A phone number', 40),
  organization: optionalText('An organization', 120),
  environment: optionalText('The environment notes', LONG),
  notes: optionalText('The notes', LONG),
});

/** The merge page: search text for the duplicate, and the duplicate once chosen. */
export const MergeQuery = z.object({
  q: searchText().optional(),
  mergeId: z.union([z.literal('').transform(() => undefined), recordId('Choose a record from the list.')]).optional(),
});

export const MergeForm = z.object({
  mergeId: recordId('Choose the duplicate record.'),
  keepVersion: version,
  mergeVersion: version,
  /** "Both addresses are this person's": needed when they look alike but differ. */
  confirmLookalike: z.literal('1', { error: 'Tick the box to confirm, or leave it empty.' }).optional(),
});

/** A page link's cursor: the last row's name (base64url) and id. */
export function encodeCursor(c: { name: string; id: number }): string {
  return `${Buffer.from(c.name, 'utf8').toString('base64url')}.${c.id}`;
}

function decodeCursor(s: string): { name: string; id: number } | null {
  const [encoded = '', idText = ''] = s.split('.');
  const name = Buffer.from(encoded, 'base64url').toString('utf8');
  const n = Number(idText);
  if (name.length > 120 || !Number.isInteger(n) || n < 1 || n > 2_147_483_647) return null;
  return { name, id: n };
}
