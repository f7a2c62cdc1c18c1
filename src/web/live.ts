// The ticket page's live updates: server-sent events (GET /tickets/:reference/events), fed by
// src/services/live/feed.ts. Each open page holds one response of this process; events:
//   changed   {"version": n}  the ticket, its work log or its history changed: the page fetches
//                             itself again and swaps in what it can (public/js/live.js)
//   presence  {"viewers": [{"name", "typing", "typingMs"}]}  who else has it open (never the
//                             viewer themself), and who is writing a reply or a note
// A comment line every beat (25 s) keeps proxies from closing an idle stream. On every beat the
// stream's session is read again (through the session store, so a sign-out or a deactivation on
// any instance ends it); a sign-out here ends it at once. Open streams are capped per user (a
// browser has 6 connections per server over HTTP/1.1: a user's fifth tab must not starve the
// others) and per process. A stream holds no pool connection: it is a response and a row.
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Database } from '../db/client.js';
import type { Actor } from '../services/context.js';
import { createLiveFeed, type FeedEvent, type FeedMode, type LiveFeed } from '../services/live/feed.js';
import { keepViewing, startViewing, stopViewing, viewersOf, type Viewer } from '../services/live/presence.js';
import { logError } from '../log.js';

export interface LiveOptions {
  /** Open streams per user in this process. */
  maxPerUser: number;
  /** Open streams in this process. */
  maxStreams: number;
  beatMs?: number;
  mode?: FeedMode;
  pollMs?: number;
  /** The connection string the LISTEN connection uses (DATABASE_DIRECT_URL); default: the pool's. */
  listenUrl?: string;
}

interface Stream {
  id: string;
  ticketId: number;
  userId: number;
  sid: string;
  req: Request;
  res: Response;
}

export interface LiveHub {
  readonly feed: LiveFeed;
  /** The handler of GET /tickets/:reference/events (signed-in staff; the reference normalised). */
  open(req: Request, res: Response, actor: Actor, reference: string): Promise<void>;
  /** A sign-out in this process: its session's streams end now. */
  endSession(sid: string): void;
  /** Streams open in this process. */
  size(): number;
  /** Ends every stream (shutdown) and stops the feed. */
  stop(): Promise<void>;
}

/** Too many open streams: a plain refusal (EventSource does not retry a non-200 answer). */
export class TooManyStreams extends Error {
  readonly status = 429;
}

/** How long the feed keeps running after the last page closed (a reload reopens at once). */
const IDLE_STOP_MS = 5_000;

