// Caches dropped across instances (src/services/cache-notices.ts): the live feed's LISTEN
// connection, pinned so that it runs whether or not pages are open, hands each cache notice to
// the caches, ticket changes to the queue counts (at most once a second: a busy desk's stream of
// changes does not make every page of every instance count again), and a reconnection (notices
// may have been missed meanwhile) drops every cache.
//
// On the embedded PGlite (poll mode: one instance, LISTEN does not work there) there is nothing
// to share: the feed is not pinned and caches stay local, as before.
import { cacheNoticed, dropAllCaches } from '../services/cache-notices.js';
import type { LiveFeed } from '../services/live/feed.js';
import type { LiveHub } from './live.js';

/** Ticket changes drop the queue counts at most this often. */
const QUEUE_NOTICE_MS = 1_000;

const subscribed = new WeakSet<LiveFeed>();

function listen(feed: LiveFeed): void {
  if (subscribed.has(feed)) return;
  subscribed.add(feed);
  let last = 0;
  let later: NodeJS.Timeout | null = null;
  const queueChanged = () => {
    const now = Date.now();
    if (now - last >= QUEUE_NOTICE_MS) {
      last = now;
      cacheNoticed('queue');
    } else if (!later) {
      later = setTimeout(() => {
        later = null;
        last = Date.now();
        cacheNoticed('queue');
      }, QUEUE_NOTICE_MS - (now - last));
      later.unref();
    }
  };
  feed.subscribe((event) => {
    if (event.kind === 'cache') cacheNoticed(event.payload);
    else if (event.kind === 'ticket') queueChanged();
    else if (event.kind === 'resync') dropAllCaches();
  });
}

/**
 * Keeps this process's caches in step with other instances' changes; resolves once notices
 * committed from now on will be heard (or at once on the embedded database: nothing to hear).
 */
export async function shareCaches(hub: LiveHub): Promise<void> {
  if (hub.feed.mode !== 'notify') return;
  listen(hub.feed);
  await hub.feed.pin();
}
