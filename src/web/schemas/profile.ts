import { z } from 'zod';
import { THEMES } from '../../domain/enums.js';
import { listedTimeZone } from '../../domain/time-zones.js';
import { choice } from './common.js';

const password = (label: string) =>
  z.string({ error: `${label} is required.` }).min(1, `${label} is required.`).max(1024, `${label} can be at most 1024 characters.`);

export const OwnPasswordForm = z.object({
  currentPassword: password('Your current password'),
  newPassword: password('A new password'),
});

/** A zone from the list (Intl.supportedValuesOf, and UTC), or an alias of one: stored by the list's name. */
export const PreferencesForm = z.object({
  timeZone: z
    .string({ error: 'Choose a time zone from the list.' })
    .trim()
    .transform((v, ctx) => {
      const zone = listedTimeZone(v);
      if (zone === null) {
        ctx.addIssue({ code: 'custom', message: 'Choose a time zone from the list.' });
        return z.NEVER;
      }
      return zone;
    }),
  theme: choice('theme', THEMES),
});
