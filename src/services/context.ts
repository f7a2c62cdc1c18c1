import type { Db } from '../db/client.js';
import type { Role } from '../domain/enums.js';

/** Who is acting: the signed-in staff member, as kept in their session. */
export interface Actor {
  id: number;
  role: Role;
  name: string;
  email: string;
}

/**
 * A customer acting on their own ticket (status page with a private link, web form, email).
 * They never sign in: the service that accepts their action has already proved who they are.
 */
export interface CustomerActor {
  customerId: number;
  name: string;
  email: string;
}

/** Whoever a history row or work-log entry is written by. */
export type AnyActor = Actor | CustomerActor;

export const isCustomerActor = (actor: AnyActor): actor is CustomerActor => 'customerId' in actor;

/** The history columns naming the actor: exactly one is set (a CHECK constraint insists). */
export function actorColumns(actor: AnyActor): { actorId: number | null; actorCustomerId: number | null } {
  return isCustomerActor(actor)
    ? { actorId: null, actorCustomerId: actor.customerId }
    : { actorId: actor.id, actorCustomerId: null };
}

/** What every service function receives: the database and the acting user. */
export interface ServiceContext {
  db: Db;
  actor: Actor;
}
