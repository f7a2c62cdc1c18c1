// The queue's text filter: full-text over title, description and work log, plus the customer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import type { Actor } from '../../src/services/context.js';
import { addWorkLog } from '../../src/services/tickets/add-work-log.js';
import { listQueue } from '../../src/services/tickets/queue.js';
import { ACTIVE_STATUSES } from '../../src/domain/status.js';
import { STATUSES } from '../../src/domain/enums.js';

let db: TestDatabase;
let tech: Actor;
beforeAll(async () => {
  db = await createTestDatabase();
  tech = await buildUser(db);
});
afterAll(() => db?.close());

const search = async (text: string, statuses = ACTIVE_STATUSES) =>
  (await listQueue(as(db, tech), { statuses, assignee: 'anyone', text })).rows.map((r) => r.title);

describe('ticket search', () => {
  it('finds words in title, description and work log, stemmed and without accents, best match first', async () => {
    await buildTicket(db, tech, { title: 'Mail client slow', description: 'The résumé template crashes the editor when printing.' });
    await buildTicket(db, tech, { title: 'Printer crashes on duplex jobs', description: 'Since Monday.' });
    const logged = await buildTicket(db, tech, { title: 'Laptop fan noise', description: 'Loud fan.' });
    await addWorkLog(as(db, tech), logged.reference, { kind: 'NOTE', body: 'Customer mentions the BIOS firmware was flashed.' });
    await buildTicket(db, tech, { title: 'Unrelated', description: 'Nothing to see.', customer: { name: 'Zoë Quist', email: 'zoe@quist-holdings.test' } });

    // "crash" finds "crashes" in a title and in a description; the title match ranks first.
    expect(await search('crash')).toEqual(['Printer crashes on duplex jobs', 'Mail client slow']);
    expect(await search('resume')).toEqual(['Mail client slow']); // accent ignored
    expect(await search('firmware')).toEqual(['Laptop fan noise']); // from the work log
    expect(await search('quist-holdings')).toEqual(['Unrelated']); // the customer's email
    expect(await search('crashes -printer')).toEqual(['Mail client slow']);
    expect(await search('"duplex jobs"', STATUSES)).toEqual(['Printer crashes on duplex jobs']);
    expect(await search('nothing-matches-this')).toEqual([]);
  });
});
