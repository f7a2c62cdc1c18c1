import { z } from 'zod';
import { SEARCH_TEXT_MAX, SEARCH_TEXT_TOO_LONG } from '../../services/search-text.js';

/** Turns zod issues into one message per form field, for showing beside the fields. */
export function fieldErrors(error: z.ZodError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = String(issue.path[0] ?? '_form');
    out[key] ??= issue.message;
  }
  return out;
}

/** A required line of text, trimmed, with a readable message for empty and over-long input. */
export const requiredText = (label: string, max: number) =>
  z
    .string({ error: `${label} is required.` })
    .trim()
    .min(1, `${label} is required.`)
    .max(max, `${label} can be at most ${max} characters.`);

/** An optional text; empty means none (null). */
export const optionalText = (label: string, max: number) =>
  z
    .string()
    .trim()
    .max(max, `${label} can be at most ${max} characters.`)
    .optional()
    .transform((v) => (v ? v : null));

export const choice = <T extends string>(label: string, values: readonly T[]) =>
  z.enum(values as [T, ...T[]], { error: `Choose a valid ${label}.` });

export const version = z.coerce
  .number({ error: 'The form is missing its version: reload the page.' })
  .int()
  .min(1, 'The form is missing its version: reload the page.')
  // A version past the column's range is stale too; it must not reach a query (a 500).
  .max(2_147_483_647, 'The form is missing its version: reload the page.');

export const id = z.coerce.number().int().min(1).max(2_147_483_647);

/** A search box's text: trimmed, and no longer than what ever reaches the text-search parser. */
export const searchText = () => z.string().trim().max(SEARCH_TEXT_MAX, SEARCH_TEXT_TOO_LONG);
