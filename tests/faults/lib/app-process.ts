// The app as `npm start` runs it (`tsx src/server.ts`), here `node --import tsx src/server.ts`:
// one Node process, in a process group of its own so that a kill reaches everything it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';

export interface AppOptions {
  /** The repository: the app's cwd. */
  root: string;
  port: number;
  databaseUrl: string;
  dataDir: string;
  adminEmail: string;
  adminPassword: string;
  /** Everything the app prints, all its lives one after the other. */
  logFile: string;
  /** More settings for the app (e.g. short webhook backoff for a test). */
  extraEnv?: Record<string, string>;
}

export interface Exit {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Killed by the test (SIGKILL or stop()), not on its own. */
  expected: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const isOutsideSignal = (e: Exit) => e.signal === 'SIGTERM' || e.signal === 'SIGINT' || e.signal === 'SIGHUP';

export class AppProcess {
  private child: ChildProcess | null = null;
  private expectingExit = false;
  readonly exits: Exit[] = [];
  starts = 0;

  constructor(private readonly opts: AppOptions) {
    writeFileSync(opts.logFile, '');
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.opts.port}`;
  }
  get pid(): number | null {
    return this.child?.pid ?? null;
  }
  get running(): boolean {
    return this.child !== null;
  }
  /** Exits the test did not cause, other than by a signal from outside: crashes. */
  get crashes(): Exit[] {
    return this.exits.filter((e) => !e.expected && !isOutsideSignal(e));
  }
  /** Ended by SIGTERM/SIGINT/SIGHUP that the test did not send (another process on a shared machine). */
  get terminatedFromOutside(): Exit[] {
    return this.exits.filter((e) => !e.expected && isOutsideSignal(e));
  }

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    // The test runner's own variables (NODE_ENV=test, VITEST...) are not the app's.
    for (const [k, v] of Object.entries(process.env)) {
      if (!/^(VITEST|NODE_ENV$|NODE_OPTIONS$|DATABASE_|PORT$|HOST$|DATA_DIR$|ADMIN_|SESSION_|LOGIN_|PASSWORD_)/.test(k)) env[k] = v;
    }
    return {
      ...env,
      NODE_ENV: 'production',
      PORT: String(this.opts.port),
      HOST: '127.0.0.1',
      DATABASE_URL: this.opts.databaseUrl,
      DATA_DIR: this.opts.dataDir,
      ADMIN_EMAIL: this.opts.adminEmail,
      ADMIN_PASSWORD: this.opts.adminPassword,
      PASSWORD_COST_LOG2: '14',
      // Fixed, so that sessions (kept in PostgreSQL) stay valid across restarts, as in production.
      SESSION_SECRET: 'faults-test-session-secret-0123456789abcdef',
      // Sign-ins that fail while the database is away must not lock the writers out.
      LOGIN_MAX_ATTEMPTS: '1000',
      ...this.opts.extraEnv,
    };
  }

  /**
   * Starts the server and resolves with the milliseconds until /health answered ok. A start cut
   * short by a signal from outside the test (a shared machine's other jobs) is tried once more;
   * an exit of its own (a crash) fails at once.
   */
  async start(timeoutMs = 45_000): Promise<number> {
    try {
      return await this.startOnce(timeoutMs);
    } catch (err) {
      const last = this.exits.at(-1);
      if (this.child || !last || last.expected || !isOutsideSignal(last)) throw err;
      appendFileSync(this.opts.logFile, `===== pid ${last.pid} got ${last.signal} from outside the test: starting again\n`);
      return this.startOnce(timeoutMs);
    }
  }

  private async startOnce(timeoutMs: number): Promise<number> {
    if (this.child) throw new Error('app already running');
    const began = Date.now();
    this.starts++;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: this.opts.root,
      env: this.env(),
      detached: true, // its own process group
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.expectingExit = false;
    const pid = child.pid!;
    appendFileSync(this.opts.logFile, `\n===== start #${this.starts} pid ${pid} at ${new Date().toISOString()}\n`);
    const log = (chunk: Buffer) => appendFileSync(this.opts.logFile, chunk);
    child.stdout!.on('data', log);
    child.stderr!.on('data', log);
    child.on('exit', (code, signal) => {
      this.exits.push({ pid, code, signal, expected: this.expectingExit });
      appendFileSync(this.opts.logFile, `===== pid ${pid} exited (code ${code}, signal ${signal})\n`);
      if (this.child === child) this.child = null;
    });

    const deadline = began + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child !== child) {
        const exit = this.exits.at(-1);
        throw new Error(`the app exited during start-up (code ${exit?.code}, signal ${exit?.signal}); see ${this.opts.logFile}`);
      }
      try {
        const res = await fetch(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return Date.now() - began;
        await res.body?.cancel();
      } catch {
        // not listening yet
      }
      await sleep(25);
    }
    throw new Error(`the app did not answer /health within ${timeoutMs} ms; see ${this.opts.logFile}`);
  }

  private async killGroup(signal: NodeJS.Signals, waitMs: number): Promise<boolean> {
    const child = this.child;
    if (!child?.pid) return true;
    this.expectingExit = true;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is already gone
    }
    return Promise.race([exited.then(() => true), sleep(waitMs).then(() => false)]);
  }

  /** SIGKILL to the whole process group: no shutdown code runs, in-flight requests are cut. */
  async kill9(): Promise<void> {
    if (!(await this.killGroup('SIGKILL', 10_000))) throw new Error('the app survived SIGKILL');
  }

  /** SIGTERM (graceful), then SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (!(await this.killGroup('SIGTERM', 5_000))) await this.kill9();
  }

  /** The app's last words before its latest unexpected exit (for the report). */
  deathNote(lines = 16): string | null {
    const exit = this.exits.findLast((e) => !e.expected);
    if (!exit) return null;
    const log = readFileSync(this.opts.logFile, 'utf8');
    const end = log.indexOf(`===== pid ${exit.pid} exited`);
    const before = log.slice(0, end < 0 ? undefined : end).split('\n').filter((l) => l.trim() && !/node:internal|^\s+at .*node_modules\/pg(-pool)?\//.test(l));
    return [`pid ${exit.pid} exited with code ${exit.code}, signal ${exit.signal}; its last output:`, ...before.slice(-lines)].join('\n');
  }

  /** For process exit handlers: no waiting. */
  killSync(): void {
    if (this.child?.pid) {
      this.expectingExit = true;
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}
