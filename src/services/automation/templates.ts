// Reply templates of rules, macros and canned replies: Mustache (logic-less, no code runs), with a
// fixed set of placeholders. Mail is plain text: nothing is HTML-escaped when filling a template
// (pages escape on output as usual). Sections, partials and the like are refused when saving.
import Mustache from 'mustache';
import { ValidationError } from '../errors.js';

export const TEMPLATE_MAX = 5_000;

/** The placeholders a template may use, with what each is. */
export const PLACEHOLDERS = {
  'customer.name': "The customer's name",
  'customer.email': "The customer's address",
  'ticket.reference': 'The ticket reference',
  'ticket.title': 'The ticket title',
  'ticket.status': 'The ticket status',
  'ticket.urgency': 'The ticket urgency',
  'ticket.team': 'The ticket team',
  'agent.name': 'Who sends it (a person; for a rule, the ticket owner or its team)',
} as const;
export type Placeholder = keyof typeof PLACEHOLDERS;

export interface TemplateValues {
  customer: { name: string; email: string };
  ticket: { reference: string; title: string; status: string; urgency: string; team: string };
  agent: { name: string };
}

type Token = [string, string, number, number, Token[]?];

/** Refuses what is not plain text with known placeholders (field: the form's field name). */
export function checkTemplate(template: string, field: string, what = 'The template'): void {
  if (template.length > TEMPLATE_MAX) {
    throw new ValidationError(`${what} can be at most ${TEMPLATE_MAX} characters.`, { [field]: 'Shorten it.' });
  }
  let tokens: Token[];
  try {
    tokens = Mustache.parse(template) as Token[];
  } catch (err) {
    throw new ValidationError(`${what} cannot be read: ${(err as Error).message}`, { [field]: 'Check the {{ }} marks.' });
  }
  const known = Object.keys(PLACEHOLDERS);
  for (const [type, value] of tokens) {
    if (type === 'text') continue;
    if (type !== 'name' && type !== '&') {
      throw new ValidationError(`${what} may only use placeholders like {{customer.name}}, not “${type}” sections.`, { [field]: 'Use only plain placeholders.' });
    }
    if (!known.includes(value)) {
      throw new ValidationError(`${what} uses the unknown placeholder {{${value}}}. Known: ${known.map((k) => `{{${k}}}`).join(', ')}.`, {
        [field]: `Unknown placeholder {{${value}}}.`,
      });
    }
  }
}

/** Fills a (checked) template; nothing is escaped (plain text). */
export function fillTemplate(template: string, values: TemplateValues): string {
  return Mustache.render(template, values, {}, { escape: (s: unknown) => String(s) });
}