export function createLiveHub(db: Database, opts: LiveOptions): LiveHub {
  const feed = createLiveFeed(db, { mode: opts.mode, pollMs: opts.pollMs, listenUrl: opts.listenUrl });
  const beatMs = opts.beatMs ?? 25_000;
  const streams = new Map<string, Stream>();
  const byTicket = new Map<number, Set<Stream>>();
  const perUser = new Map<number, number>();
  /** What each watched ticket's viewers were last sent as (so an unchanged list is not sent again). */
  const shown = new Map<number, string>();
  let pending = 0;
  let beat: NodeJS.Timeout | null = null;
  let idle: NodeJS.Timeout | null = null;
  let stopped = false;

  const send = (s: Stream, event: string, data: unknown) => {
    if (s.res.writableEnded) return;
    // A client that stopped reading (its buffer past 256 KB) is dropped rather than buffered for.
    if (s.res.writableLength > 256 * 1024) return void s.res.end();
    s.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };

  function presenceFor(s: Stream, viewers: Viewer[]) {
    return {
      viewers: viewers
        .filter((v) => v.ticketId === s.ticketId && v.userId !== s.userId)
        .map((v) => ({ name: v.name, typing: v.typing, typingMs: v.typingLeftMs })),
    };
  }

  /** Reads who views these tickets and sends it to their pages (only what changed, unless forced). */
  async function refreshPresence(ticketIds: number[], force: boolean) {
    if (ticketIds.length === 0) return;
    const viewers = await viewersOf(db.prisma, ticketIds);
    for (const id of ticketIds) {
      const mine = viewers.filter((v) => v.ticketId === id);
      const key = JSON.stringify(mine.map((v) => [v.userId, v.typing, v.typingAt?.getTime() ?? null]));
      if (!force && shown.get(id) === key) continue;
      shown.set(id, key);
      for (const s of byTicket.get(id) ?? []) send(s, 'presence', presenceFor(s, viewers));
    }
  }
  const refresh = (ids: number[], force = false) =>
    void refreshPresence(ids, force).catch((err: unknown) => logError('[live] could not read presence:', (err as Error).message));

  feed.subscribe((event: FeedEvent) => {
    if (event.kind === 'ticket') {
      for (const s of byTicket.get(event.ticketId) ?? []) send(s, 'changed', { version: event.version });
    } else if (event.kind === 'presence') {
      if (byTicket.has(event.ticketId)) refresh([event.ticketId]);
    } else if (event.kind === 'resync') {
      for (const s of streams.values()) send(s, 'changed', { version: 0 });
      refresh([...byTicket.keys()], true);
    } else if (event.kind === 'tick') {
      refresh([...byTicket.keys()]);
    }
  });

  /** Every beat: a comment to each stream, rows kept fresh, sessions checked, presence re-read. */
  async function onBeat() {
    for (const s of streams.values()) if (!s.res.writableEnded) s.res.write(': beat\n\n');
    await keepViewing(db.prisma, [...streams.keys()]).catch((err: unknown) => logError('[live] could not refresh presence:', (err as Error).message));
    for (const s of [...streams.values()]) {
      s.req.sessionStore.get(s.sid, (err, sess) => {
        const user = (sess as { passport?: { user?: { id?: unknown } } } | null | undefined)?.passport?.user;
        if (!err && user?.id !== s.userId) s.res.end();
      });
    }
    refresh([...byTicket.keys()]);
  }

  function release(s: Stream) {
    if (!streams.delete(s.id)) return;
    const set = byTicket.get(s.ticketId);
    set?.delete(s);
    if (set && set.size === 0) {
      byTicket.delete(s.ticketId);
      shown.delete(s.ticketId);
    }
    const n = (perUser.get(s.userId) ?? 1) - 1;
    if (n > 0) perUser.set(s.userId, n);
    else perUser.delete(s.userId);
    void stopViewing(db.prisma, [s.id]).catch((err: unknown) => logError('[live] could not record a page closed:', (err as Error).message));
    if (streams.size === 0 && pending === 0) idleSoon();
  }

  function idleSoon() {
    if (beat) clearInterval(beat);
    beat = null;
    if (idle) clearTimeout(idle);
    idle = setTimeout(() => {
      idle = null;
      if (streams.size === 0 && pending === 0) void feed.stop();
    }, IDLE_STOP_MS);
    idle.unref();
  }

  return {
    feed,
    size: () => streams.size,

    async open(req, res, actor, reference) {
      if (stopped) throw Object.assign(new Error('shutting down'), { status: 503 });
      // Counted before anything is awaited, so that simultaneous requests cannot all pass.
      const mine = perUser.get(actor.id) ?? 0;
      if (mine >= opts.maxPerUser) throw new TooManyStreams(`You have ${mine} live pages open already: close one, or reload this page later.`);
      if (streams.size + pending >= opts.maxStreams) throw new TooManyStreams('Too many live pages are open on this server right now.');
      perUser.set(actor.id, mine + 1);
      pending++;
      if (idle) clearTimeout(idle);
      idle = null;
      const id = randomUUID();
      let s: Stream | null = null;
      try {
        // Listening first, then where the ticket stands: no change can fall in between.
        await feed.start();
        const start = await startViewing({ db: db.prisma, actor }, reference, id);
        s = { id, ticketId: start.ticketId, userId: actor.id, sid: req.sessionID, req, res };
        if (req.socket.destroyed || stopped) throw new Error('the page went away before its stream started');
        res.status(200).set({
          'Content-Type': 'text/event-stream; charset=utf-8',
          'Cache-Control': 'no-cache, no-transform',
          // nginx buffers responses unless told not to.
          'X-Accel-Buffering': 'no',
          // The connection ends with the stream: nothing else would use it, and a shutdown is not
          // kept waiting for an idle keep-alive socket.
          Connection: 'close',
        });
        res.flushHeaders();
        res.write('retry: 5000\n\n');
        // A change between the page's rendering and this stream: the page catches up at once.
        const seen = Number(req.query.mark);
        if (Number.isInteger(seen) && seen < start.mark) send(s, 'changed', { version: start.version });
        streams.set(id, s);
        let set = byTicket.get(s.ticketId);
        if (!set) byTicket.set(s.ticketId, (set = new Set()));
        set.add(s);
        if (!beat) {
          beat = setInterval(() => void onBeat(), beatMs);
          beat.unref();
        }
        const stream = s;
        // (The response's close: the client went away, or the stream was ended here.)
        res.on('close', () => release(stream));
        refresh([s.ticketId], true);
      } catch (err) {
        perUser.set(actor.id, (perUser.get(actor.id) ?? 1) - 1);
        if ((perUser.get(actor.id) ?? 0) <= 0) perUser.delete(actor.id);
        void stopViewing(db.prisma, [id]).catch(() => undefined);
        // The page went away meanwhile (or the process is stopping): nobody to answer.
        if (res.headersSent || req.socket.destroyed || stopped) return void res.end();
        throw err;
      } finally {
        pending--;
        if (streams.size === 0 && pending === 0) idleSoon();
      }
    },

    endSession(sid) {
      for (const s of [...streams.values()]) if (s.sid === sid) s.res.end();
    },

    async stop() {
      stopped = true;
      if (beat) clearInterval(beat);
      if (idle) clearTimeout(idle);
      beat = idle = null;
      const ids = [...streams.keys()];
      for (const s of [...streams.values()]) s.res.end();
      streams.clear();
      byTicket.clear();
      await stopViewing(db.prisma, ids).catch(() => undefined);
      await feed.stop({ evenIfPinned: true });
    },
  };
}
