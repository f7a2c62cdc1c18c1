// The OpenAPI 3.1 document of /api/v1, generated from the operation registry's zod schemas
// (@asteasolutions/zod-to-openapi): the router is built from the same registry (router.ts).
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { SCOPES } from '../../services/api/scopes.js';
import { API_OPERATIONS } from './operations/index.js';
import { Problem } from './problem.js';
import { openApiPath, type Operation } from './registry.js';

export const API_BASE = '/api/v1';

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: Problem } } });

export function buildOpenApiDocument(ops: readonly Operation[] = API_OPERATIONS) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API token (profile → API tokens, or an admin’s service token): `Authorization: Bearer cbt_…`. Session cookies are ignored.',
  });
  for (const op of ops) {
    const ok = op.status ?? 200;
    const headers: Record<string, z.ZodType> = {};
    if (op.ifMatch) headers['If-Match'] = z.string().meta({ description: 'The version the change is based on, as its ETag: "7"' });
    if (op.idempotent) headers['Idempotency-Key'] = z.string().max(255).optional().meta({ description: 'Makes a retry safe for 24 hours' });
    registry.registerPath({
      method: op.method,
      path: openApiPath(op.path),
      operationId: op.id,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: [op.tag],
      security: [{ bearerToken: [] }],
      'x-required-scope': op.scope,
      request: {
        ...(op.params ? { params: op.params } : {}),
        ...(op.query ? { query: op.query } : {}),
        ...(Object.keys(headers).length ? { headers: z.object(headers) } : {}),
        ...(op.body ? { body: { required: true, content: { 'application/json': { schema: op.body } } } } : {}),
      },
      responses: {
        [ok]: {
          description: ok === 201 ? 'Created' : 'OK',
          ...(op.ifMatch || op.id.startsWith('get') || op.id === 'createTicket' ? { headers: { ETag: { description: 'The version, "7"', schema: { type: 'string' } } } } : {}),
          content: { 'application/json': { schema: op.response } },
        },
        400: problem('The request could not be read (bad JSON, a bad header)'),
        401: problem('No token, or a revoked, expired or unknown one'),
        403: problem('The token lacks the scope, or its user the permission'),
        ...(op.params ? { 404: problem('No such record') } : {}),
        ...(op.body ? { 413: problem('The body is too large'), 415: problem('The body is not JSON') } : {}),
        ...(op.ifMatch ? { 409: problem('Changed by someone else at the same moment'), 412: problem('If-Match is not the current version: `current` holds the record as it is'), 428: problem('If-Match is missing') } : {}),
        422: problem('Invalid input: `errors` lists the fields'),
        429: problem('Too many requests for this token (RateLimit-* headers say when to retry)'),
      },
    });
  }
  const generator = new OpenApiGeneratorV31(registry.definitions);
  return generator.generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Caseboard API',
      version: '1.0.0',
      description:
        'The help desk’s REST API: every endpoint calls the service functions the pages call, so rules and history are the same. ' +
        `Scopes: ${Object.entries(SCOPES).map(([k, v]) => `${k} (${v})`).join('; ')}.`,
    },
    servers: [{ url: API_BASE }],
  });
}
