// Creating a ticket runs in a transaction only when a rule on creation could match it: what the
// form says decides "cannot"; what it does not say (organization, business hours) counts as "could".
import { describe, expect, it } from 'vitest';
import { couldMatchNew, type ConditionGroup } from '../../src/services/automation/conditions.js';
import type { CreationPreview } from '../../src/services/tickets/events.js';

const p: CreationPreview = {
  title: 'Printer on floor 3 drops jobs',
  description: 'Every second job is lost.',
  urgency: 'NORMAL',
  channel: 'PHONE',
  status: 'NEW',
  teamId: 1,
  assigneeId: null,
  customerEmail: 'dana@customer.example',
};
const all = (...conditions: ConditionGroup['conditions']): ConditionGroup => ({ type: 'all', conditions });
const any = (...conditions: ConditionGroup['conditions']): ConditionGroup => ({ type: 'any', conditions });

describe('couldMatchNew', () => {
  it('says "cannot" from what was typed', () => {
    expect(couldMatchNew(all({ type: 'text', where: 'title', value: 'outage' }), p)).toBe(false);
    expect(couldMatchNew(all({ type: 'customer', match: 'domain', value: 'vip.example' }), p)).toBe(false);
    expect(couldMatchNew(all({ type: 'field', field: 'urgency', values: ['CRITICAL'], negate: false }), p)).toBe(false);
    expect(couldMatchNew(all({ type: 'tag', value: 'vip', negate: false }), p)).toBe(false);
    expect(couldMatchNew(any({ type: 'text', where: 'any', value: 'outage' }, { type: 'field', field: 'channel', values: ['EMAIL'], negate: false }), p)).toBe(false);
  });

  it('says "could" when it matches or the form cannot tell', () => {
    expect(couldMatchNew(all({ type: 'text', where: 'title', value: 'PRINTER' }), p)).toBe(true);
    expect(couldMatchNew(all({ type: 'customer', match: 'domain', value: 'customer.example' }), p)).toBe(true);
    expect(couldMatchNew(all({ type: 'organization', organizationId: 3, negate: false }), p)).toBe(true);
    expect(couldMatchNew(all({ type: 'businessHours', calendarId: 1, calendarName: 'Office', inside: true }), p)).toBe(true);
    // An unknown part cannot rescue a group that already fails…
    expect(couldMatchNew(all({ type: 'organization', organizationId: 3, negate: false }, { type: 'text', where: 'title', value: 'outage' }), p)).toBe(false);
    // …nor is it needed when another part matches.
    expect(couldMatchNew(any({ type: 'organization', organizationId: 3, negate: false }, { type: 'text', where: 'title', value: 'printer' }), p)).toBe(true);
    expect(couldMatchNew(all(), p)).toBe(true);
  });
});
