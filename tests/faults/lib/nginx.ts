// Debian's nginx (`apt-get install -y nginx`) as the load balancer in front of app instances: its
// own config, pid, logs and temp files in a temp directory, on a loopback port of its own, in the
// foreground (`daemon off`), stopped by the test. The machine's own nginx service is not touched.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NGINX_BIN = process.env.FAULTS_NGINX_BIN ?? '/usr/sbin/nginx';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One access-log line: the status the client got and every upstream nginx tried for it. */
export interface AccessLine {
  method: string;
  uri: string;
  status: number;
  /** "127.0.0.1:A" or, after a retry, "127.0.0.1:A, 127.0.0.1:B". */
  upstreams: string[];
  upstreamStatuses: string[];
}

export class Nginx {
  private child: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), 'caseboard-nginx-'));

  constructor(
    readonly port: number,
    private readonly upstreams: readonly number[],
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get accessLog(): string {
    return join(this.dir, 'access.log');
  }
  get errorLog(): string {
    return join(this.dir, 'error.log');
  }

  /**
   * The proxy: round robin over the instances; a request that could not be passed on (connection
   * refused, reset, timed out) or got a 502/503 goes to the next instance, at most once more.
   * POST is retried only when it never reached an instance (nginx's default without
   * `non_idempotent`): a POST cut off after it was sent may have been committed, and a help desk
   * would then log the ticket twice. The client gets a 502 instead (outcome unknown; the REST API
   * has Idempotency-Key for retrying such a create safely).
   */
  config(): string {
    const d = this.dir;
    return `
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
events { worker_connections 512; }
http {
  log_format scale '$request_method $request_uri $status "$upstream_addr" "$upstream_status"';
  access_log ${d}/access.log scale;
  client_body_temp_path ${d}/client_body;
  proxy_temp_path ${d}/proxy;
  fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi;
  scgi_temp_path ${d}/scgi;

  upstream caseboard {
${this.upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${this.port};
    location / {
      proxy_pass http://caseboard;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 2;
      proxy_connect_timeout 2s;
      proxy_read_timeout 60s;
      proxy_buffering off;
      add_header X-Upstream $upstream_addr always;
    }
  }
}
`;
  }

  async start(timeoutMs = 10_000): Promise<void> {
    for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(this.dir, t), { recursive: true });
    const file = join(this.dir, 'nginx.conf');
    writeFileSync(file, this.config());
    const child = spawn(NGINX_BIN, ['-c', file, '-p', this.dir, '-e', this.errorLog, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    this.child = child;
    child.on('exit', () => {
      if (this.child === child) this.child = null;
    });
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (!this.child) throw new Error(`nginx exited at start: ${stderr}${existsSync(this.errorLog) ? readFileSync(this.errorLog, 'utf8') : ''}`);
      try {
        const res = await fetch(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    throw new Error(`nginx did not answer within ${timeoutMs} ms: ${stderr}`);
  }

  accessLines(): AccessLine[] {
    if (!existsSync(this.accessLog)) return [];
    return readFileSync(this.accessLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const m = /^(\S+) (\S+) (\d+) "([^"]*)" "([^"]*)"$/.exec(line);
        if (!m) return null;
        return {
          method: m[1]!,
          uri: m[2]!,
          status: Number(m[3]),
          upstreams: m[4]!.split(', ').filter((u) => u && u !== '-'),
          upstreamStatuses: m[5]!.split(', ').filter((s) => s && s !== '-'),
        };
      })
      .filter((l): l is AccessLine => l !== null);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child?.pid) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGQUIT');
      await Promise.race([exited, sleep(5000).then(() => child.kill('SIGKILL'))]);
    }
    this.child = null;
  }

  /** For exit handlers: no waiting. */
  killSync(): void {
    if (this.child?.pid) this.child.kill('SIGKILL');
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
