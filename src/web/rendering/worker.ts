// The render worker: the unbounded work of pages (Markdown → safe HTML, line-by-line comparison)
// runs here, in a worker thread the pool (pool.ts) ends when it takes too long.
import { parentPort } from 'node:worker_threads';
import { compareLines } from '../presenters/diff.js';
import { markdownToHtml } from '../presenters/markdown.js';
import type { Reply, Request, Task } from './pool.js';

function run(task: Task): unknown {
  switch (task.kind) {
    case 'markdown':
      return markdownToHtml(task.source);
    case 'lines':
      return compareLines(task.before, task.after, task.timeoutMs);
  }
}

const port = parentPort!;
port.on('message', ({ id, task }: Request) => {
  let reply: Reply;
  try {
    reply = { id, ok: true, value: run(task) };
  } catch (err) {
    // e.g. marked's "Maximum call stack size exceeded" on deeply nested quotes.
    reply = { id, ok: false, error: err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err) };
  }
  port.postMessage(reply);
});
port.postMessage('ready');
