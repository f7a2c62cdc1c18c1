// Run books: versions (a ticket keeps the version it was worked with), technicians' proposals,
// attaching by hand and from a suggestion, steps done in order (attempted fixes, history), bad
// input changing nothing, and automated steps against a real HTTP server started here (signed
// requests the test verifies with the secret, a retry after a 500, the answer on the ticket, a
// private address refused by default).
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { csrfOf, expectRefused, signIn, testApp } from '../helpers/http.js';
import { loadConfig } from '../../src/config/env.js';
import type { Actor } from '../../src/services/context.js';
import { createRunbook, publishVersion, saveVersion, setRunbookStatus, type StepInput } from '../../src/services/runbooks/manage-runbooks.js';
import { getRunbook, suggestRunbooks } from '../../src/services/runbooks/read-runbooks.js';
import { attachRunbook, attachRunbookInTx, completeRunbookStep, runAutomationAgain, ticketRunbooks } from '../../src/services/runbooks/ticket-runbooks.js';
import { deliverAutomation } from '../../src/services/runbooks/automation.js';
import { configureOutgoing, isPrivateAddress, SIGNATURE_HEADER, verifySignature } from '../../src/services/outgoing/signed-request.js';
import { startAutomationWorker } from '../../src/jobs/automation-worker.js';
import type { JobRunner } from '../../src/jobs/queue.js';
import { systemActor } from '../../src/services/context.js';

const SECRET = 'a-signing-secret-of-the-receiver-1234';

/** The receiver's check as the README shows it (an independent implementation of the scheme). */
function readmeVerify(secret: string, rawBody: Buffer | string, header: string, toleranceSeconds = 300) {
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('='))) as Record<string, string | undefined>;
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(expected, given);
}

let db: TestDatabase;
let admin: Actor;
let tech: Actor;
let n = 0;
const unique = () => `${Date.now().toString(36)}${(n++).toString(36)}`;

/** A real HTTP receiver: records each request (headers, raw body); `answers` says what to reply, in turn. */
async function startReceiver() {
  const got: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const state = { answers: [] as { status: number; body: string }[] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const a = state.answers.shift() ?? { status: 200, body: '{"ok":true,"job":"restart-42"}' };
      res.writeHead(a.status, { 'Content-Type': 'application/json' }).end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { got, state, url: `http://127.0.0.1:${port}/hooks/restart`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const step = (title: string, extra: Partial<StepInput> = {}): StepInput => ({ title, instructions: `Do **${title}**.`, checkKind: 'NONE', isFix: false, ...extra });

async function publishedRunbook(title = `Printer queue stuck ${unique()}`, steps: StepInput[] = [step('Look at the queue'), step('Restart the spooler', { isFix: true })], extra: { keywords?: string[]; summary?: string } = {}) {
  return createRunbook(as(db, admin), { title, steps, publish: true, keywords: extra.keywords ?? ['printer', 'spooler'], summary: extra.summary ?? 'When print jobs stay queued.' });
}

let receiver: Awaited<ReturnType<typeof startReceiver>>;
const runners: JobRunner[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
  tech = await buildUser(db, { name: 'Tom Tech' });
  receiver = await startReceiver();
  configureOutgoing({ allowPrivate: true, timeoutMs: 5000 });
});
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
  configureOutgoing({ allowPrivate: true, timeoutMs: 5000 });
});
afterAll(async () => {
  await receiver.close();
  await db.close();
});

