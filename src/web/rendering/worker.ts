// The render worker's task (src/workers/pool.ts runs it in a worker thread, ended when it takes
// too long): the unbounded work of pages, Markdown → safe HTML and line-by-line comparison. It
// loads only these modules (not the services and the Prisma client), for a quick cold start.
import { compareLines } from '../presenters/diff.js';
import { markdownToHtml } from '../presenters/markdown.js';

export type Task =
  | { kind: 'markdown'; source: string }
  | { kind: 'lines'; before: string; after: string; timeoutMs: number };

/** A throw (e.g. marked's "Maximum call stack size exceeded" on deeply nested quotes) is the task's error. */
export default function run(task: Task): unknown {
  switch (task.kind) {
    case 'markdown':
      return markdownToHtml(task.source);
    case 'lines':
      return compareLines(task.before, task.after, task.timeoutMs);
  }
}
