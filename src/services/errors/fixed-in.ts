// "Fixed in release X", set by hand on an automatic report's ticket (its Error reports panel):
// an event of X or a later release reopens the ticket once it is resolved (record.ts). Recorded as
// a note in the ticket's work log (and so its history), in the same transaction.
import type { ServiceContext } from '../context.js';
import { ValidationError } from '../errors.js';
import { mutateTicket } from '../tickets/mutate.js';
import { appendWorkLog } from '../tickets/add-work-log.js';
import { markFixedIn } from './record.js';

export function setFixedInRelease(ctx: ServiceContext, reference: string, release: string) {
  const value = release.trim();
  if (!value || value.length > 200) throw new ValidationError('Enter a release of 1 to 200 characters.', { release: 'Enter a release.' });
  return mutateTicket(ctx, 'ticket.resolve', { reference }, async (tx, ticket) => {
    if (!(await markFixedIn(tx, ticket.id, value))) throw new ValidationError('This ticket is not an automatic error report.', { release: 'Only for error reports.' });
    await appendWorkLog(tx, ctx.actor, ticket, { kind: 'NOTE', body: `Error reports: fixed in release ${value} (seen again in it or a later release once resolved, the ticket reopens).` });
  });
}
