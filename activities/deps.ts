// What the activities are built from: injected by the worker (or a test, or a benchmark), so
// each can be handed real or scripted ones.
import type { Config, PayloadKeyRing } from '../infra/config.js';
import type { Db, DbCapabilities } from '../infra/db/pool.js';
import type { Logger } from '../infra/logger.js';
import type { ModelGateway } from './gateway/gateway.js';
import type { Embedder } from './retrieval/embeddings.js';
import type { Router } from './router/router.js';
import type { SemanticCache } from './cache/semantic.js';
import type { ExactCache } from './cache/exact.js';
import type { ToolDefinition } from './tools/types.js';

export interface ActivityDeps {
  db: Db;
  caps: DbCapabilities;
  embedder: Embedder;
  gateway: ModelGateway;
  config: Pick<Config, 'chunking' | 'agents' | 'retrieval'> & { models?: Pick<Config['models'], 'rewriteModel'> };
  log: Logger;
  /** The payload keys: the PII vault derives its own keys from them. */
  keyRing: PayloadKeyRing;
  /** Tools a deployment adds to the built-in ones. */
  tools?: ToolDefinition[];
  /** The cache (GATEHOUSE_CACHE): each consumer asks its settings whether its layer is on; absent when all are off. */
  cache?: ExactCache;
  /** The semantic layer (GATEHOUSE_CACHE names `semantic`): answerQuestion's answers; absent when off. */
  semanticCache?: SemanticCache;
  /** The router, shared with the API's proxy when one process runs both; built from the above when absent. */
  router?: Router;
}
