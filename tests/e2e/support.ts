// Shared helpers of the end-to-end suite: the app as `npm start` runs it (fresh embedded database),
// Chromium driven by playwright-core, an axe-core audit and a screenshot of every page a scenario
// visits, and the few user actions every scenario needs (sign in, create a user, log a ticket).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, appendFileSync, closeSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, request, type APIRequestContext, type Browser, type BrowserContext, type BrowserContextOptions, type Locator, type Page, type Response } from 'playwright-core';
import { expect } from 'vitest';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = join(REPO_ROOT, 'tests', 'e2e', 'artifacts');

/** What the global setup hands to every test file (vitest `provide`/`inject`). */
export interface E2eEnv {
  baseUrl: string;
  /** Where the app writes its mails (.eml files: no SMTP_URL), for the links customers get. */
  mailDir: string;
  /** The app's inbound SMTP listener (customers' mail comes in there). */
  inboundPort: number;
  admin: { name: string; email: string; password: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    e2e: E2eEnv;
  }
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

export const ADMIN = { name: 'Administrator', email: 'admin@caseboard.test', password: 'e2e-admin-password-1' };

/** Settings the app reads that must not leak from the environment the tests run in. */
const APP_SETTINGS = [
  'NODE_ENV', 'PORT', 'HOST', 'DATABASE_URL', 'DATABASE_POOL_SIZE', 'DATA_DIR', 'EMBEDDED_DB_PORT', 'SESSION_SECRET',
  'SESSION_TTL_HOURS', 'COOKIE_SECURE', 'TRUST_PROXY', 'LOGIN_MAX_ATTEMPTS', 'LOGIN_WINDOW_MINUTES',
  'PASSWORD_COST_LOG2', 'ADMIN_EMAIL', 'ADMIN_PASSWORD', 'ADMIN_NAME',
];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningServer {
  baseUrl: string;
  mailDir: string;
  inboundPort: number;
  logFile: string;
  /** Stops the process group; returns why the app had already exited on its own, if it had. */
  stop(): Promise<string | null>;
}

function tail(file: string, lines = 40): string {
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/**
 * Starts the app exactly as `npm start` does, in its own process group, on a fresh embedded
 * database in a temporary DATA_DIR, and waits for /health. stop() ends the whole group.
 */
export async function startServer(): Promise<RunningServer> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'caseboard-e2e-'));
  const port = await freePort();
  const inboundPort = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  // As `npm start` on a server: none of vitest's own variables (under VITEST the logger is silent,
  // and the wait below reads the "listening on" line).
  for (const key of Object.keys(env)) if (APP_SETTINGS.includes(key) || key.startsWith('MAIL_') || key.startsWith('VITEST')) delete env[key];
  Object.assign(env, {
    PORT: String(port),
    DATA_DIR: dataDir,
    ADMIN_NAME: ADMIN.name,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    PASSWORD_COST_LOG2: '14', // the cheapest accepted scrypt cost: sign-ins stay fast
    INBOUND_SMTP_PORT: String(inboundPort),
  });
  const logFile = join(ARTIFACTS, 'server.log');
  const log = openSync(logFile, 'w');
  const child: ChildProcess = spawn('npm', ['start'], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  let exited: number | string | null = null;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = code ?? signal ?? 'unknown';
      resolve();
    }),
  );
  const pgid = child.pid!;
  const baseUrl = `http://127.0.0.1:${port}`;

  const stop = async (): Promise<string | null> => {
    const died = exited === null ? null : `The app exited on its own (${exited}) during the run. The end of its output:\n${tail(logFile)}`;
    if (exited === null) {
      try {
        process.kill(-pgid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 10_000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
    return died;
  };

  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited !== null) {
      await stop();
      throw new Error(`The app exited (${exited}) before answering /health. Its output:\n${tail(logFile, 80)}`);
    }
    // Only our own child counts: make sure the answer is not from someone else on that port.
    const ours = readFileSync(logFile, 'utf8').includes(`listening on http://localhost:${port}`);
    if (ours) {
      try {
        const res = await fetch(`${baseUrl}/health`);
        if (res.ok && ((await res.json()) as { status?: string }).status === 'ok') break;
      } catch {
        /* not yet */
      }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`The app did not answer /health within 120 s. Its output:\n${tail(logFile, 80)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { baseUrl, mailDir: join(dataDir, 'mail'), inboundPort, logFile, stop };
}

// ---------------------------------------------------------------------------------------------
// The browser
// ---------------------------------------------------------------------------------------------

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's Chromium with the flags that work here; playwright gives each launch a fresh, temporary user-data-dir. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH).`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 60_000 });
}

