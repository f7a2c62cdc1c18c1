// npx tsx scripts/bench-spread.ts
//
// Why hot paths build their objects as literals: in Node 20's V8, an object spread followed by new
// properties (`{ ...row, extra: 1 }`) takes a slow path, tens of microseconds for a queue row,
// where a literal naming the same properties takes a fraction of one. Prints ns per object.
const row = {
  id: 1, reference: 'CB-0000001', title: 'VPN drops', urgency: 'NORMAL', status: 'OPEN', version: 2,
  createdAt: new Date(), updatedAt: new Date(), customerName: 'Ann Lee', customerOrganization: 'Acme',
  assigneeId: 3, assigneeName: 'Bo', teamId: 1, awaitingSince: null, slaDueAt: null, slaPolicyId: null,
  unseen: true, newReply: false,
};
function bench(name: string, make: () => unknown, n = 100_000): void {
  let kept: unknown;
  for (let i = 0; i < n / 10; i++) kept = make();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) kept = make();
  const ns = Number(process.hrtime.bigint() - start) / n;
  console.log(`${name.padEnd(44)} ${ns.toFixed(0).padStart(8)} ns per object${kept ? '' : ''}`);
}
bench('literal with the row\'s fields + 3', () => ({ id: row.id, reference: row.reference, title: row.title, urgency: row.urgency, status: row.status, version: row.version, customerName: row.customerName, customerOrganization: row.customerOrganization, assigneeId: row.assigneeId, assigneeName: row.assigneeName, unseen: row.unseen, newReply: row.newReply, item: 'x', time: '3d', at: 'y' }));
bench('{ ...row } (a plain copy)', () => ({ ...row }));
bench('{ ...row, version: 3 } (an existing field)', () => ({ ...row, version: 3 }));
bench('Object.assign({}, row, { 3 new })', () => Object.assign({}, row, { item: 'x', time: '3d', at: 'y' }));
bench('{ ...row, 3 new fields }', () => ({ ...row, item: 'x', time: '3d', at: 'y' }), 10_000);
bench('{ ...row, 7 new fields }', () => ({ ...row, a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7 }), 10_000);
