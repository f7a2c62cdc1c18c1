// The queue's text filter through HTTP: the per-urgency counts match the rows a search shows
// (a reference, typed loosely too, title words, the customer), and a search that leaves out
// resolved or closed matches says how many and links to them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { buildTicket, buildUser } from '../helpers/factories.js';
import { signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';

let db: TestDatabase;
let app: Express;
let tech: Actor;
const refs: Record<string, string> = {};

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  tech = await buildUser(db, { name: 'Quinn Tech' });
  const olga = { name: 'Olga Pemberton', email: 'olga@pemberton-freight.test' };
  const make = async (key: string, title: string, urgency: 'CRITICAL' | 'HIGH' | 'NORMAL' | 'LOW', customer = olga) =>
    (refs[key] = (await buildTicket(db, tech, { title, urgency, customer })).reference);
  await make('attachments', 'Mailbox rejects attachments', 'HIGH');
  await make('crash', 'Mailbox crashes on start', 'CRITICAL', { name: 'Ben Other', email: 'ben@other.test' });
  await make('printer', 'Printer jams on tray 2', 'LOW');
  await make('quota', 'Mailbox quota full', 'NORMAL');
  await make('archive', 'Mailbox archive missing', 'NORMAL', { name: 'Ben Other', email: 'ben@other.test' });
  await make('signature', 'Mailbox signature lost', 'LOW');
  // Set before any page is shown (the queue keeps its counts for a few seconds).
  await db.prisma.ticket.update({ where: { reference: refs.quota! }, data: { status: 'RESOLVED' } });
  await db.prisma.ticket.update({ where: { reference: refs.archive! }, data: { status: 'CLOSED' } });
  await db.prisma.ticket.update({ where: { reference: refs.signature! }, data: { status: 'CLOSED' } });
});
afterAll(() => db?.close());

/** What the queue page shows: the references listed, the counts per urgency and in all, the hidden-matches note. */
async function queue(agent: Awaited<ReturnType<typeof signIn>>['agent'], query: Record<string, string>) {
  const res = await agent.get('/tickets').query(query).expect(200);
  const html = res.text;
  const counts = Object.fromEntries(
    [...html.matchAll(/class="badge urgency-(\w+)"[^>]*>[^<]*<strong>(\d+)<\/strong>/g)].map((m) => [m[1]!, Number(m[2])]),
  );
  const total = Number(/<li class="total">([\d,]+) in all<\/li>/.exec(html)?.[1]?.replace(/,/g, '') ?? NaN);
  const rows = [...html.matchAll(/<a class="ref" href="\/tickets\/(CB-[0-9A-Z]{7})"/g)].map((m) => m[1]!);
  const hidden = /<p class="hidden-matches"[^>]*>([\s\S]*?)<\/p>/.exec(html)?.[1]?.replace(/\s+/g, ' ').trim() ?? null;
  return { counts, total, rows, hidden, html };
}

describe('queue search counts', () => {
  it('counts what a reference search shows, typed exactly or loosely, whatever the ticket status', async () => {
    const { agent } = await signIn(app, tech.email);
    const ref = refs.attachments!;
    const loose = ref.toLowerCase().replace('cb-', 'cb ').replace(/0/g, 'o');
    for (const q of [ref, loose]) {
      const page = await queue(agent, { q });
      expect(page.rows, q).toEqual([ref]);
      expect(page.counts, q).toEqual({ critical: 0, high: 1, normal: 0, low: 0, none: 0 });
      expect(page.total, q).toBe(1);
      expect(page.hidden, q).toBeNull();
    }
    // A closed ticket's reference finds it under the default filter; it is counted, nothing is hidden.
    const closed = await queue(agent, { q: refs.archive! });
    expect(closed.rows).toEqual([refs.archive]);
    expect(closed.counts).toEqual({ critical: 0, high: 0, normal: 1, low: 0, none: 0 });
    expect(closed.total).toBe(1);
    expect(closed.hidden).toBeNull();
  });

  it('counts what a title or customer search shows', async () => {
    const { agent } = await signIn(app, tech.email);
    const words = await queue(agent, { q: 'mailbox' });
    expect(words.rows.sort()).toEqual([refs.attachments, refs.crash].sort());
    expect(words.counts).toEqual({ critical: 1, high: 1, normal: 0, low: 0, none: 0 });
    expect(words.total).toBe(2);

    const customer = await queue(agent, { q: 'pemberton-freight' });
    expect(customer.rows.sort()).toEqual([refs.attachments, refs.printer].sort());
    expect(customer.counts).toEqual({ critical: 0, high: 1, normal: 0, low: 1, none: 0 });
    expect(customer.total).toBe(2);
  });

  it('says how many resolved or closed tickets a search left out, with a link that shows them', async () => {
    const { agent } = await signIn(app, tech.email);
    const words = await queue(agent, { q: 'mailbox' });
    expect(words.hidden).toBe('3 resolved or closed tickets also match &mdash; <a href="/tickets?q=mailbox&amp;status=all">show them</a>');
    const all = await queue(agent, { q: 'mailbox', status: 'all' });
    expect(all.rows.sort()).toEqual([refs.attachments, refs.crash, refs.quota, refs.archive, refs.signature].sort());
    expect(all.hidden).toBeNull();

    const customer = await queue(agent, { q: 'pemberton-freight', urgency: 'LOW' });
    expect(customer.rows).toEqual([refs.printer]);
    expect(customer.hidden).toBe(
      '1 resolved or closed ticket also matches &mdash; <a href="/tickets?urgency=LOW&amp;q=pemberton-freight&amp;status=all">show it</a>',
    );

    // Nothing left out: no note. No search: no note (and no extra query).
    expect((await queue(agent, { q: 'printer' })).hidden).toBeNull();
    expect((await queue(agent, {})).hidden).toBeNull();
    // Only the statuses asked for are searched: a status of its own leaves nothing "hidden" to offer.
    expect((await queue(agent, { q: 'mailbox', status: 'RESOLVED' })).hidden).toBeNull();
  });
});