async function until<T>(what: string, check: () => Promise<T | undefined | null | false> | T | undefined | null | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('versions and proposals', () => {
  it('publishing a new version leaves an attached ticket on the version it was attached with', async () => {
    const rb = await publishedRunbook();
    const t = await buildTicket(db, tech);
    await attachRunbook(as(db, tech), t.reference, rb.id);
    const v2 = await saveVersion(as(db, admin), rb.id, rb.version, 1, { steps: [step('Check the cable'), step('Look at the queue'), step('Restart the spooler', { isFix: true })], publish: true, note: 'Cable first' });
    expect(v2.version.number).toBe(2);
    const [attached] = await ticketRunbooks(as(db, tech), t.id);
    expect(attached!.version.number).toBe(1);
    expect(attached!.version.steps.map((s) => s.title)).toEqual(['Look at the queue', 'Restart the spooler']);
    // A ticket attached now gets version 2.
    const t2 = await buildTicket(db, tech);
    await attachRunbook(as(db, tech), t2.reference, rb.id);
    expect((await ticketRunbooks(as(db, tech), t2.id))[0]!.version.number).toBe(2);
    // The database itself refuses to change a published version's steps.
    await expect(db.pool.query(`UPDATE "RunbookStep" SET title = 'forged' WHERE "versionId" = $1`, [attached!.versionId])).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`UPDATE "RunbookVersion" SET note = 'forged' WHERE id = $1`, [attached!.versionId])).rejects.toThrow(/record/);
    await expect(db.pool.query(`DELETE FROM "RunbookHistory" WHERE "runbookId" = $1`, [rb.id])).rejects.toThrow(/append-only/);
  });

  it('a technician proposes a version; only an admin publishes it; a proposal from an older version is refused', async () => {
    const rb = await publishedRunbook();
    const proposal = await saveVersion(as(db, tech), rb.id, rb.version, 1, { steps: [step('Look at the queue'), step('Clear old jobs'), step('Restart the spooler', { isFix: true })], note: 'Clear first' });
    expect(proposal.version.status).toBe('DRAFT');
    await expect(saveVersion(as(db, tech), rb.id, rb.version, 1, { steps: [step('x')], publish: true })).rejects.toThrow(/permission/);
    await expect(publishVersion(as(db, tech), rb.id, rb.version, proposal.version.number)).rejects.toThrow(/permission/);
    // Another admin edit is published first: the proposal was written from version 1.
    const other = await saveVersion(as(db, admin), rb.id, rb.version, 1, { steps: [step('Other')], publish: true });
    await expect(publishVersion(as(db, admin), rb.id, other.runbook.version, proposal.version.number)).rejects.toThrow(/written from version 1/);
    const again = await saveVersion(as(db, tech), rb.id, other.runbook.version, 3, { steps: [step('Other'), step('Clear old jobs')] });
    const published = await publishVersion(as(db, admin), rb.id, other.runbook.version, again.version.number);
    expect(published.currentVersionId).toBe(again.version.id);
    const page = await getRunbook(as(db, admin), rb.id);
    expect(page.history.map((h) => h.field)).toContain('published');
    // Technicians see the published versions and their own proposals.
    const seen = await getRunbook(as(db, await buildUser(db, { name: 'Other Tech' })), rb.id);
    expect(seen.versions.every((v) => v.status === 'PUBLISHED')).toBe(true);
  });

  it('a technician cannot set an automation; titles are unique in any case', async () => {
    const title = `VPN drops ${unique()}`;
    await publishedRunbook(title);
    await expect(publishedRunbook(title.toUpperCase())).rejects.toThrow(/exists already/);
    await expect(
      createRunbook(as(db, tech), { title: `Mine ${unique()}`, steps: [step('Call the hook', { automationUrl: receiver.url, secret: SECRET })] }),
    ).rejects.toThrow(/check the steps/);
  });
});

