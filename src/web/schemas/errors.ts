import { z } from 'zod';
import { URGENCIES } from '../../domain/enums.js';
import { choice, id, requiredText, version } from './common.js';

const perMinute = z
  .string()
  .trim()
  .optional()
  .transform((v, c) => {
    if (!v) return null;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 1_000_000) {
      c.addIssue({ code: 'custom', message: 'Enter a whole number from 1 to 1,000,000, or leave it empty.' });
      return z.NEVER;
    }
    return n;
  });

const project = {
  name: requiredText('A name', 120),
  teamId: id,
  urgency: choice('urgency', URGENCIES),
  perMinute,
};

/** A new error-reporting project (admins). */
export const NewErrorProjectForm = z.object({
  ...project,
  customerName: requiredText("The customer's name", 120),
  customerEmail: z.email({ error: 'Enter an email address.' }).max(254),
});

/** A project's settings (admins). */
export const EditErrorProjectForm = z.object({
  ...project,
  active: z.enum(['1']).optional(),
  version,
});
