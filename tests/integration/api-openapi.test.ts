// The OpenAPI document: valid OpenAPI 3.1 (a maintained validator), generated from the same
// registry as the router, and equal to the app's actual /api/v1 routes: a route missing from the
// document, or a documented path the app does not serve, fails here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Express } from 'express';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testApp } from '../helpers/http.js';
import { enumerateApp } from '../security/routes.js';
import { buildOpenApiDocument } from '../../src/web/api/openapi.js';

let db: TestDatabase;
let app: Express;
beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
});
afterAll(() => db?.close());

/** Pages about the API that are not API operations themselves. */
const NOT_OPERATIONS = ['GET /api/v1/openapi.json', 'GET /api/v1/docs'];

describe('the OpenAPI document', () => {
  it('is served at /api/v1/openapi.json without a token, as generated', async () => {
    const res = await request(app).get('/api/v1/openapi.json').expect(200).expect('Content-Type', /application\/json/);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
    expect(res.body.openapi).toBe('3.1.0');
  });

  it('validates as OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(JSON.stringify(buildOpenApiDocument())));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it("lists exactly the app's /api/v1 routes, each with its method", () => {
    const doc = buildOpenApiDocument();
    const documented = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
      Object.keys(item as object)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((m) => `${m.toUpperCase()} /api/v1${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    const served = enumerateApp(app)
      .routes.map((r) => `${r.method} ${r.path}`)
      .filter((k) => k.split(' ')[1]!.startsWith('/api/v1/') && !NOT_OPERATIONS.includes(k));
    expect(served.sort()).toEqual(documented.sort());
  });

  it('declares every path parameter of every path', () => {
    const doc = buildOpenApiDocument();
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const op of Object.values(item as Record<string, { parameters?: { in: string; name: string; required?: boolean }[] }>)) {
        const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
        expect(declared.map((p) => p.name).sort(), path).toEqual(names);
        for (const p of declared) expect(p.required, `${path} ${p.name}`).toBe(true);
      }
    }
  });

  it('says for each operation its scope, its security and its problem answers', () => {
    const doc = buildOpenApiDocument();
    for (const item of Object.values(doc.paths ?? {})) {
      for (const op of Object.values(item as Record<string, { security?: unknown; responses: Record<string, unknown>; 'x-required-scope'?: string }>)) {
        expect(op.security).toEqual([{ bearerToken: [] }]);
        expect(op['x-required-scope']).toMatch(/^[a-z]+:[a-z]+$/);
        for (const code of ['401', '403', '422', '429']) expect(op.responses[code]).toBeDefined();
      }
    }
  });

  it('has a readable reference page listing every operation', async () => {
    const page = await request(app).get('/api/v1/docs').expect(200);
    for (const item of Object.values(buildOpenApiDocument().paths ?? {})) {
      for (const op of Object.values(item as Record<string, { operationId: string }>)) expect(page.text).toContain(`id="${op.operationId}"`);
    }
  });
});
