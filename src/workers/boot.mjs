// What a worker of src/workers/pool.ts runs (piscina calls the default export for each task): it
// loads the handler module named in workerData, with tsx's `tsImport` when that is TypeScript (a
// worker started from a vitest fork cannot load .ts by itself), and tells the pool when each task
// starts, so that the task's time limit counts from there (not from a worker's start).
import { parentPort, workerData } from 'node:worker_threads';

const STARTED = 'caseboard:task-started'; // as in pool.ts

const { entry, tsx } = workerData;
const mod = tsx ? await (await import(tsx)).tsImport(entry, entry) : await import(entry);
const handler = mod.default;
if (typeof handler !== 'function') throw new Error(`${entry} has no default export to run tasks`);

export default function run({ id, input }) {
  parentPort.postMessage({ [STARTED]: id });
  return handler(input);
}
