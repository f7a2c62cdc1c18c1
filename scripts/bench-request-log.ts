// npx tsx scripts/bench-request-log.ts: the cost of the per-request middleware (pino-http line +
// histogram observation) in-process, on fake requests, lines written to /dev/null. A few seconds.
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import pino from 'pino';
import { requestLogging } from '../src/web/middleware/request-log.js';
import { createLogger } from '../src/log.js';

const dest = pino.destination({ dest: '/dev/null', sync: true });
const variants: Record<string, any> = {
  full: requestLogging(createLogger({ level: 'info', destination: dest })),
  silent: requestLogging(createLogger({ level: 'silent', destination: dest })),
};
const plain = createLogger({ level: 'info', destination: dest });
function once(mw: any) {
  const req = new IncomingMessage(new Socket()) as any;
  req.method = 'GET'; req.url = '/tickets/CB-1234567?x=1'; req.originalUrl = req.url; req.headers = {};
  req.route = { path: '/:reference' }; req.baseUrl = '/tickets'; req.user = { id: 3 };
  const res = new ServerResponse(req) as any;
  mw(req, res, () => {});
  res.statusCode = 200; res._header = 'x'; // headersSent
  res.emit('finish');
}
for (const [name, mw] of Object.entries(variants)) {
  for (let i = 0; i < 5000; i++) once(mw);
  const t = process.hrtime.bigint();
  const N = 50000;
  for (let i = 0; i < N; i++) once(mw);
  console.log(name, (Number(process.hrtime.bigint() - t) / N / 1000).toFixed(1), 'µs/request');
}
const base = (req: any, res: any, next: any) => next();
for (let i = 0; i < 5000; i++) once(base);
let t = process.hrtime.bigint();
for (let i = 0; i < 50000; i++) once(base);
console.log('no middleware (fake req/res cost)', (Number(process.hrtime.bigint() - t) / 50000 / 1000).toFixed(1), 'µs');
t = process.hrtime.bigint();
for (let i = 0; i < 50000; i++) plain.info({ req: { id: 'x', method: 'GET', path: '/a' }, route: '/a', res: { statusCode: 200 }, durationMs: 3 }, 'GET /a 200');
console.log('one plain pino line', (Number(process.hrtime.bigint() - t) / 50000 / 1000).toFixed(1), 'µs');
