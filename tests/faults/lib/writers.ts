// Technicians working through the web pages: sign in, log tickets, change their urgency, add
// work-log entries. Every request and every acknowledgement (a 303 to the ticket) goes in a ledger,
// checked against the database afterwards.
import { Browser, NoAnswer, csrfOf, errorPageOf, urgencyOf, versionOf, type Page } from './browser.js';

export interface CreateAck {
  title: string;
  reference: string;
  at: number;
}
export interface UrgencyAck {
  reference: string;
  /** The version the form was filled in from: the change made it fromVersion + 1. */
  fromVersion: number;
  urgency: string;
  at: number;
}
export interface WorklogAck {
  reference: string;
  body: string;
  at: number;
}
export interface ErrorAnswer {
  at: number;
  ms: number;
  status: number;
  method: string;
  path: string;
  message: string;
}

type Kind = 'create' | 'urgency' | 'worklog';

export class Ledger {
  readonly sent: Record<Kind, number> = { create: 0, urgency: 0, worklog: 0 };
  readonly creates: CreateAck[] = [];
  readonly urgencies: UrgencyAck[] = [];
  readonly worklogs: WorklogAck[] = [];
  /** Writes sent that got no HTTP answer (the app was killed, the connection reset): outcome unknown. */
  readonly unanswered: Record<Kind, number> = { create: 0, urgency: 0, worklog: 0 };
  /** Titles of creates with no answer, to see afterwards how many were committed anyway. */
  readonly unansweredTitles: string[] = [];
  /** Writes answered with a 5xx page. */
  readonly refusedByError: Record<Kind, number> = { create: 0, urgency: 0, worklog: 0 };
  readonly errorAnswers: ErrorAnswer[] = [];
  conflicts = 0;
  signIns = 0;
  /** Requests of any kind (pages too) that got no answer. */
  noAnswer = 0;
  readonly unexpected: string[] = [];

  get totalSent(): number {
    return this.sent.create + this.sent.urgency + this.sent.worklog;
  }
  get totalAcked(): number {
    return this.creates.length + this.urgencies.length + this.worklogs.length;
  }

  recordError(method: string, path: string, page: Page): void {
    const err = errorPageOf(page.text);
    let message = err ? `${err.title}: ${err.message}` : page.text.slice(0, 120).replace(/\s+/g, ' ');
    if (page.text.startsWith('{')) message = page.text.trim();
    this.errorAnswers.push({ at: Date.now(), ms: page.ms, status: page.status, method, path, message });
  }

  recordUnexpected(what: string): void {
    if (this.unexpected.length < 50) this.unexpected.push(what);
  }
}

export const URGENCIES = ['CRITICAL', 'HIGH', 'NORMAL', 'LOW', 'NONE'] as const;
const CHANNELS = ['PHONE', 'EMAIL', 'WEB', 'CHAT'] as const;

/** A small seeded PRNG (mulberry32): a run's choices can be replayed with its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class SignedOut extends Error {}
class ServerError extends Error {}

export interface WriterOptions {
  id: number;
  baseUrl: string;
  email: string;
  password: string;
  /** Unique per run: every title and note carries it. */
  runId: string;
  ledger: Ledger;
  rng: () => number;
  /** Share of creates among writes (the rest: urgency changes and notes on known tickets). */
  createShare?: number;
}

export class Writer {
  readonly browser: Browser;
  private n = 0;
  private stopping = false;
  private done: Promise<void> | null = null;

  constructor(private readonly o: WriterOptions) {
    this.browser = new Browser(o.baseUrl, 10_000);
  }

  start(): void {
    this.done = this.loop();
  }

  /** Finishes the request under way, then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.o.rng() * items.length)]!;
  }

  private async loop(): Promise<void> {
    const { ledger } = this.o;
    while (!this.stopping) {
      try {
        const r = this.o.rng();
        const known = ledger.creates;
        if (known.length < 4 || r < (this.o.createShare ?? 0.5)) await this.create();
        else if (r < 0.75) await this.changeUrgency(this.pick(known).reference);
        else await this.addNote(this.pick(known).reference);
      } catch (err) {
        if (err instanceof NoAnswer) {
          ledger.noAnswer++;
          await sleep(50 + this.o.rng() * 100);
        } else if (err instanceof ServerError) {
          await sleep(50 + this.o.rng() * 100);
        } else if (err instanceof SignedOut) {
          // signed in again at the next page
        } else {
          ledger.recordUnexpected(`writer ${this.o.id}: ${(err as Error).stack ?? String(err)}`);
          await sleep(100);
        }
      }
    }
  }

  private async signIn(): Promise<void> {
    const b = this.browser;
    b.clearCookies();
    const login = await b.get('/login');
    if (login.status >= 500) {
      this.o.ledger.recordError('GET', '/login', login);
      throw new ServerError();
    }
    const csrf = csrfOf(login.text);
    if (login.status !== 200 || !csrf) throw new Error(`GET /login gave ${login.status}`);
    const res = await b.post('/login', { _csrf: csrf, email: this.o.email, password: this.o.password, next: '/tickets' });
    if (res.status >= 500) {
      this.o.ledger.recordError('POST', '/login', res);
      throw new ServerError();
    }
    if (res.status !== 303) throw new Error(`POST /login gave ${res.status}: ${res.text.slice(0, 200)}`);
    this.o.ledger.signIns++;
  }

  /** A page of a signed-in technician (signing in first when sent to /login). */
  private async page(path: string): Promise<Page> {
    let p = await this.browser.get(path);
    if (p.status === 303 && p.location?.startsWith('/login')) {
      await this.signIn();
      p = await this.browser.get(path);
    }
    if (p.status >= 500) {
      this.o.ledger.recordError('GET', path, p);
      throw new ServerError();
    }
    if (p.status !== 200) throw new Error(`GET ${path} gave ${p.status}${p.location ? ` → ${p.location}` : ''}`);
    return p;
  }

