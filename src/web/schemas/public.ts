// Customer-facing forms: status lookup, replies, web requests. Limits match the staff forms.
import { z } from 'zod';
import { optionalText, requiredText } from './common.js';

const LONG = 20_000;

const email = (label: string) =>
  z
    .string({ error: `${label} is required.` })
    .trim()
    .min(1, `${label} is required.`)
    .max(254, 'An email can be at most 254 characters.')
    .pipe(z.email({ error: 'Enter a valid email address.' }));

export const StatusLookupForm = z.object({
  reference: requiredText('The reference number', 40),
  email: email('The email address on the ticket'),
});

export const CustomerReplyForm = z.object({
  body: requiredText('Your reply', LONG),
});

/** A reply that comes with files: its text may be left empty (as on staff entries). */
export const CustomerReplyWithFilesForm = z.object({
  body: z.string().trim().max(LONG, `Your reply can be at most ${LONG} characters.`).optional().transform((v) => v ?? ''),
});

export const WebRequestForm = z.object({
  name: requiredText('Your name', 120),
  email: email('Your email address'),
  title: requiredText('A short summary', 200),
  description: requiredText('A description', LONG),
  environment: optionalText('Your environment', LONG),
  occurrence: optionalText('When and how it happens', LONG),
  /** The honeypot: hidden from people, filled in by bots. */
  website: z.string().max(2000).optional(),
});

export const HelpQuery = z.object({
  q: z.string().max(200).optional().default(''),
  page: z.coerce.number().int().min(0).max(50).optional().default(0),
});

export const TitleQuery = z.object({ title: z.string().max(200).optional().default('') });
