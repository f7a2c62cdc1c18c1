import { z } from 'zod';
import { ROLES } from '../../domain/enums.js';
import { choice, requiredText, version } from './common.js';

const email = z
  .string({ error: 'An email is required.' })
  .trim()
  .min(1, 'An email is required.')
  .max(254, 'An email can be at most 254 characters.')
  .pipe(z.email({ error: 'Enter a valid email address.' }));
const password = z
  .string({ error: 'A password is required.' })
  .max(1024, 'A password can be at most 1024 characters.');

export const NewUserForm = z.object({
  email,
  name: requiredText('A name', 120),
  role: choice('role', ROLES),
  password,
});
export const EditUserForm = z.object({ version, email, name: requiredText('A name', 120), role: choice('role', ROLES) });
export const ActiveForm = z.object({ version, active: z.enum(['true', 'false'], { error: 'Choose active or not.' }) });
export const PasswordForm = z.object({ version, password });