/**
 * A context as users get it: the app's own Content-Security-Policy stays on (no bypassCSP), so a
 * script the policy blocks shows up as a console error, which the audit reports.
 */
export async function newContext(browser: Browser, baseUrl: string, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1280, height: 900 }, locale: 'en-GB', ...options });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(30_000);
  return context;
}

// ---------------------------------------------------------------------------------------------
// Accessibility audit (axe-core) and screenshots
// ---------------------------------------------------------------------------------------------

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: { target: string[]; html: string; failureSummary: string }[];
}

const BLOCKING = new Set(['serious', 'critical']);

/**
 * Runs axe-core on the page as it is. The source is evaluated through the DevTools protocol
 * (page.evaluate), which the page's CSP does not govern, so no inline script is needed.
 */
export async function runAxe(page: Page): Promise<AxeViolation[]> {
  const loaded = await page.evaluate('typeof window.axe === "object"');
  if (!loaded) await page.evaluate(axeSource);
  return (await page.evaluate(`
    axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.map(String), html: n.html, failureSummary: n.failureSummary || '' })),
    })))
  `)) as AxeViolation[];
}

export function formatViolations(where: string, violations: AxeViolation[]): string {
  const lines = [`Accessibility violations on ${where}:`];
  for (const v of violations) {
    lines.push(`  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})`);
    for (const n of v.nodes.slice(0, 5)) {
      lines.push(`      at ${n.target.join(' ')}`);
      lines.push(`         ${n.html.replace(/\s+/g, ' ').slice(0, 200)}`);
      for (const s of n.failureSummary.split('\n').filter(Boolean).slice(0, 4)) lines.push(`         ${s.trim()}`);
    }
    if (v.nodes.length > 5) lines.push(`      … and ${v.nodes.length - 5} more`);
  }
  return lines.join('\n');
}

/** Audits the page: no serious or critical axe violation (all of them, blocking or not, go to artifacts/axe-findings.jsonl). */
export async function expectAccessible(page: Page, where: string, record = true): Promise<void> {
  const violations = await runAxe(page);
  if (violations.length && record) {
    appendFileSync(join(ARTIFACTS, 'axe-findings.jsonl'), JSON.stringify({ where, url: page.url(), violations }) + '\n');
  }
  const blocking = violations.filter((v) => BLOCKING.has(String(v.impact)));
  if (blocking.length) throw new Error(formatViolations(`${where} (${page.url()})`, blocking));
}