  /** Sends a write: its answer when acknowledged (303), null when refused with a 409 (a stale form). */
  private async write(kind: Kind, path: string, form: Record<string, string>, onNoAnswer?: () => void): Promise<Page | null> {
    const { ledger } = this.o;
    ledger.sent[kind]++;
    let res: Page;
    try {
      res = await this.browser.post(path, form);
    } catch (err) {
      if (err instanceof NoAnswer) {
        ledger.unanswered[kind]++;
        onNoAnswer?.();
      }
      throw err;
    }
    if (res.status === 303) return res;
    if (res.status === 409) {
      ledger.conflicts++;
      return null;
    }
    if (res.status === 401 || res.status === 403) {
      // The session ended (or its CSRF token went with it): sign in again.
      this.browser.clearCookies();
      throw new SignedOut();
    }
    if (res.status >= 500) {
      ledger.refusedByError[kind]++;
      ledger.recordError('POST', path, res);
      throw new ServerError();
    }
    throw new Error(`POST ${path} gave ${res.status}: ${(errorPageOf(res.text)?.message ?? res.text).slice(0, 300)}`);
  }

  private marker(): string {
    return `${this.o.runId}-w${this.o.id}-${++this.n}`;
  }

  async create(): Promise<void> {
    const form = await this.page('/tickets/new');
    const csrf = csrfOf(form.text);
    if (!csrf) throw new Error('the new-ticket page has no CSRF token');
    const m = this.marker();
    const title = `Fault ${m}: printer offline after update`;
    const shared = this.o.rng() < 0.5;
    const customerEmail = shared ? `shared-${Math.floor(this.o.rng() * 12)}@faults.example` : `c-${m}@faults.example`;
    const res = await this.write(
      'create',
      '/tickets',
      {
        _csrf: csrf,
        customerName: shared ? `Shared customer ${customerEmail.split('@')[0]}` : `Customer ${m}`,
        customerEmail,
        title,
        description: `Logged by fault writer ${this.o.id}. The printer on floor 2 stays offline since this morning's update.`,
        urgency: this.pick(URGENCIES),
        channel: this.pick(CHANNELS),
      },
      () => this.o.ledger.unansweredTitles.push(title),
    );
    const ref = /^\/tickets\/(CB-[0-9A-Z]+)$/.exec(res?.location ?? '')?.[1];
    if (!res || !ref) throw new Error(`create answered ${res?.status} → ${res?.location}`);
    this.o.ledger.creates.push({ title, reference: ref, at: Date.now() });
  }

  async changeUrgency(reference: string): Promise<void> {
    const p = await this.page(`/tickets/${reference}`);
    const csrf = csrfOf(p.text);
    const version = versionOf(p.text);
    const current = urgencyOf(p.text);
    if (!csrf || version === null || !current) throw new Error(`ticket page ${reference} lacks its urgency form`);
    const urgency = this.pick(URGENCIES.filter((u) => u !== current));
    const res = await this.write('urgency', `/tickets/${reference}/urgency`, { _csrf: csrf, version: String(version), urgency });
    if (res) this.o.ledger.urgencies.push({ reference, fromVersion: version, urgency, at: Date.now() });
  }

  async addNote(reference: string): Promise<void> {
    const p = await this.page(`/tickets/${reference}`);
    const csrf = csrfOf(p.text);
    if (!csrf) throw new Error(`ticket page ${reference} has no CSRF token`);
    const body = `Note ${this.marker()}: power-cycled the printer, still offline.`;
    const res = await this.write('worklog', `/tickets/${reference}/worklog`, { _csrf: csrf, kind: 'NOTE', outcome: '', body });
    if (res) this.o.ledger.worklogs.push({ reference, body, at: Date.now() });
  }
}
