// Search at scale (issue 14): a text search with more matches than SEARCH_COUNT_LIMIT stops
// counting there — the page says "1,000+ in all", the API's totalCapped says so — while a narrower
// filter of the same words (the open tickets) still counts exactly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { signIn, testApp } from '../helpers/http.js';
import { api, personalToken } from '../helpers/api.js';
import type { Actor } from '../../src/services/context.js';
import { SEARCH_COUNT_LIMIT, listQueue } from '../../src/services/tickets/queue.js';
import { ACTIVE_STATUSES } from '../../src/domain/status.js';
import { STATUSES } from '../../src/domain/enums.js';

let db: TestDatabase;
let app: Express;
let tech: Actor;
const OPEN = 40;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  tech = await buildUser(db, { name: 'Casey Scale' });
  const first = await buildTicket(db, tech, { title: 'Stapler jams on every page', description: 'The stapler jams.', urgency: 'HIGH' });
  // SEARCH_COUNT_LIMIT + 50 more with the word, written in one statement: all resolved but OPEN of them.
  await db.pool.query(
    `INSERT INTO "Ticket" (reference, title, description, channel, urgency, status, "customerId", "createdById", "teamId", version)
     SELECT 'CB-S' || lpad(g::text, 6, '0'), 'Stapler jams again ' || g, 'Stapler number ' || g, channel, 'NORMAL',
            CASE WHEN g <= $2 THEN 'OPEN' ELSE 'RESOLVED' END::"TicketStatus", "customerId", "createdById", "teamId", 1
     FROM "Ticket", generate_series(1, $1::int) g WHERE id = $3`,
    [SEARCH_COUNT_LIMIT + 50, OPEN - 1, first.id],
  );
}, 120_000);
afterAll(() => db?.close());

describe('search counts at scale', () => {
  it('stops counting a search past the limit, and says so', async () => {
    const page = await listQueue(as(db, tech), { statuses: STATUSES, assignee: 'anyone', text: 'stapler' });
    expect(page.countsCapped).toBe(true);
    expect(page.total).toBe(SEARCH_COUNT_LIMIT + 1);
    expect(page.rows).toHaveLength(50);
    // The open ones alone are few: counted exactly.
    const open = await listQueue(as(db, tech), { statuses: ACTIVE_STATUSES, assignee: 'anyone', text: 'stapler' });
    expect(open.countsCapped).toBe(false);
    expect(open.total).toBe(OPEN);
    expect(open.counts).toMatchObject({ HIGH: 1, NORMAL: OPEN - 1 });
    expect(open.hiddenDone).toBe(1001); // "1,000+" resolved or closed
  });

  it('shows "1,000+ in all" on the page and totalCapped in the API', async () => {
    const { agent } = await signIn(app, tech.email);
    const all = await agent.get('/tickets').query({ q: 'stapler', status: 'all' }).expect(200);
    expect(all.text).toContain(`<li class="total">${SEARCH_COUNT_LIMIT.toLocaleString('en')}+ in all</li>`);
    const open = await agent.get('/tickets').query({ q: 'stapler' }).expect(200);
    expect(open.text).toContain(`<li class="total">${OPEN} in all</li>`);
    expect(open.text).toContain('1,000+ resolved or closed tickets also match');

    const token = await personalToken(db, tech);
    const listed = await api(app, token).get('/tickets').query({ q: 'stapler', status: 'all' }).expect(200);
    expect(listed.body).toMatchObject({ total: SEARCH_COUNT_LIMIT + 1, totalCapped: true });
    const openListed = await api(app, token).get('/tickets').query({ q: 'stapler' }).expect(200);
    expect(openListed.body).toMatchObject({ total: OPEN, totalCapped: false });
  });
});