describe('attaching and working a run book', () => {
  it('suggests published run books from the ticket’s text, and attaches one (by hand or from a suggestion) once', async () => {
    const word = `zq${unique()}`;
    const rb = await publishedRunbook(`Mailbox over quota ${word}`, undefined, { keywords: ['mailbox', 'quota'] });
    const archived = await publishedRunbook(`Mailbox archived ${word}`);
    await setRunbookStatus(as(db, admin), archived.id, archived.version, 'ARCHIVED');
    const hits = await suggestRunbooks(db.prisma, `Mailbox full ${word} cannot receive`);
    expect(hits.map((h) => h.id)).toContain(rb.id);
    expect(hits.map((h) => h.id)).not.toContain(archived.id);
    const t = await buildTicket(db, tech, { title: `Mailbox full ${word}` });
    await attachRunbook(as(db, tech), t.reference, rb.id, 'SUGGESTED');
    await attachRunbook(as(db, tech), t.reference, rb.id, 'BY_HAND');
    const attached = await ticketRunbooks(as(db, tech), t.id);
    expect(attached).toHaveLength(1);
    expect(attached[0]!.how).toBe('SUGGESTED');
    const hist = await db.prisma.ticketHistory.findMany({ where: { ticketId: t.id, action: 'RUNBOOK_ATTACHED' } });
    expect(hist).toHaveLength(1);
    expect(hist[0]!.newValue).toContain('(version 1)');
    // An archived one cannot be attached.
    await expect(attachRunbook(as(db, tech), t.reference, archived.id)).rejects.toThrow(/published run book/);
  });

  it('a rule attaches one with the system as the actor (attachRunbookInTx)', async () => {
    const rb = await publishedRunbook();
    const t = await buildTicket(db, tech);
    await db.prisma.$transaction((tx) => attachRunbookInTx(tx, systemActor('auto-assignment'), t, rb.id, 'BY_RULE'));
    const row = await db.prisma.ticketHistory.findFirstOrThrow({ where: { ticketId: t.id, action: 'RUNBOOK_ATTACHED' } });
    expect(row).toMatchObject({ actorId: null, actorSystem: 'auto-assignment', field: 'BY_RULE' });
  });

  it('steps are done in order, once; a fix step writes the attempted fix; each writes a history row', async () => {
    const rb = await publishedRunbook(`Disk full ${unique()}`, [
      step('Check free space', { checkKind: 'VALUE', checkLabel: 'Free space (GB)' }),
      step('Is the log rotation on?', { checkKind: 'YES_NO', checkLabel: 'Log rotation on' }),
      step('Delete old logs', { isFix: true }),
    ]);
    const t = await buildTicket(db, tech);
    const tr = await attachRunbook(as(db, tech), t.reference, rb.id);
    const [view] = await ticketRunbooks(as(db, tech), t.id);
    const [s1, s2, s3] = view!.version.steps;
    await expect(completeRunbookStep(as(db, tech), t.reference, tr.id, s2!.id, { value: 'yes' })).rejects.toThrow(/in order/);
    await expect(completeRunbookStep(as(db, tech), t.reference, tr.id, s1!.id, { value: '  ' })).rejects.toThrow(/Record Free space/);
    await completeRunbookStep(as(db, tech), t.reference, tr.id, s1!.id, { value: '0.4' });
    await expect(completeRunbookStep(as(db, tech), t.reference, tr.id, s1!.id, { value: '9' })).rejects.toThrow(/done already/);
    await expect(completeRunbookStep(as(db, tech), t.reference, tr.id, s2!.id, { value: 'maybe' })).rejects.toThrow(/yes or no/);
    await completeRunbookStep(as(db, tech), t.reference, tr.id, s2!.id, { value: 'no' });
    await expect(completeRunbookStep(as(db, tech), t.reference, tr.id, s3!.id, {})).rejects.toThrow(/how the fix went/);
    const done = await completeRunbookStep(as(db, tech), t.reference, tr.id, s3!.id, { outcome: 'SOLVED', note: 'Freed 30 GB' });
    const entry = await db.prisma.workLogEntry.findUniqueOrThrow({ where: { id: done.workLogEntryId! } });
    expect(entry).toMatchObject({ kind: 'ATTEMPTED_FIX', outcome: 'SOLVED', authorId: tech.id });
    expect(entry.body).toContain('step 3: Delete old logs');
    expect(entry.body).toContain('Freed 30 GB');
    const rows = await db.prisma.ticketHistory.findMany({ where: { ticketId: t.id, action: 'RUNBOOK_STEP_DONE' }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => r.newValue)).toEqual([
      expect.stringContaining('step 1: Check free space (Free space (GB): 0.4)'),
      expect.stringContaining('step 2: Is the log rotation on? (Log rotation on: no)'),
      expect.stringContaining('step 3: Delete old logs'),
    ]);
    expect(rows.every((r) => r.actorId === tech.id)).toBe(true);
    const fixRow = await db.prisma.ticketHistory.findFirst({ where: { ticketId: t.id, action: 'WORKLOG_ADDED', newRefId: entry.id } });
    expect(fixRow?.field).toBe('ATTEMPTED_FIX');
  });
});

