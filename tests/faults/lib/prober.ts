// Watches the app while its database goes away and comes back: a signed-in page, a ticket
// creation and /health, each sent again and again, every answer (or its absence) timed.
import { Browser, NoAnswer, csrfOf, errorPageOf, type Page } from './browser.js';
import { sleep, type Ledger } from './writers.js';

export type ProbeKind = 'page' | 'create' | 'health';

export interface Sample {
  kind: ProbeKind;
  start: number;
  end: number;
  /** 0: no HTTP answer. */
  status: number;
  ms: number;
  /** The error page's title and message (or /health's JSON), for failures. */
  message: string;
  ok: boolean;
}

export interface ProberOptions {
  baseUrl: string;
  email: string;
  password: string;
  runId: string;
  ledger: Ledger;
}

export class Prober {
  readonly samples: Sample[] = [];
  /** Sign-ins and why they were needed, for the report. */
  readonly events: { at: number; what: string }[] = [];
  private readonly browser: Browser;
  private readonly health: Browser;
  private csrf: string | null = null;
  private stopping = false;
  private loops: Promise<void>[] = [];
  private n = 0;

  constructor(private readonly o: ProberOptions) {
    this.browser = new Browser(o.baseUrl, 15_000);
    this.health = new Browser(o.baseUrl, 15_000);
  }

  start(): void {
    this.loops = [
      this.loop('page', 50, () => this.page()),
      this.loop('create', 100, () => this.create()),
      this.loop('health', 100, () => this.health.get('/health')),
    ];
  }

  /** Resolves once signed in with a form token (so that phases start from a working session). */
  async ready(limitMs = 60_000): Promise<void> {
    const deadline = Date.now() + limitMs;
    while (!this.csrf) {
      if (Date.now() > deadline) throw new Error(`the prober could not sign in within ${limitMs} ms`);
      await sleep(20);
    }
  }

  /** The events, runs of the same one folded: "what ×n (+from…+to)". */
  eventSummary(t0: number): string {
    const runs: { what: string; from: number; to: number; n: number }[] = [];
    for (const e of this.events) {
      const last = runs.at(-1);
      if (last && last.what === e.what) {
        last.to = e.at;
        last.n++;
      } else runs.push({ what: e.what, from: e.at, to: e.at, n: 1 });
    }
    const s = (ms: number) => `+${(ms / 1000).toFixed(2)} s`;
    return runs.map((r) => (r.n === 1 ? `${s(r.from - t0)} ${r.what}` : `${s(r.from - t0)}…${s(r.to - t0)} ${r.what} ×${r.n}`)).join('; ');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  private async signIn(): Promise<void> {
    try {
      this.browser.clearCookies();
      const login = await this.browser.get('/login');
      const csrf = csrfOf(login.text);
      if (login.status !== 200 || !csrf) throw new Error(`GET /login gave ${login.status}`);
      const res = await this.browser.post('/login', { _csrf: csrf, email: this.o.email, password: this.o.password, next: '/tickets' });
      if (res.status !== 303) throw new Error(`POST /login gave ${res.status}`);
      const queue = await this.browser.get('/tickets');
      this.csrf = csrfOf(queue.text);
      this.events.push({ at: Date.now(), what: `signed in (${queue.status})` });
    } catch (err) {
      this.events.push({ at: Date.now(), what: `sign-in failed: ${(err as Error).message}` });
    }
  }

  private lostSession(why: string): void {
    this.csrf = null;
    this.events.push({ at: Date.now(), what: `session lost: ${why}` });
  }

  private async page(): Promise<Page> {
    const p = await this.browser.get('/tickets');
    if (p.status === 303 && p.location?.startsWith('/login')) this.lostSession('GET /tickets → /login');
    else if (p.status === 200) this.csrf = csrfOf(p.text) ?? this.csrf;
    return p;
  }

  private async create(): Promise<Page | null> {
    if (!this.csrf) return null; // the page loop signs in
    const title = `Probe ${this.o.runId}-p-${++this.n}: cannot reach the file share`;
    const { ledger } = this.o;
    ledger.sent.create++;
    let res: Page;
    try {
      res = await this.browser.post('/tickets', {
        _csrf: this.csrf,
        customerName: 'Probe customer',
        customerEmail: 'probe@faults.example',
        title,
        description: 'Logged by the prober while the database restarts.',
        urgency: 'HIGH',
        channel: 'PHONE',
      });
    } catch (err) {
      ledger.unanswered.create++;
      ledger.unansweredTitles.push(title);
      throw err;
    }
    const ref = /^\/tickets\/(CB-[0-9A-Z]+)$/.exec(res.status === 303 ? (res.location ?? '') : '')?.[1];
    if (ref) ledger.creates.push({ title, reference: ref, at: Date.now() });
    else if (res.status === 401 || res.status === 403) this.lostSession(`POST /tickets ${res.status}: ${errorPageOf(res.text)?.message ?? ''}`);
    else if (res.status >= 500) ledger.refusedByError.create++;
    return res;
  }

  private async loop(kind: ProbeKind, everyMs: number, probe: () => Promise<Page | null>): Promise<void> {
    while (!this.stopping) {
      const start = Date.now();
      try {
        if (kind === 'page' && !this.csrf) await this.signIn();
        const res = await probe();
        if (res) {
          const ok = kind === 'create' ? res.status === 303 : res.status === 200;
          const err = errorPageOf(res.text);
          const message = ok ? '' : err ? `${err.title}: ${err.message}` : res.text.trim().slice(0, 120);
          this.samples.push({ kind, start, end: Date.now(), status: res.status, ms: res.ms, message, ok });
        }
      } catch (err) {
        const reason = err instanceof NoAnswer ? err.reason : String(err);
        this.samples.push({ kind, start, end: Date.now(), status: 0, ms: Date.now() - start, message: `no answer: ${reason}`, ok: false });
      }
      await sleep(Math.max(0, everyMs - (Date.now() - start)));
    }
  }

  /**
   * Resolves when a page and a create have both succeeded at or after `since` (the moment the
   * database answered again), with how long after it; null for one that did not within the limit.
   */
  async waitRecovered(since: number, limitMs: number): Promise<{ page: number | null; create: number | null }> {
    const first = (kind: ProbeKind) => this.samples.find((s) => s.kind === kind && s.ok && s.end >= since);
    const deadline = since + limitMs;
    while (Date.now() < deadline && !(first('page') && first('create'))) await sleep(20);
    const at = (kind: ProbeKind) => {
      const s = first(kind);
      return s ? Math.max(0, s.end - since) : null;
    };
    return { page: at('page'), create: at('create') };
  }
}
