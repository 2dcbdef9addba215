// What every route gets: the services it talks to and the caller the auth hook found. Its own
// module, so routes never import the app (server.ts) that registers them.
import type { Client } from '@temporalio/client';
import type { CallContext, ChatRequest, ChatResult } from '../activities/gateway/types.js';
import type { Embedder } from '../activities/retrieval/embedder.js';
import type { Router } from '../activities/router/router.js';
import type { DeploymentStatusSource } from '../contracts/gateway.js';
import type { Config, PayloadKeyRing } from '../infra/config.js';
import type { Db } from '../infra/db/pool.js';
import type { Logger } from '../infra/logger.js';
import type { Principal } from './auth.js';
import { ApiError } from './errors.js';

export interface ApiDeps {
  db: Db;
  temporal: Client;
  /** The payload keys: the API decrypts PII placeholders for callers with pii:read. */
  keyRing: PayloadKeyRing;
  config: Pick<Config, 'temporal' | 'retrieval' | 'ingest' | 'api' | 'agents' | 'embedding' | 'models' | 'tracing'>;
  log: Logger;
  /**
   * The model gateway of this process's worker, whose deployments' breaker state the API shows.
   * Absent when the API runs without a worker (GATEHOUSE_RUN_WORKER=false): breakers live in
   * each worker's memory, and an idle gateway here would show a health it never measured.
   * The OpenAI-compatible proxy (POST /v1/chat/completions) calls models through it too.
   */
  gateway?: DeploymentStatusSource & { chat(req: ChatRequest, ctx: CallContext): Promise<ChatResult> };
  /** The deployment's embedder, which POST /v1/embeddings serves; absent, that route answers 503. */
  embedder?: Embedder;
  /** The process's router (shared with its worker); built over the embedder when absent. */
  router?: Pick<Router, 'route' | 'documents'>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by server.ts's onRequest hook on every /v1/ request. */
    principal?: Principal;
  }
}

export function principalOf(req: { principal?: Principal }): Principal {
  if (!req.principal) throw new ApiError(401, 'unauthorized', 'authentication required');
  return req.principal;
}
