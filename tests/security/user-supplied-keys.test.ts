// Field names chosen by the sender (issue 9, finding 6): a stale form with a field named after
// a property every object inherits (`valueOf`, `toString`, `constructor`…) once gave a 500 on the
// "changed meanwhile" page, which looked the field's name up in plain objects. Every ticket action
// that can meet a stale version is sent such a field: the page answers 409, shows the field as
// text, and nothing is written. (fuzz-forms.test.ts sends these names to every form, too.)
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { expectRefused, signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { changeUrgency } from '../../src/services/tickets/change-urgency.js';
import { resolveTicket } from '../../src/services/tickets/resolve-ticket.js';
import { updateTicketDetails } from '../../src/services/tickets/update-details.js';
import { assignTicket } from '../../src/services/tickets/assign-ticket.js';
import { changeStatus } from '../../src/services/tickets/change-status.js';

let db: TestDatabase;
let app: Express;
let admin: Actor;
let client: Awaited<ReturnType<typeof signIn>>;
let other: Actor;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  admin = await buildUser(db, { role: 'ADMIN' });
  client = await signIn(app, admin.email);
  other = await buildUser(db, { name: 'Otto Other' });
});
afterAll(() => db?.close());

export const INHERITED = ['valueOf', 'toString', 'constructor', 'hasOwnProperty', 'isPrototypeOf', 'toLocaleString', '__proto__', '__defineGetter__'];

/**
 * A ticket changed since version 1 in every field the forms below change, so that each of them,
 * sent with version 1, meets a colleague's change of a field it changes (a stale form that changes
 * only other fields goes through: see ticket-forms.test.ts).
 */
async function staleTicket(resolved = false) {
  const t = await buildTicket(db, admin);
  const me = as(db, admin);
  let now = await changeUrgency(me, { reference: t.reference, version: t.version }, 'HIGH');
  now = await updateTicketDetails(me, { reference: t.reference, version: now.version }, {
    title: 'Changed meanwhile', description: 'Changed meanwhile', channel: 'EMAIL', environment: 'x', occurrence: 'y', workaround: 'z',
  });
  now = await assignTicket(me, { reference: t.reference, version: now.version }, admin.id);
  now = await changeStatus(me, { reference: t.reference, version: now.version }, 'IN_PROGRESS');
  if (resolved) now = await resolveTicket(me, { reference: t.reference, version: now.version }, { code: 'FIXED', note: 'Restarted it.' });
  return t.reference;
}

const ACTIONS: { action: string; resolved?: boolean; fields: Record<string, string> }[] = [
  { action: 'details', fields: { title: 'A title', description: 'A description', channel: 'PHONE', environment: '', occurrence: '', workaround: '' } },
  { action: 'urgency', fields: { urgency: 'LOW' } },
  { action: 'status', fields: { status: 'WAITING_ON_CUSTOMER' } },
  { action: 'assign', fields: { assigneeId: 'OTHER' } },
  { action: 'resolve', fields: { resolutionCode: 'FIXED', resolutionNote: 'It works.', duplicateOf: '' } },
  { action: 'reopen', resolved: true, fields: { reason: 'It is back.' } },
];

describe('a stale form whose fields are named after inherited properties', () => {
  for (const { action, resolved, fields } of ACTIONS) {
    it(`${action}: shows the "changed meanwhile" page, never a 500, and writes nothing`, async () => {
      const reference = await staleTicket(resolved);
      for (const name of INHERITED) {
        const body = new URLSearchParams({ _csrf: client.csrf, version: '1', ...fields });
        if (body.get('assigneeId') === 'OTHER') body.set('assigneeId', String(other.id));
        body.append(name, `sent as ${name}`);
        const res = await expectRefused(
          db,
          () => client.agent.post(`/tickets/${reference}/${action}`).type('form').send(body.toString()),
          409,
          'changed',
        );
        // The odd field is shown back as what it is: a field with that name and the text sent.
        if (name !== '__proto__') expect(res.text, name).toContain(`sent as ${name}`);
        expect(res.text).not.toMatch(/\[native code\]|function /);
      }
    });
  }
});