export function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${slug(name)}.png`), fullPage: true });
}

/**
 * One scenario's bookkeeping. Every page a scenario's browser loads must be passed through
 * check() (axe audit + screenshot): finish() fails if a loaded page was never audited, or if a
 * page logged a console error (a script blocked by the CSP, a missing stylesheet, a JS error).
 */
export class Scenario {
  private step = 0;
  private readonly pending = new Map<Page, string[]>();
  private readonly missed: string[] = [];
  private readonly consoleErrors: string[] = [];

  constructor(readonly name: string) {}

  /** A new tab in the context, tracked by this scenario. */
  async open(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    this.pending.set(page, []);
    page.on('load', () => this.pending.get(page)?.push(page.url()));
    page.on('pageerror', (err) => this.consoleErrors.push(`${page.url()}: uncaught ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      // A page served with an error status (404, 409, 422) logs its own "failed to load": expected here.
      if (/Failed to load resource/.test(msg.text()) && msg.location().url === page.url()) return;
      this.consoleErrors.push(`${page.url()}: ${msg.text()}`);
    });
    return page;
  }

  /** Audits the page just loaded and saves artifacts/`<scenario>-NN-<step>.png`. */
  async check(page: Page, step: string): Promise<void> {
    await page.waitForLoadState('load');
    const loads = this.pending.get(page) ?? [];
    // Every load before the current one went by without an audit.
    this.missed.push(...loads.slice(0, -1));
    this.pending.set(page, []);
    this.step += 1;
    const label = `${this.name}--${String(this.step).padStart(2, '0')}-${step}`;
    const t0 = Date.now();
    await screenshot(page, label);
    const t1 = Date.now();
    await expectAccessible(page, `${this.name} / ${step}`);
    if (process.env.E2E_TIMING) console.log(`[e2e] ${label}: screenshot ${t1 - t0} ms, axe ${Date.now() - t1} ms`);
  }

  finish(): void {
    for (const loads of this.pending.values()) this.missed.push(...loads);
    expect(this.missed, 'pages loaded but never audited with axe').toEqual([]);
    expect(this.consoleErrors, 'console errors').toEqual([]);
  }
}

// ---------------------------------------------------------------------------------------------
// Navigation and reading the page
// ---------------------------------------------------------------------------------------------

/** Says what page a browser is on: its address, heading and alert, for failure messages. */
async function describePage(page: Page): Promise<string> {
  const grab = async (selector: string) =>
    ((await page.locator(selector).first().textContent({ timeout: 1000 }).catch(() => null)) ?? '').replace(/\s+/g, ' ').trim();
  return `${page.url()} (h1: "${await grab('h1')}", alert: "${await grab('[role=alert]')}")`;
}

async function expectStatus(page: Page, res: Response, expected: number | null): Promise<Response> {
  if (expected !== null && res.status() !== expected) {
    throw new Error(`Expected a ${expected} page, got ${res.status()} at ${await describePage(page)}`);
  }
  return res;
}

/**
 * Does something that loads a new page (a click on a link or a submit button), waits for it to
 * load, checks the final document's status (after redirects; null: any) and returns its response.
 */
export async function navigate(page: Page, action: () => Promise<unknown>, expected: number | null = 200): Promise<Response> {
  const response = page.waitForResponse(
    (r) => r.request().isNavigationRequest() && r.frame() === page.mainFrame() && (r.status() < 300 || r.status() >= 400),
  );
  const loaded = page.waitForEvent('load');
  await action();
  const [res] = await Promise.all([response, loaded]);
  return expectStatus(page, res, expected);
}

export async function goto(page: Page, path: string, expected: number | null = 200): Promise<Response> {
  const res = await page.goto(path);
  if (!res) throw new Error(`No response for ${path}`);
  return expectStatus(page, res, expected);
}

/** Text of a locator with its white space collapsed. */
export async function text(locator: Locator): Promise<string> {
  return ((await locator.innerText()) ?? '').replace(/\s+/g, ' ').trim();
}

// ---------------------------------------------------------------------------------------------
// What users do
// ---------------------------------------------------------------------------------------------

export interface Person {
  name: string;
  email: string;
  password: string;
}

/** Signs in through the form; returns the response of the page it lands on. */
export async function signIn(page: Page, person: Pick<Person, 'email' | 'password'>, check?: (step: string) => Promise<void>): Promise<Response> {
  await goto(page, '/login');
  if (check) await check('sign-in');
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password').fill(person.password);
  return navigate(page, () => page.getByRole('button', { name: 'Sign in' }).click());
}

export interface NewTicket {
  customerName: string;
  customerEmail: string;
  customerPhone?: string;
  title: string;
  description: string;
  urgency?: 'Critical' | 'High' | 'Normal' | 'Low' | 'None';
  channel?: 'Phone' | 'Email' | 'Web form' | 'Chat';
}

