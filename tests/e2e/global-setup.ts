// Starts one Caseboard for the whole e2e run, as `npm start` starts it, on a fresh embedded
// database; stops its process group at the end. Old artifacts are cleared first.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ADMIN, ARTIFACTS, startServer } from './support.js';

export default async function setup(project: TestProject) {
  mkdirSync(ARTIFACTS, { recursive: true });
  for (const f of readdirSync(ARTIFACTS)) {
    if (/\.(png|jpg|jsonl|log)$/.test(f)) rmSync(join(ARTIFACTS, f), { force: true });
  }
  const started = Date.now();
  const server = await startServer();
  console.log(`[e2e] Caseboard up at ${server.baseUrl} in ${((Date.now() - started) / 1000).toFixed(1)} s (log: ${server.logFile})`);
  project.provide('e2e', { baseUrl: server.baseUrl, mailDir: server.mailDir, inboundPort: server.inboundPort, admin: ADMIN });
  return async () => {
    // A crash mid-run shows in the tests as refused connections: say why here.
    const died = await server.stop();
    if (died) throw new Error(died);
  };
}
