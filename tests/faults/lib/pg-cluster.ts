// A PostgreSQL 15 cluster of the test's own (initdb into a temp directory, its own port, trust
// auth), so that the test can stop, crash and restart it without touching the machine's shared
// server. initdb and postgres refuse to run as root: as root, they run as the `postgres` OS user.
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const PG_BIN = process.env.FAULTS_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const OS_USER = 'postgres';

export type StopMode = 'fast' | 'immediate';

/** A free TCP port on loopback (for the cluster and the app). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class PgCluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly asRoot: boolean,
  ) {}

  get dataDir(): string {
    return join(this.dir, 'data');
  }
  get logFile(): string {
    return join(this.dir, 'postgres.log');
  }

  url(database: string): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** initdb into a fresh temp directory (owned by `postgres` when we are root) and start it. */
  static async create(): Promise<PgCluster> {
    if (!existsSync(join(PG_BIN, 'initdb'))) {
      throw new Error(
        `PostgreSQL 15 server binaries not found in ${PG_BIN} (apt-get install -y postgresql-15, or set FAULTS_PG_BIN).`,
      );
    }
    const asRoot = process.getuid?.() === 0;
    const dir = mkdtempSync(join(tmpdir(), 'caseboard-faults-pg-'));
    const cluster = new PgCluster(dir, await freePort(), asRoot);
    try {
      if (asRoot) {
        const uid = Number(execFileSync('id', ['-u', OS_USER]).toString().trim());
        const gid = Number(execFileSync('id', ['-g', OS_USER]).toString().trim());
        chownSync(dir, uid, gid);
      }
      await cluster.run('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
      await cluster.start();
      return cluster;
    } catch (err) {
      cluster.destroySync();
      throw err;
    }
  }

  /** Runs a PostgreSQL binary as the cluster's OS user. */
  private run(bin: string, args: string[], timeoutMs = 60_000): Promise<string> {
    const [cmd, argv] = this.asRoot
      ? ['runuser', ['-u', OS_USER, '--', join(PG_BIN, bin), ...args]]
      : [join(PG_BIN, bin), args];
    return new Promise((resolve, reject) => {
      execFile(cmd, argv, { cwd: this.dir, timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${bin} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
        else resolve(stdout + stderr);
      });
    });
  }

  /**
   * Starts the server and resolves with the moment (Date.now()) it first answered a query: the
   * test's own poll every 20 ms, more precise than `pg_ctl -w`'s.
   */
  async start(timeoutMs = 30_000): Promise<number> {
    const opts = [
      `-p ${this.port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${this.dir}`,
      '-c max_connections=60',
      '-c shared_buffers=32MB',
      '-c log_min_messages=warning',
    ].join(' ');
    await this.run('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-o', opts, '-W', 'start']);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await this.answers()) return Date.now();
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not start within ${timeoutMs} ms:\n${this.logTail()}`);
      await sleep(20);
    }
  }

  /** `pg_ctl stop -m fast` (clean shutdown) or `-m immediate` (a crash: WAL recovery at the next start). */
  async stop(mode: StopMode): Promise<void> {
    await this.run('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '30', 'stop']);
  }

  async answers(): Promise<boolean> {
    const c = new pg.Client({ connectionString: this.url('postgres'), connectionTimeoutMillis: 1000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  async createDatabase(name: string): Promise<string> {
    const c = new pg.Client({ connectionString: this.url('postgres') });
    await c.connect();
    try {
      await c.query(`CREATE DATABASE "${name}"`);
    } finally {
      await c.end();
    }
    return this.url(name);
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no PostgreSQL log)';
    }
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Stops the server (immediately) and removes the directory; safe to call more than once. */
  destroySync(): void {
    if (!existsSync(this.dir)) return;
    const pidFile = join(this.dataDir, 'postmaster.pid');
    if (existsSync(pidFile)) {
      try {
        const args = ['-D', this.dataDir, '-m', 'immediate', '-w', '-t', '20', 'stop'];
        if (this.asRoot) execFileSync('runuser', ['-u', OS_USER, '--', join(PG_BIN, 'pg_ctl'), ...args], { stdio: 'ignore', cwd: this.dir });
        else execFileSync(join(PG_BIN, 'pg_ctl'), args, { stdio: 'ignore', cwd: this.dir });
      } catch {
        // pg_ctl failed: kill the postmaster named in its pid file.
        try {
          const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
          if (pid > 0) process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  describe(): string {
    return `PostgreSQL 15 cluster in ${this.dir} on 127.0.0.1:${this.port} (run as ${this.asRoot ? OS_USER : userInfo().username})`;
  }
}
