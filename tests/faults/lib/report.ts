// The figures of a run, printed at the end and written to tests/faults/artifacts/last-run.txt.
import type { Verification } from './verify.js';
import type { Ledger } from './writers.js';

export const secs = (ms: number | null | undefined) => (ms === null || ms === undefined ? 'never' : `${(ms / 1000).toFixed(2)} s`);

const pad = (label: string, width = 48) => `${label}`.padEnd(width, ' ');

/** The request lines shared by both scenarios: sent, acknowledged, found, refused, unknown. */
export function writeFigures(ledger: Ledger, v: Verification | null): string[] {
  const kinds = (r: { create: number; urgency: number; worklog: number }) =>
    `${r.create + r.urgency + r.worklog} (creates ${r.create}, urgency changes ${r.urgency}, notes ${r.worklog})`;
  const acked = { create: ledger.creates.length, urgency: ledger.urgencies.length, worklog: ledger.worklogs.length };
  const lines = [
    `${pad('writes sent')}${kinds(ledger.sent)}`,
    `${pad('acknowledged (303)')}${kinds(acked)}`,
    v
      ? `${pad('found in the database afterwards')}${kinds({ create: v.found.creates, urgency: v.found.urgencies, worklog: v.found.worklogs })}` +
        (v.found.total === ledger.totalAcked ? '  = acknowledged' : `  ≠ acknowledged: ${ledger.totalAcked - v.found.total} LOST`)
      : `${pad('found in the database afterwards')}(not verified)`,
    `${pad('no answer (outcome unknown)')}${kinds(ledger.unanswered)}` +
      (v ? `; of those creates, committed anyway: ${v.unansweredCommitted}` : ''),
    `${pad('refused with a 5xx page')}${kinds(ledger.refusedByError)}`,
    `${pad('refused as stale (409)')}${ledger.conflicts}`,
    `${pad('sign-ins')}${ledger.signIns}`,
  ];
  if (v) {
    lines.push(
      `${pad('rows afterwards')}${v.rows.tickets} tickets, ${v.rows.history} history rows, ${v.rows.worklog} work-log entries, ${v.rows.customers} customers`,
      `${pad('half-written rows')}${v.problemCount === 0 ? 'none' : v.problemCount}`,
    );
    for (const m of v.missing) lines.push(`  LOST: ${m}`);
    for (const p of v.problems) lines.push(`  HALF-WRITTEN: ${p}`);
  }
  for (const u of ledger.unexpected.slice(0, 10)) lines.push(`  UNEXPECTED: ${u.split('\n')[0]}`);
  return lines;
}

export { pad };
