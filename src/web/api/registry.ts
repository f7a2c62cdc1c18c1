// One registry of API operations: method, path, scope, zod schemas of the request and the
// answer, and a handler that calls a service. The Express router (router.ts) and the OpenAPI
// document (openapi.ts) are both built from it, so they cannot say different things.
import type { z } from 'zod';
import type { Tx } from '../../db/client.js';
import type { ServiceContext } from '../../services/context.js';
import type { Scope } from '../../services/api/scopes.js';

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

type Schema = z.ZodType;
type ObjectSchema = z.ZodObject;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface Handled<R> {
  /** The answer (checked against `response` in development and tests). */
  body: R;
  /** The record's version: sent as the ETag (`"7"`). */
  version?: number;
  /** For 201: where the new record is. */
  location?: string;
}

export interface Operation<P extends ObjectSchema | undefined = ObjectSchema | undefined, Q extends ObjectSchema | undefined = ObjectSchema | undefined, B extends Schema | undefined = Schema | undefined, R extends Schema = Schema> {
  /** operationId in the document. */
  id: string;
  method: Method;
  /** Express path under /api/v1 ('/tickets/:reference'); the document shows '/tickets/{reference}'. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** The token must have it (403 otherwise); the service layer checks the user's own permission as well. */
  scope: Scope;
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  /** 200 (the default) or 201 (created). */
  status?: 200 | 201;
  /** Changes an existing record: `If-Match: "<version>"` is required (428 without, 412 when stale). */
  ifMatch?: boolean;
  /** A create: an `Idempotency-Key` header makes a retry return the first answer (the handler gets `tx`). */
  idempotent?: boolean;
  /** With ifMatch: the record of a PreconditionFailedError as this API shows it. */
  present?: (record: unknown) => { version?: number };
  handle: (
    ctx: ServiceContext,
    input: { params: Out<P>; query: Out<Q>; body: Out<B>; version: number | undefined; tx: Tx | undefined },
  ) => Promise<Handled<z.output<R>>>;
}

/** Declares an operation with its types inferred from its schemas. */
export function operation<P extends ObjectSchema | undefined = undefined, Q extends ObjectSchema | undefined = undefined, B extends Schema | undefined = undefined, R extends Schema = Schema>(
  op: Operation<P, Q, B, R>,
): Operation {
  return op as unknown as Operation;
}

/** '/tickets/:reference' → '/tickets/{reference}'. */
export const openApiPath = (path: string): string => path.replace(/:([A-Za-z_]\w*)/g, '{$1}');
