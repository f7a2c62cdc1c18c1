// Tags on a ticket: short lower-case words ("vpn", "billing-q3"), at most TAG_MAX_COUNT. A tracked
// field: adding or removing one is a change with its history row (changeTicket), by hand from the
// ticket page, by a macro or by an automation rule.
import type { ServiceContext } from '../context.js';
import { ValidationError } from '../errors.js';
import { changeTicket } from './history.js';
import { mutateTicket, type TicketTarget } from './mutate.js';

export const TAG_MAX_COUNT = 20;
export const TAG_MAX_LENGTH = 40;
const TAG = /^[\p{L}\p{N}][\p{L}\p{N}._-]*$/u;

/** Lower-case, trimmed, inner spaces as dashes. */
export const normalizeTag = (tag: string): string => tag.normalize('NFC').trim().toLowerCase().replace(/\s+/g, '-');

/** A tag as stored, or a ValidationError that says what a tag may be. */
export function checkTag(raw: string, field = 'tag'): string {
  const tag = normalizeTag(raw);
  if (!tag) throw new ValidationError('Enter a tag.', { [field]: 'Enter a tag.' });
  if (tag.length > TAG_MAX_LENGTH) throw new ValidationError(`A tag is at most ${TAG_MAX_LENGTH} characters.`, { [field]: 'Shorten it.' });
  if (!TAG.test(tag)) {
    throw new ValidationError('A tag is letters and digits, with dots, dashes or underscores between them.', { [field]: 'Use letters, digits, . - _' });
  }
  return tag;
}

/** Tag the ticket (already tagged: nothing changes). */
export function addTicketTag(ctx: ServiceContext, target: TicketTarget, raw: string) {
  const tag = checkTag(raw);
  return mutateTicket(ctx, 'ticket.update', target, async (tx, ticket) => {
    const tags = ticket.tags ?? [];
    if (tags.includes(tag)) return ticket;
    if (tags.length >= TAG_MAX_COUNT) {
      throw new ValidationError(`A ticket has at most ${TAG_MAX_COUNT} tags: remove one first.`, { tag: 'Too many tags.' });
    }
    return changeTicket(tx, ctx.actor, ticket, { tags: [...tags, tag] });
  });
}

/** Remove a tag from the ticket (not there: nothing changes). */
export function removeTicketTag(ctx: ServiceContext, target: TicketTarget, raw: string) {
  const tag = normalizeTag(raw);
  return mutateTicket(ctx, 'ticket.update', target, async (tx, ticket) => {
    const tags = ticket.tags ?? [];
    if (!tags.includes(tag)) return ticket;
    return changeTicket(tx, ctx.actor, ticket, { tags: tags.filter((t) => t !== tag) });
  });
}
