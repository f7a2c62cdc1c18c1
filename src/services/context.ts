import type { Db } from '../db/client.js';
import type { Role } from '../domain/enums.js';

/** Who is acting: the signed-in staff member, as kept in their session. */
export interface Actor {
  id: number;
  role: Role;
  name: string;
  email: string;
}

/** What every service function receives: the database and the acting user. */
export interface ServiceContext {
  db: Db;
  actor: Actor;
}
