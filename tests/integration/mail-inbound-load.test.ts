// Email in under load: a large message is parsed off the main thread (the web app keeps
// answering), and messages that make the quote trimmer slow do not hold up the others.
// The mail is sent by another process (as an MTA would), so that only the listener's own work
// runs on this event loop.
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testApp } from '../helpers/http.js';
import type { InboundSmtp } from '../../src/mail/inbound-smtp.js';
import { startTestInbound } from '../helpers/inbound.js';

const SUPPORT = 'support@caseboard.test';
let db: TestDatabase;
let smtp: InboundSmtp;
let http: Server;
let httpPort: number;

beforeAll(async () => {
  db = await createTestDatabase();
  smtp = await startTestInbound(db, { INBOUND_MAX_BYTES: 10 * 1024 * 1024 });
  http = testApp(db).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => http.once('listening', () => resolve()));
  httpPort = (http.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  await smtp?.stop();
  await db?.close();
});

const unique = () => `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

/**
 * Sends raw messages to the listener from a child process (nodemailer, one connection each, all
 * at once); resolves with each one's outcome and the time from the start to its SMTP answer.
 */
function sendFromAnotherProcess(messages: { from: string; raw: string }[]): Promise<{ ok: boolean; ms: number; response: string }[]> {
  const script = `
    const nodemailer = require('nodemailer');
    const input = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    const started = Date.now();
    Promise.all(input.messages.map(async (m, i) => {
      await new Promise((r) => setTimeout(r, i === input.messages.length - 1 ? input.lastDelay : 0));
      const t = nodemailer.createTransport({ host: '127.0.0.1', port: input.port, secure: false, ignoreTLS: true, socketTimeout: 120000 });
      try {
        const info = await t.sendMail({ envelope: { from: m.from, to: [input.to] }, raw: m.raw });
        return { ok: true, ms: Date.now() - started, response: info.response };
      } catch (err) {
        return { ok: false, ms: Date.now() - started, response: String(err.response || err.message) };
      } finally { t.close(); }
    })).then((r) => { process.stdout.write(JSON.stringify(r)); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: process.cwd(), stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`sender exited with ${code}`))));
    child.stdin.end(JSON.stringify({ port: smtp.port, to: SUPPORT, messages, lastDelay: 300 }));
  });
}

const rawMail = (from: string, subject: string, body: string, contentType = 'text/plain; charset=utf-8') =>
  [`From: ${from}`, `To: ${SUPPORT}`, `Subject: ${subject}`, `Message-ID: <${unique()}@customer.test>`, 'MIME-Version: 1.0', `Content-Type: ${contentType}`, '', body].join('\r\n');

/** GETs /health one after another while `during` runs; the slowest answer in ms. */
async function slowestHealthDuring(during: Promise<unknown>): Promise<{ slowest: number; count: number }> {
  let done = false;
  void during.finally(() => (done = true));
  let slowest = 0;
  let count = 0;
  while (!done) {
    const t = performance.now();
    const res = await fetch(`http://127.0.0.1:${httpPort}/health`);
    await res.text();
    expect(res.status).toBe(200);
    slowest = Math.max(slowest, performance.now() - t);
    count++;
    await new Promise((r) => setTimeout(r, 10));
  }
  return { slowest, count };
}

describe('the inbound listener under load', () => {
  it('keeps /health answering within 400 ms while a 9 MB message is parsed', async () => {
    const from = `big-${unique()}@customer.test`;
    // ~9.4 MB of ISO-8859-1 text: mailparser decodes and converts all of it (the text kept is cut
    // to 20,000 characters); on the main thread this held every request for ~0.5 s.
    const raw = rawMail(from, 'A very long log', 'hello w\xf6rld, this is a line of a long log\r\n'.repeat(215_000), 'text/plain; charset=iso-8859-1');
    expect(raw.length).toBeGreaterThan(9_000_000);
    const sending = sendFromAnotherProcess([{ from, raw }]);
    const { slowest, count } = await slowestHealthDuring(sending);
    const [result] = await sending;
    expect(result).toMatchObject({ ok: true });
    const [mail] = await db.prisma.inboundMail.findMany({ where: { fromAddress: from } });
    expect(mail).toMatchObject({ state: 'NEW_TICKET' });
    expect(mail!.body.length).toBeLessThanOrEqual(20_000);
    console.log(`[load] 9 MB message: answered in ${result!.ms} ms; /health ${count} requests, slowest ${slowest.toFixed(0)} ms`);
    // Decoding on the main thread held it 495–942 ms here; in the worker the slowest is 60–190 ms
    // (what is left: receiving the 9 MB through smtp-server), on a machine shared with other work.
    // The embedded PGlite runs PostgreSQL (WASM) on this very thread, so there /health also waits
    // for the database to write the 9 MB message and its ticket (355–367 ms alone, ~500 ms under
    // CI's load): the server run is the one that tells a worker's decoding from the main thread's.
    expect(slowest).toBeLessThan(inject('testDb').mode === 'embedded' ? 1500 : 400);
  }, 120_000);

  it('takes a normal message promptly behind ten whose quote trimming is slow', async () => {
    const slow = Array.from({ length: 10 }, (_, i) => {
      const from = `slow${i}-${unique()}@customer.test`;
      return { from, raw: rawMail(from, `Slow ${i}`, 'Op x schreef y\r\n'.repeat(3000)) };
    });
    const normalFrom = `normal-${unique()}@customer.test`;
    const normal = { from: normalFrom, raw: rawMail(normalFrom, 'Printer jams', 'The printer jams on every second page.\r\n') };
    const results = await sendFromAnotherProcess([...slow, normal]);
    for (const r of results) expect(r).toMatchObject({ ok: true });
    const normalResult = results.at(-1)!;
    console.log(`[load] slow messages answered after ${results.slice(0, 10).map((r) => r.ms).join(', ')} ms; the normal one after ${normalResult.ms} ms`);
    const [mail] = await db.prisma.inboundMail.findMany({ where: { fromAddress: normalFrom } });
    expect(mail).toMatchObject({ state: 'NEW_TICKET', body: 'The printer jams on every second page.' });
    // Sent 300 ms after the others: answered within a few seconds (here ~2.5 s), not after their
    // 10 × 2 s of trimming one after the other (20 s before).
    expect(normalResult.ms).toBeLessThan(5_000);
    // The slow ones are still taken (their text cut by the simple, linear trim).
    const slowMails = await db.prisma.inboundMail.findMany({ where: { fromAddress: { in: slow.map((s) => s.from) } } });
    expect(slowMails.map((m) => m.state)).toEqual(Array(10).fill('NEW_TICKET'));
  }, 120_000);
});
