// The composition root for what activities and the API share: the database pool (migrated),
// its capabilities, the embedder and the model gateway. Used by `npm start`, by a
// standalone worker, by tests and by benchmarks, so they all wire things the same way.
import { ModelGateway } from '../activities/gateway/gateway.js';
import { createEmbedder, type Embedder } from '../activities/retrieval/embeddings.js';
import { ExactCache } from '../activities/cache/exact.js';
import { SemanticCache } from '../activities/cache/semantic.js';
import { RoutingDocuments } from '../activities/router/document.js';
import { PreferenceRouter } from '../activities/router/preferences.js';
import { costFromRegistry, Router } from '../activities/router/router.js';
import type { Config, PayloadKeyRing } from './config.js';
import { migrate } from './db/migrate.js';
import { createPool, detectCapabilities, type Db, type DbCapabilities } from './db/pool.js';
import type { Logger } from './logger.js';
import { loadKeyRing } from './payload-keys.js';

export interface Services {
  db: Db;
  caps: DbCapabilities;
  embedder: Embedder;
  gateway: ModelGateway;
  /** The cache in Postgres (GATEHOUSE_CACHE), its layers named in its settings; absent when every layer is off. */
  cache?: ExactCache;
  /** The semantic layer (GATEHOUSE_CACHE names `semantic`), shared by the gateway and the answer activities. */
  semanticCache?: SemanticCache;
  /** The router: one per process, so the worker's activities and the API's proxy share its caches (built from the above when absent). */
  router?: Router;
  /** The payload keys (PAYLOAD_ENCRYPTION_KEYS or the embedded mode's generated key); the PII vault derives its keys from them. */
  keyRing: PayloadKeyRing;
  close(): Promise<void>;
}

export async function createServices(
  config: Config,
  opts: { databaseUrl: string; log: Logger; embedder?: Embedder; migrate?: boolean },
): Promise<Services> {
  const db = createPool(opts.databaseUrl, config.database.poolSize, opts.log);
  try {
    const embedder = opts.embedder ?? (await createEmbedder(config.embedding, (message) => opts.log.info(message)));
    if (opts.migrate !== false) {
      await migrate(db, { embeddingDimensions: embedder.dimensions, embedderId: embedder.id, log: opts.log });
    }
    const caps = await detectCapabilities(db);
    const semanticCache = config.cache && config.cache.layers.semantic !== 'off' ? new SemanticCache(db, caps, embedder, config.cache) : undefined;
    const gateway = new ModelGateway({ registry: config.models.registry, chain: config.models.chain, resilience: config.models.resilience, cache: config.cache, semanticCache, db, log: opts.log, embedder });
    const keyRing = await loadKeyRing(config, opts.log);
    const cache = config.cache ? new ExactCache(db, config.cache) : undefined;
    const router = new Router({
      documents: new RoutingDocuments(db),
      gateway,
      embedder,
      preferences: new PreferenceRouter(db, embedder, { log: opts.log }),
      costPerMTok: costFromRegistry((m) => gateway.model(m)),
    });
    return {
      db,
      caps,
      embedder,
      gateway,
      router,
      cache,
      semanticCache,
      keyRing,
      async close() {
        await embedder.close?.();
        await db.end();
      },
    };
  } catch (err) {
    await db.end().catch(() => undefined);
    throw err;
  }
}
