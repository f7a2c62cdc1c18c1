import { Prisma } from '../generated/prisma/client.js';

/**
 * A unique constraint refused the write: Prisma's P2002, or PostgreSQL's 23505 from a statement
 * run on the pool directly (db/client.ts sql()) or through $queryRaw (P2010).
 */
export function isUniqueViolation(err: unknown): boolean {
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    return err.code === 'P2002' || (err.code === 'P2010' && (err.meta as { code?: unknown } | undefined)?.code === '23505');
  }
  return (err as { code?: unknown } | null)?.code === '23505';
}

/** The record to change was not found (Prisma's P2025). */
export function isRecordNotFound(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2025';
}