/** Fills and sends the new-ticket form on the page (which must be /tickets/new); returns the reference. */
export async function fillNewTicket(page: Page, t: NewTicket): Promise<string> {
  const customer = page.getByRole('group', { name: 'Customer' });
  await customer.getByLabel('Name').fill(t.customerName);
  await customer.getByLabel('Email').fill(t.customerEmail);
  if (t.customerPhone) await customer.getByLabel('Phone').fill(t.customerPhone);
  const problem = page.getByRole('group', { name: 'Problem' });
  await problem.getByLabel('Title').fill(t.title);
  await problem.getByLabel('Description').fill(t.description);
  await problem.getByLabel('Urgency').selectOption({ label: t.urgency ?? 'Normal' });
  await problem.getByLabel('Reported via').selectOption({ label: t.channel ?? 'Phone' });
  await navigate(page, () => page.getByRole('button', { name: 'Create ticket' }).click());
  const reference = /^\/tickets\/(CB-[0-9A-Z]{7})$/.exec(new URL(page.url()).pathname)?.[1];
  if (!reference) throw new Error(`Creating a ticket did not lead to its page (at ${page.url()})`);
  return reference;
}

// Setting the scene: users and tickets a scenario needs are made over HTTP, through the same
// forms (CSRF token included) but without rendering them in the browser, which is much quicker.

const URGENCY_VALUE: Record<NonNullable<NewTicket['urgency']>, string> = {
  Critical: 'CRITICAL', High: 'HIGH', Normal: 'NORMAL', Low: 'LOW', None: 'NONE',
};
const CHANNEL_VALUE: Record<NonNullable<NewTicket['channel']>, string> = { Phone: 'PHONE', Email: 'EMAIL', 'Web form': 'WEB', Chat: 'CHAT' };

/** A signed-in HTTP session that sends the app's forms. */
export class FormSession {
  private constructor(private readonly api: APIRequestContext) {}

  static async signIn(baseUrl: string, person: Pick<Person, 'email' | 'password'>): Promise<FormSession> {
    const session = new FormSession(await request.newContext({ baseURL: baseUrl }));
    const location = await session.post('/login', '/login', { email: person.email, password: person.password, next: '/tickets' });
    if (location !== '/tickets') throw new Error(`Signing in ${person.email} over HTTP led to ${location}`);
    return session;
  }

  /** Sends the form at `action` with the CSRF token of the page `formPage`; returns where it redirects. */
  async post(formPage: string, action: string, fields: Record<string, string>): Promise<string> {
    const html = await (await this.api.get(formPage)).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    if (!csrf) throw new Error(`No CSRF token on ${formPage}`);
    const res = await this.api.post(action, { form: { _csrf: csrf, ...fields }, maxRedirects: 0 });
    const location = res.headers()['location'];
    if (res.status() !== 303 || !location) {
      throw new Error(`POST ${action} answered ${res.status()} instead of a redirect:\n${(await res.text()).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 500)}`);
    }
    return location;
  }

  async createUser(person: Person & { role?: 'Technician' | 'Admin' }): Promise<number> {
    const location = await this.post('/admin/users/new', '/admin/users', {
      name: person.name,
      email: person.email,
      role: person.role === 'Admin' ? 'ADMIN' : 'TECHNICIAN',
      password: person.password,
    });
    const id = /^\/admin\/users\/(\d+)(?:\?done=user-created)?$/.exec(location)?.[1];
    if (!id) throw new Error(`Creating ${person.email} led to ${location}`);
    return Number(id);
  }

  async createTicket(t: NewTicket): Promise<string> {
    const location = await this.post('/tickets/new', '/tickets', {
      customerName: t.customerName,
      customerEmail: t.customerEmail,
      customerPhone: t.customerPhone ?? '',
      title: t.title,
      description: t.description,
      urgency: URGENCY_VALUE[t.urgency ?? 'Normal'],
      channel: CHANNEL_VALUE[t.channel ?? 'Phone'],
    });
    const reference = /^\/tickets\/(CB-[0-9A-Z]{7})$/.exec(location)?.[1];
    if (!reference) throw new Error(`Creating a ticket led to ${location}`);
    return reference;
  }

