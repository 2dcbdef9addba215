// A Gatehouse worker in its own process, for tests that kill it (SIGKILL) mid-task.
// Environment: TEMPORAL_ADDRESS, DATABASE_URL, TASK_QUEUE; EMBED_DELAY_MS slows every
// embedding call so a test can catch the worker in the middle of a batch.
import { NativeConnection } from '@temporalio/worker';
import { HashingEmbedder, type Embedder } from '../../activities/retrieval/embeddings.js';
import { createPool, detectCapabilities } from '../../infra/db/pool.js';
import { ModelGateway } from '../../activities/gateway/gateway.js';
import { createWorker, installRuntime } from '../../workers/worker.js';
import { testConfig, testLog } from './harness-config.js';

const env = process.env;
const delay = Number(env.EMBED_DELAY_MS ?? 0);
const hashing = new HashingEmbedder(384);
const embedder: Embedder = {
  id: hashing.id,
  description: hashing.description,
  dimensions: hashing.dimensions,
  async embed(texts, purpose) {
    if (delay) await new Promise((r) => setTimeout(r, delay));
    return hashing.embed(texts, purpose);
  },
};

installRuntime(testLog);
const config = testConfig();
const db = createPool(env.DATABASE_URL!, 4);
const deps = {
  db,
  caps: await detectCapabilities(db),
  embedder,
  gateway: new ModelGateway({ registry: config.models.registry, chain: config.models.chain, db }),
  config,
  log: testLog,
};
const worker = await createWorker({
  connection: await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS! }),
  namespace: 'default',
  taskQueue: env.TASK_QUEUE!,
  deps,
  workflowBundle: env.WORKFLOW_BUNDLE ? { codePath: env.WORKFLOW_BUNDLE } : undefined,
});
process.on('SIGTERM', () => worker.shutdown());
process.stdout.write('worker ready\n');
await worker.run();
await db.end();
