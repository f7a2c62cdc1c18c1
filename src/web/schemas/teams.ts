import { z } from 'zod';
import { id, optionalText, requiredText, version } from './common.js';

export const AUTO_ASSIGN_MODES = ['OFF', 'ROUND_ROBIN', 'LEAST_LOADED'] as const;
export const AUTO_ASSIGN_LABEL: Record<(typeof AUTO_ASSIGN_MODES)[number], string> = {
  OFF: 'Off: people take or assign tickets',
  ROUND_ROBIN: 'Round robin: each available member in turn',
  LEAST_LOADED: 'Least loaded: the available member with the fewest open tickets',
};

const teamFields = {
  name: requiredText('A name', 80),
  description: optionalText('A description', 2000),
  autoAssign: z.enum(AUTO_ASSIGN_MODES, { error: 'Choose how tickets are assigned.' }),
  maxOpenPerPerson: z
    .union([
      z.literal('').transform(() => null),
      z.coerce
        .number({ error: 'Enter a whole number, or leave it empty for no cap.' })
        .int('Enter a whole number, or leave it empty for no cap.')
        .min(1, 'The cap is at least 1 (or empty for no cap).')
        .max(10_000, 'The cap is at most 10,000.'),
    ])
    .optional()
    .transform((v) => v ?? null),
  isDefault: z.literal('1').optional(),
  address: z
    .union([
      z.literal('').transform(() => null),
      z.string().trim().max(254, 'An address can be at most 254 characters.').pipe(z.email({ error: 'Enter a valid email address, or leave it empty.' })),
    ])
    .optional()
    .transform((v) => v ?? null),
};

export const NewTeamForm = z.object(teamFields);
export const EditTeamForm = z.object({
  version,
  ...teamFields,
  /** Who SLA breaches escalate to ('': nobody). */
  leadId: z.union([z.literal('').transform(() => null), id]).optional(),
});
export const MemberForm = z.object({ userId: id });
export const AvailabilityForm = z.object({
  userId: id,
  available: z.enum(['true', 'false'], { error: 'Choose available or not.' }),
});