describe('automated steps', () => {
  async function automated(url = receiver.url) {
    const rb = await publishedRunbook(`Restart the app pool ${unique()}`, [
      step('Restart it remotely', { automationUrl: url, secret: SECRET, checkKind: 'YES_NO', checkLabel: 'Customer informed' }),
    ]);
    const t = await buildTicket(db, tech, { title: 'Intranet answers 503', customer: { name: 'Carla Customer', email: `carla-${unique()}@customer.test` } });
    const tr = await attachRunbook(as(db, tech), t.reference, rb.id);
    const [view] = await ticketRunbooks(as(db, tech), t.id);
    return { rb, t, tr, stepId: view!.version.steps[0]!.id };
  }

  it('sends a signed request the receiver can verify, retries after a 500, and records the answer on the ticket', async () => {
    const { t, tr, stepId } = await automated();
    receiver.state.answers = [{ status: 500, body: 'busy' }, { status: 200, body: '{"ok":true,"execution":"77"}' }];
    const before = receiver.got.length;
    await completeRunbookStep(as(db, tech), t.reference, tr.id, stepId, { value: 'yes' });
    const delivery = await db.prisma.automationDelivery.findFirstOrThrow({ where: { ticketId: t.id } });
    expect(delivery.state).toBe('QUEUED');
    const config = loadConfig({ NODE_ENV: 'test', AUTOMATION_ALLOW_PRIVATE: '1', MAIL_POLL_MS: '100', AUTOMATION_TIMEOUT_MS: '5000' });
    runners.push((await startAutomationWorker(db, config))!);
    const done = await until('the answer', async () => {
      const d = await db.prisma.automationDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
      return d.state !== 'QUEUED' ? d : null;
    });
    expect(done).toMatchObject({ state: 'SUCCEEDED', attempts: 2, responseStatus: 200, responseExcerpt: '{"ok":true,"execution":"77"}' });
    const requests = receiver.got.slice(before);
    expect(requests).toHaveLength(2);
    for (const r of requests) {
      const header = String(r.headers[SIGNATURE_HEADER.toLowerCase()]);
      expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(verifySignature(SECRET, r.body, header)).toBe(true);
      expect(verifySignature('another-secret-entirely-123456', r.body, header)).toBe(false);
      expect(verifySignature(SECRET, r.body.replace('Intranet', 'Extranet'), header)).toBe(false);
      expect(r.headers['caseboard-delivery']).toBe(String(delivery.id));
      expect(readmeVerify(SECRET, Buffer.from(r.body), header)).toBe(true);
      expect(readmeVerify(SECRET, Buffer.from(`${r.body} `), header)).toBe(false);
    }
    const body = JSON.parse(requests[0]!.body);
    expect(body).toMatchObject({
      deliveryId: delivery.id,
      event: 'runbook.step',
      ticket: { reference: t.reference, title: 'Intranet answers 503', urgency: 'NORMAL', customer: { name: 'Carla Customer' } },
      step: { position: 1, title: 'Restart it remotely', value: 'yes' },
      requestedBy: { name: 'Tom Tech' },
    });
    // The secret is nowhere in what was sent, nor in any history.
    expect(requests[0]!.body).not.toContain(SECRET);
    const answered = await db.prisma.ticketHistory.findFirstOrThrow({ where: { ticketId: t.id, action: 'AUTOMATION_ANSWERED' } });
    expect(answered).toMatchObject({ actorId: null, actorSystem: 'automation', field: 'succeeded', newRefId: delivery.id });
    expect(answered.newValue).toBe('Automation “Restart it remotely” answered 200: {"ok":true,"execution":"77"}');
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM "RunbookHistory" WHERE "newValue" LIKE $1 OR "oldValue" LIKE $1`, [`%${SECRET}%`]);
    expect(rows[0].n).toBe(0);
  });

  it('a 4xx is final (no retry); 429 is retried; the answer is cut at 4 KB; a failed one can be run again', async () => {
    const { t, tr, stepId } = await automated();
    receiver.state.answers = [{ status: 404, body: 'x'.repeat(10_000) }];
    await completeRunbookStep(as(db, tech), t.reference, tr.id, stepId, { value: 'no' });
    const d1 = await db.prisma.automationDelivery.findFirstOrThrow({ where: { ticketId: t.id } });
    expect(await deliverAutomation(db, d1.id)).toBe('failed');
    const r1 = await db.prisma.automationDelivery.findUniqueOrThrow({ where: { id: d1.id } });
    expect(r1).toMatchObject({ state: 'FAILED', responseStatus: 404, attempts: 1 });
    expect(r1.responseExcerpt).toHaveLength(4096);
    // Run again: a new delivery; a 429 first is worth another try.
    await runAutomationAgain(as(db, tech), t.reference, tr.id, stepId);
    await expect(runAutomationAgain(as(db, tech), t.reference, tr.id, stepId)).rejects.toThrow(/still on its way/);
    const d2 = await db.prisma.automationDelivery.findFirstOrThrow({ where: { ticketId: t.id, state: 'QUEUED' } });
    receiver.state.answers = [{ status: 429, body: 'slow down' }];
    await expect(deliverAutomation(db, d2.id)).rejects.toThrow(/retrying/);
    expect(await deliverAutomation(db, d2.id)).toBe('succeeded');
    expect(await deliverAutomation(db, d2.id)).toBe('skipped'); // never sent twice once finished
  });

  it('refuses private and loopback addresses unless allowed, checked when sending', async () => {
    configureOutgoing({ allowPrivate: false, timeoutMs: 5000 });
    // Saving such an address is refused outright…
    await expect(publishedRunbook(`Hook ${unique()}`, [step('Hook', { automationUrl: 'https://127.0.0.1/hook', secret: SECRET })])).rejects.toThrow(/check the steps/);
    await expect(publishedRunbook(`Hook ${unique()}`, [step('Hook', { automationUrl: 'http://hooks.example.com/x', secret: SECRET })])).rejects.toThrow(/check the steps/);
    // …and one saved while allowed (or whose name resolves to one) is refused when sent, without retrying.
    configureOutgoing({ allowPrivate: true, timeoutMs: 5000 });
    const { t, tr, stepId } = await automated(receiver.url.replace('127.0.0.1', 'localhost'));
    await completeRunbookStep(as(db, tech), t.reference, tr.id, stepId, { value: 'yes' });
    const d = await db.prisma.automationDelivery.findFirstOrThrow({ where: { ticketId: t.id } });
    const before = receiver.got.length;
    expect(await deliverAutomation(db, d.id, false, { allowPrivate: false, timeoutMs: 5000 })).toBe('failed');
    expect(receiver.got.length).toBe(before);
    const row = await db.prisma.automationDelivery.findUniqueOrThrow({ where: { id: d.id } });
    expect(row.lastError).toMatch(/https:\/\/|private/);
    // A public-looking name that resolves (also) to a private address: refused before connecting.
    const rebinding = { allowPrivate: false, timeoutMs: 5000, resolve: async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.5', family: 4 }] };
    const d2 = await db.prisma.automationDelivery.create({ data: { ticketId: t.id, stepId, ticketStepId: d.ticketStepId, url: 'https://hooks.example.test/run', payload: {} } });
    expect(await deliverAutomation(db, d2.id, false, rebinding)).toBe('failed');
    expect((await db.prisma.automationDelivery.findUniqueOrThrow({ where: { id: d2.id } })).lastError).toMatch(/resolves to 10\.0\.0\.5, a private or reserved address/);
    expect(receiver.got.length).toBe(before);
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '100.64.0.1', '0.0.0.0']) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '2606:4700::1111', '8.8.8.8']) expect(isPrivateAddress(a), a).toBe(false);
  });

  it('a timeout is retried, then marked failed on the last attempt', async () => {
    const slow = http.createServer(() => { /* never answers */ });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    try {
      const { t, tr, stepId } = await automated(`http://127.0.0.1:${(slow.address() as AddressInfo).port}/slow`);
      await completeRunbookStep(as(db, tech), t.reference, tr.id, stepId, { value: 'yes' });
      const d = await db.prisma.automationDelivery.findFirstOrThrow({ where: { ticketId: t.id } });
      await expect(deliverAutomation(db, d.id, false, { allowPrivate: true, timeoutMs: 300 })).rejects.toThrow(/retrying/);
      expect(await deliverAutomation(db, d.id, true, { allowPrivate: true, timeoutMs: 300 })).toBe('failed');
      const row = await db.prisma.automationDelivery.findUniqueOrThrow({ where: { id: d.id } });
      expect(row).toMatchObject({ state: 'FAILED', attempts: 2 });
      expect(row.lastError).toMatch(/no answer within 300 ms/);
      const h = await db.prisma.ticketHistory.findFirstOrThrow({ where: { ticketId: t.id, action: 'AUTOMATION_ANSWERED' } });
      expect(h.newValue).toMatch(/failed: no answer/);
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((r) => slow.close(() => r()));
    }
  });
});

