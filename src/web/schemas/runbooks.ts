import { z } from 'zod';
import { FIX_OUTCOMES } from '../../domain/enums.js';
import { choice, id, optionalText, requiredText, searchText, version } from './common.js';
import { MAX_STEPS, MAX_INSTRUCTIONS, SECRET_MAX, stepField, type StepInput } from '../../services/runbooks/manage-runbooks.js';

const STATUSES = ['DRAFT', 'PUBLISHED', 'ARCHIVED'] as const;
const CHECK_KINDS = ['NONE', 'VALUE', 'YES_NO'] as const;

export const RunbookSearchQuery = z.object({
  q: searchText().optional(),
  status: z.union([z.literal('').transform(() => undefined), choice('status', STATUSES)], { error: 'Choose a valid status.' }).optional(),
  page: z.coerce.number().int().min(0).max(50).optional(),
});

const keywords = z
  .string()
  .max(1000, 'Keywords can be at most 1000 characters in all.')
  .optional()
  .transform((s) => (s ?? '').split(',').map((t) => t.trim()).filter(Boolean));

/** The run book's details (title, summary, category, keywords): on the new form, and admins' edit form. */
export const RunbookDetailsForm = z.object({
  title: requiredText('A title', 200),
  summary: optionalText('The summary', 5000),
  category: optionalText('A category', 80),
  keywords,
});

/** What the rest of a version form carries besides its steps. */
export const VersionMetaForm = z.object({
  note: optionalText('The note', 500),
  publish: z.literal('1').optional(),
  /** How many step slots the form had (its step fields are s0_… to s<slots-1>_…). */
  slots: z.coerce.number({ error: 'The form is incomplete: reload the page.' }).int().min(1).max(MAX_STEPS + 10),
});

export const EditVersionForm = VersionMetaForm.extend({ version, base: id });

const StepSlot = z.object({
  title: z.string().max(200, 'A step title can be at most 200 characters.').optional().default(''),
  instructions: z.string().max(MAX_INSTRUCTIONS, `At most ${MAX_INSTRUCTIONS.toLocaleString('en')} characters.`).optional().default(''),
  checkKind: choice('kind of check', CHECK_KINDS).optional().default('NONE'),
  checkLabel: optionalText('What to record', 200),
  isFix: z.literal('1').optional(),
  articleId: z.union([z.literal('').transform(() => null), id], { error: 'Choose an article by its number.' }).optional().transform((v) => v ?? null),
  automationUrl: optionalText('The address', 2000),
  secret: z.string().max(SECRET_MAX, `The secret can be at most ${SECRET_MAX} characters.`).optional().transform((v) => v?.trim() || null),
  from: z.union([z.literal('').transform(() => null), id]).optional().transform((v) => v ?? null),
  order: z.union([z.literal('').transform(() => null), z.coerce.number().int().min(1).max(1000)], { error: 'The order is a number from 1 to 1000.' }).optional().transform((v) => v ?? null),
});

const SLOT_FIELDS = ['title', 'instructions', 'checkKind', 'checkLabel', 'isFix', 'articleId', 'automationUrl', 'secret', 'from', 'order'] as const;

/**
 * The steps of a version form: slot i's fields are s<i>_title, s<i>_instructions, …; a slot with
 * no title, instructions nor address is left out; the rest go in the order given (then the slots'
 * order). Errors are keyed by the slot's field names.
 */
export function parseSteps(body: Record<string, unknown>, slots: number): { steps: StepInput[]; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const kept: { i: number; order: number | null; step: StepInput }[] = [];
  for (let i = 0; i < slots; i++) {
    const raw = Object.fromEntries(SLOT_FIELDS.map((f) => [f, Object.hasOwn(body, stepField(i, f)) ? body[stepField(i, f)] : undefined]));
    const parsed = StepSlot.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) errors[stepField(i, String(issue.path[0]))] ??= issue.message;
      continue;
    }
    const s = parsed.data;
    if (!s.title.trim() && !s.instructions.trim() && !s.automationUrl) continue;
    kept.push({
      i,
      order: s.order,
      step: {
        title: s.title,
        instructions: s.instructions,
        checkKind: s.checkKind,
        checkLabel: s.checkLabel,
        isFix: s.isFix === '1',
        articleId: s.articleId,
        automationUrl: s.automationUrl,
        secret: s.secret,
        fromStepId: s.from,
      },
    });
  }
  kept.sort((a, b) => (a.order ?? a.i + 1) - (b.order ?? b.i + 1) || a.i - b.i);
  return { steps: kept.map((k) => k.step), errors };
}

/** Where each kept step came from (its slot), to map the service's step errors back to the form's slots. */
export function slotOf(body: Record<string, unknown>, slots: number): number[] {
  const order: { i: number; order: number }[] = [];
  for (let i = 0; i < slots; i++) {
    const t = body[stepField(i, 'title')], ins = body[stepField(i, 'instructions')], url = body[stepField(i, 'automationUrl')];
    const filled = [t, ins, url].some((v) => typeof v === 'string' && v.trim() !== '');
    if (!filled) continue;
    const o = Number(body[stepField(i, 'order')]);
    order.push({ i, order: Number.isInteger(o) && o >= 1 ? o : i + 1 });
  }
  return order.sort((a, b) => a.order - b.order || a.i - b.i).map((x) => x.i);
}

export const RunbookStatusForm = z.object({ version, status: choice('status', ['PUBLISHED', 'ARCHIVED'] as const) });
export const PublishVersionForm = z.object({ version });

export const AttachRunbookForm = z.object({
  runbookId: z.coerce
    .number({ error: 'Choose a run book.' })
    .int('Choose a run book.')
    .min(1, 'Choose a run book.')
    .max(2_147_483_647, 'Choose a run book.'),
  how: choice('way', ['BY_HAND', 'SUGGESTED'] as const).optional().default('BY_HAND'),
});

export const StepDoneForm = z.object({
  value: z.string().max(500, 'At most 500 characters.').optional(),
  outcome: z.union([z.literal('').transform(() => undefined), choice('outcome', FIX_OUTCOMES)], { error: 'Choose a valid outcome.' }).optional(),
  note: z.string().max(10_000, 'At most 10,000 characters.').optional(),
});
