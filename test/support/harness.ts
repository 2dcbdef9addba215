// What a test needs to run Gatehouse for real: services on the shared PGlite or native
// Postgres, a worker on its own task queue of the shared Temporal dev server, a client,
// and a tenant of its own so tests never see each other's data.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { ExactCache } from '../../activities/cache/exact.js';
import { SemanticCache } from '../../activities/cache/semantic.js';
import { ModelGateway } from '../../activities/gateway/gateway.js';
import type { Embedder } from '../../activities/retrieval/embeddings.js';
import type { ToolDefinition } from '../../activities/tools/types.js';
import { createPool, detectCapabilities } from '../../infra/db/pool.js';
import { gatehouseDataConverter } from '../../infra/payload-codec.js';
import { WorkflowTenants } from '../../infra/workflow-tenants.js';
import type { Services } from '../../infra/services.js';
import { clientInterceptors } from '../../infra/temporal.js';
import type { Tracing } from '../../infra/tracing.js';
import { createWorker, installRuntime } from '../../workers/worker.js';

import { TEST_DATA_CONVERTER, TEST_EMBEDDER, allLayers, testConfig, testLog, uniqueId } from './harness-config.js';

export { TEST_DATA_CONVERTER, TEST_EMBEDDER, allLayers, testConfig, testLog, uniqueId };

export type DbKind = 'pglite' | 'native';

export function databaseUrl(kind: DbKind): string {
  return kind === 'pglite' ? inject('pgliteUrl') : inject('nativePgUrl');
}

export async function testServices(kind: DbKind, config = testConfig(), embedder: Embedder = TEST_EMBEDDER): Promise<Services> {
  const db = createPool(databaseUrl(kind), 5, testLog);
  const caps = await detectCapabilities(db);
  // As createServices wires it: the cache of every layer GATEHOUSE_CACHE turns on.
  const cache = config.cache ? new ExactCache(db, config.cache) : undefined;
  const semanticCache = config.cache && config.cache.layers.semantic !== 'off' ? new SemanticCache(db, caps, embedder, config.cache) : undefined;
  const gateway = new ModelGateway({ registry: config.models.registry, chain: config.models.chain, resilience: config.models.resilience, cache: config.cache, semanticCache, db, log: testLog, embedder });
  return { db, caps, embedder, gateway, cache, semanticCache, keyRing: config.temporal.payloadKeys!, close: () => db.end() };
}

export async function ensureTestTenant(services: Pick<Services, 'db'>, tenantId: string): Promise<void> {
  await services.db.query('INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [tenantId]);
}

export interface TestWorker {
  client: Client;
  taskQueue: string;
  worker: Worker;
  stop(): Promise<void>;
}

/** `tracing`: Temporal's OpenTelemetry interceptors on the worker and client, and the bundle with the workflow ones (or, without workflow spans, the trace-header one). */
export async function startTestWorker(services: Services, config = testConfig(), tools: ToolDefinition[] = [], log = testLog, opts: { tracing?: Tracing } = {}): Promise<TestWorker> {
  const address = inject('temporalAddress');
  const taskQueue = uniqueId('tq');
  installRuntime(testLog);
  // As in production: payloads labelled with the tenant of the task they belong to.
  const dataConverter = gatehouseDataConverter(config.temporal.payloadKeys!, { tenants: new WorkflowTenants(services.db) });
  const connection = await NativeConnection.connect({ address });
  const worker = await createWorker({
    connection,
    namespace: 'default',
    taskQueue,
    deps: { ...services, config, log, tools },
    dataConverter,
    workflowBundle: { codePath: inject(!opts.tracing ? 'workflowBundlePath' : opts.tracing.workflowSpans ? 'tracedWorkflowBundlePath' : 'traceHeadersWorkflowBundlePath') },
    tracing: opts.tracing,
  });
  const running = worker.run();
  const clientConnection = await Connection.connect({ address });
  const client = new Client({ connection: clientConnection, namespace: 'default', dataConverter, interceptors: clientInterceptors(Boolean(opts.tracing)) });
  return {
    client,
    taskQueue,
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
      await clientConnection.close();
    },
  };
}
