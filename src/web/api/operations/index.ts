// Every operation of /api/v1, in the order the reference lists them.
import type { Operation } from '../registry.js';
import { ticketOperations } from './tickets.js';
import { otherOperations } from './others.js';

export const API_OPERATIONS: readonly Operation[] = [...ticketOperations, ...otherOperations];
