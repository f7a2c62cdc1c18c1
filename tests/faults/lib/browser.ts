// A minimal browser: fetch with a cookie jar, no redirects followed, a time limit on every request.

export interface Page {
  status: number;
  /** The Location header of a redirect, else null. */
  location: string | null;
  text: string;
  ms: number;
}

/** The request got no HTTP answer (refused, reset, timed out): its outcome is unknown. */
export class NoAnswer extends Error {
  constructor(
    readonly reason: string,
    readonly ms: number,
  ) {
    super(`no answer: ${reason}`);
  }
}

export class Browser {
  /** Every request sent by any Browser, and those that got an HTTP answer (for the report). */
  static readonly counts = { sent: 0, answered: 0 };
  private readonly jar = new Map<string, string>();

  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 10_000,
  ) {}

  clearCookies(): void {
    this.jar.clear();
  }

  /** The Cookie header this browser sends. */
  cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** The same browser at another address (another instance): the cookies go along. */
  at(baseUrl: string): Browser {
    const other = new Browser(baseUrl, this.timeoutMs);
    for (const [k, v] of this.jar) other.jar.set(k, v);
    return other;
  }

  async get(path: string): Promise<Page> {
    return this.request('GET', path);
  }

  async post(path: string, form: Record<string, string>): Promise<Page> {
    return this.request('POST', path, form);
  }

  async request(method: 'GET' | 'POST', path: string, form?: Record<string, string>): Promise<Page> {
    const began = Date.now();
    const headers: Record<string, string> = {};
    if (this.jar.size) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    let res: Response;
    let text: string;
    Browser.counts.sent++;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: form ? new URLSearchParams(form).toString() : undefined,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const reason = e.name === 'TimeoutError' ? `timeout after ${this.timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
      throw new NoAnswer(reason, Date.now() - began);
    }
    Browser.counts.answered++;
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k = '', v = ''] = a.split('=');
        const key = k.trim().toLowerCase();
        return (key === 'expires' && Date.parse(v) <= Date.now()) || (key === 'max-age' && Number(v) <= 0);
      });
      if (expired || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return { status: res.status, location: res.headers.get('location'), text, ms: Date.now() - began };
  }
}

/** The CSRF token in a page's forms. */
export function csrfOf(html: string): string | null {
  return /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? null;
}

/** The ticket version the page's forms carry. */
export function versionOf(html: string): number | null {
  const m = /name="version" value="(\d+)"/.exec(html);
  return m?.[1] ? Number(m[1]) : null;
}

/** The urgency selected in the ticket page's urgency form. */
export function urgencyOf(html: string): string | null {
  const select = /id="u-urgency"[\s\S]*?<\/select>/.exec(html)?.[0] ?? '';
  return /<option value="(\w+)" selected>/.exec(select)?.[1] ?? null;
}

/** Status, title and message of the app's error page (views/error.ejs), or null when it is not one. */
export function errorPageOf(html: string): { code: number; title: string; message: string } | null {
  const m = /<p class="code">Error (\d+)<\/p>\s*<h1[^>]*>([^<]*)<\/h1>\s*<p>([^<]*)<\/p>/.exec(html);
  if (!m) return null;
  return { code: Number(m[1]), title: m[2]!.trim(), message: m[3]!.trim() };
}
