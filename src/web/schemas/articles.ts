import { z } from 'zod';
import { choice, id, optionalText, requiredText, version, searchText } from './common.js';

const STATUSES = ['DRAFT', 'PUBLISHED', 'ARCHIVED'] as const;
const VISIBILITIES = ['INTERNAL', 'PUBLIC'] as const;

export const ArticleForm = z.object({
  title: requiredText('A title', 200),
  body: requiredText('The text', 100_000),
  category: optionalText('A category', 80),
  tags: z
    .string()
    .max(1000, 'Tags can be at most 1000 characters in all.')
    .optional()
    .transform((s) => (s ?? '').split(',').map((t) => t.trim()).filter(Boolean)),
  visibility: choice('visibility', VISIBILITIES).optional(),
  sourceReference: z.string().trim().max(20).optional().transform((s) => s || null),
});

export const EditArticleForm = ArticleForm.omit({ sourceReference: true }).extend({ version });
export const ArticleStatusForm = z.object({ version, status: choice('status', STATUSES) });

export const ArticleSearchQuery = z.object({
  q: searchText().optional(),
  status: z.union([z.literal('').transform(() => undefined), choice('status', STATUSES)], { error: 'Choose a valid status.' }).optional(),
  category: z.string().trim().max(80).optional(),
  page: z.coerce.number().int().min(0).max(50).optional(),
});

export const CompareQuery = z.object({ from: id, to: id });
export const LinkArticleForm = z.object({ articleId: id });