  async close(): Promise<void> {
    await this.api.dispose();
  }
}

/** The admin creates these users (Admin → Users → New user). */
export async function createUsers(baseUrl: string, people: (Person & { role?: 'Technician' | 'Admin' })[]): Promise<number[]> {
  const admin = await FormSession.signIn(baseUrl, ADMIN);
  try {
    const ids: number[] = [];
    for (const person of people) ids.push(await admin.createUser(person));
    return ids;
  } finally {
    await admin.close();
  }
}

/** `person` logs a ticket; returns its reference. */
export async function createTicket(baseUrl: string, person: Pick<Person, 'email' | 'password'>, t: NewTicket): Promise<string> {
  const session = await FormSession.signIn(baseUrl, person);
  try {
    return await session.createTicket(t);
  } finally {
    await session.close();
  }
}

/** Elements wider than the viewport (for a readable overflow failure). */
export async function horizontalOverflow(page: Page): Promise<{ viewport: number; scrollWidth: number; culprits: string[] }> {
  return (await page.evaluate(`(() => {
    const root = document.documentElement;
    const viewport = root.clientWidth;
    const culprits = [];
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > viewport + 1) {
        const desc = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
        culprits.push(desc + ' [' + Math.round(r.left) + '..' + Math.round(r.right) + ']');
      }
    }
    return { viewport, scrollWidth: Math.max(root.scrollWidth, document.body.scrollWidth), culprits: culprits.slice(0, 10) };
  })()`)) as { viewport: number; scrollWidth: number; culprits: string[] };
}

/** The page is no wider than the screen: no sideways scrolling (measured against the viewport the context was given). */
export async function expectNoHorizontalOverflow(page: Page, where: string): Promise<void> {
  const o = await horizontalOverflow(page);
  const screen = Math.min(o.viewport, page.viewportSize()?.width ?? o.viewport);
  expect(o.scrollWidth, `${where}: the page is ${o.scrollWidth}px wide on a ${screen}px screen; too wide: ${o.culprits.join(', ')}`).toBeLessThanOrEqual(screen);
}

export interface FocusState {
  tag: string;
  id: string;
  name: string;
  outline: string;
  visible: boolean;
  inMain: boolean;
}

/** The focused element and whether it shows a focus indicator (an outline of 2px or more, or a box shadow). */
export async function focused(page: Page): Promise<FocusState> {
  return (await page.evaluate(`(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { tag: 'body', id: '', name: '', outline: '', visible: false, inMain: false };
    const s = getComputedStyle(el);
    const width = parseFloat(s.outlineWidth) || 0;
    const outline = s.outlineStyle !== 'none' && width >= 2 && s.outlineColor !== 'transparent';
    const shadow = s.boxShadow && s.boxShadow !== 'none';
    const r = el.getBoundingClientRect();
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id,
      name: (el.getAttribute('aria-label') || el.innerText || el.value || '').replace(/\\s+/g, ' ').trim().slice(0, 80),
      outline: s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.outlineColor,
      visible: Boolean((outline || shadow) && r.width > 0 && r.height > 0),
      inMain: Boolean(el.closest('main')),
    };
  })()`)) as FocusState;
}

/**
 * Presses Tab until `match` accepts the focused element, checking on the way that every element
 * reached shows where the focus is. Fails after `max` presses.
 */
export async function tabTo(page: Page, match: (f: FocusState) => boolean, max = 60): Promise<FocusState> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    seen.push(`${f.tag}${f.id ? '#' + f.id : ''} "${f.name}"`);
    expect(f.visible, `focus indicator on ${seen.at(-1)} (outline: ${f.outline})`).toBe(true);
    if (match(f)) return f;
  }
  throw new Error(`Tab never reached the element after ${max} presses. Visited: ${seen.join(' → ')}`);
}
