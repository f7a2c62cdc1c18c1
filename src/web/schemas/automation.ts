import { z } from 'zod';
import { RULE_EVENTS } from '../../services/automation/rules.js';
import { CONDITIONS_MAX } from '../../services/automation/conditions.js';
import { ACTIONS_MAX } from '../../services/automation/actions.js';
import { TEMPLATE_MAX } from '../../services/automation/templates.js';
import { choice, optionalText, requiredText, version } from './common.js';

/** Rows the forms post at most (the page shows the rule's rows and a few empty ones). */
export const CONDITION_ROWS = CONDITIONS_MAX;
export const ACTION_ROWS = ACTIONS_MAX;

const row = (prefix: string, n: number) =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => [
      [`${prefix}${i}_kind`, z.string().max(40, 'Choose from the list.').optional()],
      [`${prefix}${i}_value`, z.string().max(TEMPLATE_MAX, `At most ${TEMPLATE_MAX} characters.`).optional()],
    ]).flat(),
  ) as Record<string, z.ZodOptional<z.ZodString>>;

const ruleFields = {
  name: requiredText('A name', 120),
  description: optionalText('A description', 2000),
  event: choice('event', RULE_EVENTS),
  quietHours: z
    .union([
      z.literal('').transform(() => null),
      z.coerce.number({ error: 'Enter a whole number of hours.' }).int('Enter a whole number of hours.').min(1, 'At least 1 hour.').max(8760, 'At most 8,760 hours (a year).'),
    ])
    .optional()
    .transform((v) => v ?? null),
  match: z.enum(['all', 'any'], { error: 'Choose all or any.' }).default('all'),
  ...row('c', CONDITION_ROWS),
  ...row('a', ACTION_ROWS),
};

export const RuleForm = z.object(ruleFields);
export const EditRuleForm = z.object({ version, ...ruleFields });
export const ActiveForm = z.object({ active: z.enum(['true', 'false'], { error: 'Choose on or off.' }) });
export const MoveForm = z.object({ direction: z.enum(['up', 'down'], { error: 'Choose up or down.' }) });

export const MacroEditForm = z.object({
  name: requiredText('A name', 120),
  shared: z.literal('1').optional(),
  reply: optionalText('The reply', TEMPLATE_MAX),
  ...row('a', ACTION_ROWS),
});

export const CannedForm = z.object({
  name: requiredText('A name', 120),
  shared: z.literal('1').optional(),
  body: requiredText('The text', TEMPLATE_MAX),
});
