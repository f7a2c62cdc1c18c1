// Every route of the app, read from the Express 5 router itself, so that a route added to the app
// is seen by the security tests (authorization matrix, CSRF) without anyone having to list it.
//
// How: `app.router` (Express 5) is a `router` 2.x Router. Its `stack` holds one Layer per
// app.use()/app.METHOD() call. A route's layer has `.route` (with `.methods`); a mounted router's
// layer has `.handle.stack`. Since router 2.3.0 every layer keeps the path it was registered
// with as `layer.rawPath` (string, RegExp or array; 2.0–2.2 kept only a compiled matcher, so the
// mount path of `app.use('/tickets', router)` could not be read back). The same field backs the
// public `router.listRoutes()` added in 2.3.0. If a layer has no readable path, enumeration throws
// instead of silently skipping routes.
import type { Express } from 'express';

export interface AppRoute {
  /** Upper-case HTTP method ('GET', 'POST', …; 'ALL' for router.all()). HEAD is implied by GET. */
  method: string;
  /** Express path pattern, mount paths joined: '/tickets/:reference/status'. */
  path: string;
}

/** Path-bearing middleware that is neither a route nor a router (express.static, a mounted sub-app). */
export interface OpaqueMount {
  path: string;
  name: string;
}

interface LayerLike {
  name: string;
  rawPath?: unknown;
  route?: { methods: Record<string, boolean> };
  handle: { stack?: LayerLike[] };
}

function joinPath(base: string, path: string): string {
  const joined = `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  return joined.length > 1 ? joined.replace(/\/+$/, '') : '/';
}

function pathsOf(layer: LayerLike, where: string): string[] {
  const raw = layer.rawPath;
  const list = Array.isArray(raw) ? (raw as unknown[]).flat(Infinity) : [raw];
  return list.map((p) => {
    if (typeof p !== 'string') {
      throw new Error(
        `Cannot enumerate routes: layer "${layer.name}" under "${where}" has path ${String(p)} ` +
          '(not a string: a RegExp path, or a router version that does not keep layer.rawPath). ' +
          'Extend tests/security/routes.ts for it.',
      );
    }
    return p;
  });
}

function walk(stack: LayerLike[], base: string, routes: AppRoute[], opaque: OpaqueMount[]): void {
  const routerPaths = new Set<string>();
  for (const layer of stack) {
    if (Array.isArray(layer.handle?.stack)) for (const p of pathsOf(layer, base)) routerPaths.add(p);
  }
  for (const layer of stack) {
    if (layer.route) {
      const methods = Object.keys(layer.route.methods).map((m) => (m === '_all' ? 'ALL' : m.toUpperCase()));
      for (const p of pathsOf(layer, base)) {
        for (const method of methods) {
          if (method === 'HEAD' && methods.includes('GET')) continue;
          routes.push({ method, path: joinPath(base, p) });
        }
      }
    } else if (Array.isArray(layer.handle?.stack)) {
      for (const p of pathsOf(layer, base)) walk(layer.handle.stack, joinPath(base, p), routes, opaque);
    } else {
      // Plain middleware. Mounted at '/' it runs for everything (helmet, session, csrf, 404).
      // At a path that also has a router (requireSignIn before /tickets) it guards that router.
      // Anything else (express.static, a mounted sub-app) serves requests we cannot see into.
      for (const p of pathsOf(layer, base)) {
        if (p !== '/' && !routerPaths.has(p)) opaque.push({ path: joinPath(base, p), name: layer.name });
      }
    }
  }
}

/** The app's routes (method + full path), in registration order, and its opaque mounts. */
export function enumerateApp(app: Express): { routes: AppRoute[]; opaque: OpaqueMount[] } {
  const router = (app as unknown as { router?: { stack?: LayerLike[] } }).router;
  if (!router || !Array.isArray(router.stack)) throw new Error('Cannot enumerate routes: app.router has no stack (not Express 5?)');
  const routes: AppRoute[] = [];
  const opaque: OpaqueMount[] = [];
  walk(router.stack, '/', routes, opaque);
  return { routes, opaque };
}

/** The app's routes, as 'METHOD /path' keys. */
export function routeKeys(app: Express): string[] {
  return enumerateApp(app).routes.map((r) => `${r.method} ${r.path}`);
}

/** Names of a path's parameters: '/articles/:id/revisions/:version' → ['id', 'version']. */
export function paramNames(path: string): string[] {
  // Optional segments ({/:name}) hold no required parameter.
  const required = path.replace(/\{[^{}*()]*\}/g, '');
  if (/[*{}()]/.test(required)) throw new Error(`Route ${path} uses wildcard syntax: teach tests/security/routes.ts to fill it.`);
  return [...required.matchAll(/:([A-Za-z_$][\w$]*)/g)].map((m) => m[1]!);
}

/** The path with its parameters filled in; throws when a value is missing. */
export function fillPath(path: string, values: Record<string, string | number>): string {
  for (const name of paramNames(path)) {
    if (values[name] === undefined) throw new Error(`No value for :${name} in ${path}`);
  }
  // Optional segments ({/:name}) are filled when a value is given, else left out.
  const filled = path.replace(/\{([^{}]*)\}/g, (_m, inner: string) =>
    [...inner.matchAll(/:([A-Za-z_$][\w$]*)/g)].every((m) => values[m[1]!] !== undefined) ? inner : '',
  );
  return filled.replace(/:([A-Za-z_$][\w$]*)/g, (_m, name: string) => encodeURIComponent(String(values[name])));
}
