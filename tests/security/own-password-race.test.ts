// Changing one's own password while an admin resets it or deactivates the user. Checking the
// current password takes a second of scrypt between reading the user and writing the change: here
// it is held open until the admin's change has committed. The admin's change must win: the
// user's new password is not written, and the sessions the admin ended stay ended.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildUser } from '../helpers/factories.js';
import type { Actor } from '../../src/services/context.js';
import { ValidationError } from '../../src/services/errors.js';
import { resetPassword, setUserActive } from '../../src/services/users/manage-users.js';
import { changeOwnPassword } from '../../src/services/users/profile.js';
import { PASSWORD } from '../helpers/factories.js';

/** The password check, held: `armed` makes the next check wait for `release()`. */
const hold = vi.hoisted(() => ({
  armed: false,
  reached: undefined as undefined | (() => void),
  gate: undefined as undefined | Promise<void>,
}));

vi.mock('../../src/services/passwords.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/services/passwords.js')>();
  return {
    ...real,
    async verifyPassword(password: string, stored: string) {
      const result = await real.verifyPassword(password, stored);
      if (hold.armed) {
        hold.armed = false;
        hold.reached?.();
        await hold.gate;
      }
      return result;
    },
  };
});

let db: TestDatabase;
let admin: Actor;

beforeAll(async () => {
  db = await createTestDatabase();
  admin = await buildUser(db, { role: 'ADMIN' });
});
afterAll(() => db?.close());

/** Starts the user's own change, lets `meanwhile` commit while its check is held, then lets it go on. */
async function race(me: Actor, meanwhile: () => Promise<unknown>) {
  let release!: () => void;
  hold.gate = new Promise<void>((r) => (release = r));
  const reached = new Promise<void>((r) => (hold.reached = r));
  hold.armed = true;
  const own = changeOwnPassword(as(db, me), PASSWORD, 'the user wanted this one');
  await reached;
  await meanwhile();
  release();
  return own;
}

describe('own password change racing an admin', () => {
  for (const [what, act] of [
    ['a password reset', (id: number, v: number) => resetPassword(as(db, admin), id, v, 'the admin set this one')],
    ['a deactivation', (id: number, v: number) => setUserActive(as(db, admin), id, v, false)],
  ] as const) {
    it(`${what} meanwhile wins: nothing of the user's change is written`, async () => {
      const me = await buildUser(db);
      const before = await db.prisma.user.findUniqueOrThrow({ where: { id: me.id } });
      let afterAdmin: Awaited<ReturnType<typeof countRows>> | undefined;
      let adminRow: typeof before | undefined;
      await expect(
        race(me, async () => {
          await act(me.id, before.version);
          afterAdmin = await countRows(db);
          adminRow = await db.prisma.user.findUniqueOrThrow({ where: { id: me.id } });
        }),
      ).rejects.toThrow(ValidationError);
      expect(await countRows(db)).toEqual(afterAdmin);
      expect(await db.prisma.user.findUniqueOrThrow({ where: { id: me.id } })).toEqual(adminRow);
    });
  }
});