describe('pages and forms', () => {
  const form = (csrf: string, fields: Record<string, string>) => ({ _csrf: csrf, slots: '3', ...fields });

  it('an admin writes and publishes a run book through the form; the secret is never shown again', async () => {
    const app = testApp(db, { AUTOMATION_ALLOW_PRIVATE: '1' });
    const { agent, csrf } = await signIn(app, admin.email);
    await agent.get('/runbooks/new').expect(200);
    const title = `Badge reader offline ${unique()}`;
    const res = await agent.post('/runbooks').type('form').send(form(csrf, {
      title, summary: 'The door does not open', keywords: 'badge, door', publish: '1',
      s0_title: 'Power-cycle the reader', s0_instructions: '1. Unplug\n2. Wait *10 s*', s0_checkKind: 'YES_NO', s0_checkLabel: 'LED green',
      s1_title: 'Reset via the controller', s1_isFix: '1', s1_automationUrl: receiver.url, s1_secret: SECRET, s1_order: '2',
      s2_title: '',
    })).expect(303);
    const id = Number(/\/runbooks\/(\d+)/.exec(res.headers.location!)![1]);
    const page = await agent.get(`/runbooks/${id}`).expect(200);
    expect(page.text).toContain('Version 1, published');
    expect(page.text).toContain('<em>10 s</em>'); // Markdown rendered
    expect(page.text).not.toContain(SECRET);
    const edit = await agent.get(`/runbooks/${id}/edit`).expect(200);
    expect(edit.text).not.toContain(SECRET);
    expect(edit.text).toContain('Leave empty to keep the current secret');
    // A new version keeps the secret without its being entered again.
    const v1 = await db.prisma.runbook.findUniqueOrThrow({ where: { id } });
    const steps = await db.prisma.runbookStep.findMany({ where: { version: { runbookId: id } }, orderBy: { position: 'asc' } });
    await agent.post(`/runbooks/${id}/versions`).type('form').send(form(csrf, {
      version: String(v1.version), base: '1', title, keywords: 'badge, door', publish: '1',
      s0_title: 'Power-cycle the reader', s0_checkKind: 'YES_NO', s0_checkLabel: 'LED green', s0_from: String(steps[0]!.id),
      s1_title: 'Reset via the controller', s1_isFix: '1', s1_automationUrl: receiver.url, s1_from: String(steps[1]!.id),
    })).expect(303);
    const v2 = await db.prisma.runbookStep.findFirstOrThrow({ where: { version: { runbookId: id, number: 2 }, position: 2 } });
    expect(v2.automationSecretId).toBe(steps[1]!.automationSecretId);
    const history = await agent.get(`/runbooks/${id}`).expect(200);
    expect(history.text).toContain('a new automation secret for step 2');
  });

  it('bad input gets a clear 422 and writes nothing', async () => {
    const app = testApp(db, { AUTOMATION_ALLOW_PRIVATE: '1' });
    const { agent, csrf } = await signIn(app, admin.email);
    const tech1 = await signIn(app, tech.email);
    const taken = await publishedRunbook();
    const cases: [typeof agent, Record<string, string>, string][] = [
      [agent, form(csrf, { title: `Ok ${unique()}`, s0_title: 'Check', s0_checkKind: 'VALUE' }), 'Say what to record'],
      [agent, form(csrf, { title: `Ok ${unique()}` }), 'at least one step'],
      [agent, form(csrf, { title: taken.title.toUpperCase(), s0_title: 'Check' }), 'exists already'],
      [agent, form(csrf, { title: `Ok ${unique()}`, s0_title: 'Hook', s0_automationUrl: 'ftp://x.example/' }), 'must start with https://'],
      [agent, form(csrf, { title: `Ok ${unique()}`, s0_title: 'Hook', s0_automationUrl: receiver.url, s0_secret: 'short' }), '16 to 200 characters'],
      [agent, form(csrf, { title: `Ok ${unique()}`, s0_title: 'Hook', s0_automationUrl: receiver.url }), 'Enter the secret'],
      [agent, form(csrf, { title: `Ok ${unique()}`, s0_title: 'Read', s0_articleId: '999999' }), 'Choose a published article'],
      [agent, form(csrf, { title: `Ok ${unique()}`, s0_title: 'x'.repeat(201) }), 'at most 200 characters'],
      [agent, form(csrf, { title: `Ok ${unique()}`, s0_title: 'Check', s0_checkKind: 'MAYBE' }), 'Choose a valid kind of check'],
      [agent, form(csrf, { title: `Ok ${unique()}`, s0_title: 'Check', slots: 'many' }), 'reload the page'],
      [tech1.agent, form(tech1.csrf, { title: `Mine ${unique()}`, s0_title: 'Hook', s0_automationUrl: receiver.url, s0_secret: SECRET }), 'Only an admin can set'],
    ];
    for (const [who, body, text] of cases) {
      const res = await expectRefused(db, () => who.post('/runbooks').type('form').send(body), 422, text);
      expect(res.text).not.toContain(SECRET);
    }
    // "More step slots" re-renders the form with what was typed, writing nothing.
    const more = await expectRefused(db, () => agent.post('/runbooks').type('form').send({ ...form(csrf, { title: 'Kept', s0_title: 'Typed' }), _more: '1' }), 200, 'value="Typed"');
    expect(more.text).toContain('name="s5_title"');
  });

  it('a technician works a ticket through a run book: suggested, attached, steps done (a refused step writes nothing)', async () => {
    const app = testApp(db);
    const { agent, csrf } = await signIn(app, tech.email);
    const word = `wq${unique()}`;
    const rb = await publishedRunbook(`Outlook keeps asking for the password ${word}`, [
      step('Check the account is not locked', { checkKind: 'YES_NO', checkLabel: 'Account locked' }),
      step('Clear the saved credentials', { isFix: true, checkKind: 'VALUE', checkLabel: 'Entries removed' }),
    ], { keywords: ['outlook', 'password'] });
    const t = await buildTicket(db, tech, { title: `Outlook asks for the password ${word} all the time` });
    let page = await agent.get(`/tickets/${t.reference}`).expect(200);
    expect(page.text).toContain('Suggested from this ticket’s text');
    expect(page.text).toContain(rb.title);
    await agent.post(`/tickets/${t.reference}/runbooks`).type('form').send({ _csrf: csrf, runbookId: String(rb.id), how: 'SUGGESTED' })
      .expect(303).expect('Location', `/tickets/${t.reference}?done=runbook-attached#runbooks`);
    page = await agent.get(`/tickets/${t.reference}?done=runbook-attached`).expect(200);
    expect(page.text).toContain('Run book attached.');
    expect(page.text).toContain('0 of 2 steps done');
    expect(page.text).toContain('Mark step 1 done');
    const tr = await db.prisma.ticketRunbook.findFirstOrThrow({ where: { ticketId: t.id } });
    const steps = await db.prisma.runbookStep.findMany({ where: { versionId: tr.versionId }, orderBy: { position: 'asc' } });
    const path = (s: number) => `/tickets/${t.reference}/runbooks/${tr.id}/steps/${steps[s]!.id}`;
    // Refused: out of order, no answer, an unknown outcome, a step of nothing; nothing written.
    await expectRefused(db, () => agent.post(path(1)).type('form').send({ _csrf: csrf, value: '3', outcome: 'SOLVED' }), 422, 'Do the steps in order');
    const refused = await expectRefused(db, () => agent.post(path(0)).type('form').send({ _csrf: csrf, note: 'kept note' }), 422, 'Answer yes or no');
    expect(refused.text).toContain('kept note');
    await expectRefused(db, () => agent.post(path(0)).type('form').send({ _csrf: csrf, value: 'no', outcome: 'BOGUS' }), 422, 'Choose a valid outcome');
    await expectRefused(db, () => agent.post(`/tickets/${t.reference}/runbooks/${tr.id}/steps/99999999`).type('form').send({ _csrf: csrf, value: 'no' }), 404);
    await expectRefused(db, () => agent.post(`/tickets/${t.reference}/runbooks`).type('form').send({ _csrf: csrf, runbookId: 'abc' }), 422);
    // No run book chosen at all (found by the form fuzzer: it was a 500).
    await expectRefused(db, () => agent.post(`/tickets/${t.reference}/runbooks`).type('form').send({ _csrf: csrf, how: 'BY_HAND' }), 422, 'Choose a run book');
    await agent.post(path(0)).type('form').send({ _csrf: csrf, value: 'no' }).expect(303);
    await expectRefused(db, () => agent.post(path(1)).type('form').send({ _csrf: csrf, value: '3' }), 422, 'Say how the fix went');
    await agent.post(path(1)).type('form').send({ _csrf: csrf, value: '3', outcome: 'SOLVED', note: 'Outlook restarted fine' }).expect(303);
    page = await agent.get(`/tickets/${t.reference}`).expect(200);
    expect(page.text).toContain('2 of 2 steps done');
    expect(page.text).toContain('Account locked: <strong>no</strong>');
    expect(page.text).toContain('did the run book step');
    expect(page.text).toMatch(/Tom Tech<\/strong>\s*tried a fix/);
    // A new version published meanwhile does not change what this ticket was worked with.
    const cur = await db.prisma.runbook.findUniqueOrThrow({ where: { id: rb.id } });
    await saveVersion(as(db, admin), rb.id, cur.version, 1, { steps: [step('A different first step')], publish: true });
    page = await agent.get(`/tickets/${t.reference}`).expect(200);
    expect(page.text).toContain('this ticket keeps version 1 (version 2 is published now)');
    expect(page.text).not.toContain('A different first step');
  });

  it('a technician proposes a version through the form; an admin publishes it from the run book page', async () => {
    const app = testApp(db);
    const techSession = await signIn(app, tech.email);
    const adminSession = await signIn(app, admin.email);
    const rb = await publishedRunbook();
    const edit = await techSession.agent.get(`/runbooks/${rb.id}/edit`).expect(200);
    expect(edit.text).not.toContain('name="title"'); // the details are the admins'
    await techSession.agent.post(`/runbooks/${rb.id}/versions`).type('form').send({
      _csrf: techSession.csrf, slots: '2', version: String(rb.version), base: '1', note: 'Look first',
      s0_title: 'Look at the queue again', s1_title: 'Restart the spooler', s1_isFix: '1',
    }).expect(303).expect('Location', `/runbooks/${rb.id}?done=runbook-proposed`);
    // Technicians cannot publish.
    await expectRefused(db, () => techSession.agent.post(`/runbooks/${rb.id}/versions/2/publish`).type('form').send({ _csrf: techSession.csrf, version: String(rb.version) }), 403);
    const page = await adminSession.agent.get(`/runbooks/${rb.id}`).expect(200);
    expect(page.text).toContain('Publish version 2');
    await adminSession.agent.post(`/runbooks/${rb.id}/versions/2/publish`).type('form').send({ _csrf: adminSession.csrf, version: String(rb.version) }).expect(303);
    // A stale publish form is refused (409), nothing written.
    await expectRefused(db, () => adminSession.agent.post(`/runbooks/${rb.id}/status`).type('form').send({ _csrf: adminSession.csrf, version: String(rb.version), status: 'ARCHIVED' }), 409);
    const now = await db.prisma.runbook.findUniqueOrThrow({ where: { id: rb.id }, include: { currentVersion: true } });
    expect(now.currentVersion!.number).toBe(2);
    await adminSession.agent.post(`/runbooks/${rb.id}/status`).type('form').send({ _csrf: adminSession.csrf, version: String(now.version), status: 'ARCHIVED' }).expect(303);
    const list = await techSession.agent.get('/runbooks?status=ARCHIVED').expect(200);
    expect(list.text).toContain(rb.title);
  });
});
