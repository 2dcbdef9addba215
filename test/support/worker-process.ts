// A Gatehouse worker in its own process, for tests that kill it (SIGKILL) mid-task.
// Environment: TEMPORAL_ADDRESS, DATABASE_URL, TASK_QUEUE; EMBED_DELAY_MS slows every
// embedding call so a test can catch the worker in the middle of a batch; SLOW_WRITE_MS and
// MODEL_BASE_URL are for the agent crash test (below).
import { NativeConnection } from '@temporalio/worker';
import { HashingEmbedder, type Embedder } from '../../activities/retrieval/embeddings.js';
import { createPool, detectCapabilities } from '../../infra/db/pool.js';
import { ModelGateway } from '../../activities/gateway/gateway.js';
import { createWorker, installRuntime } from '../../workers/worker.js';
import { z } from 'zod';
import type { ToolDefinition } from '../../activities/tools/types.js';
import { TEST_DATA_CONVERTER, testConfig, testLog } from './harness-config.js';

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

// SLOW_WRITE_MS registers `slow_note`, a write tool that holds its ledger transaction open
// that long, so a test can kill the worker in the middle of a write action.
const slowWriteMs = Number(env.SLOW_WRITE_MS ?? 0);
const slowNote: ToolDefinition = {
  name: 'slow_note',
  description: 'Write a note (test tool).',
  parameters: z.object({ text: z.string() }),
  kind: 'write',
  async preview(args) {
    return { summary: `note: ${(args as { text: string }).text}`, changes: args };
  },
  async execute(args, ctx) {
    await ctx.tx.query('INSERT INTO crash_notes (key, text) VALUES ($1, $2)', [ctx.idempotencyKey, (args as { text: string }).text]);
    await new Promise((r) => setTimeout(r, slowWriteMs));
    return { content: { written: true }, summary: 'note written' };
  },
};

installRuntime(testLog);
// MODEL_BASE_URL points the worker at a scripted model server; without it, the offline model.
const config = testConfig(env.MODEL_BASE_URL ? { OPENAI_BASE_URL: env.MODEL_BASE_URL, GATEHOUSE_CHAT_MODEL: 'scripted', GATEHOUSE_MODELS: JSON.stringify([{ name: 'scripted' }]) } : {});
const db = createPool(env.DATABASE_URL!, 4);
const deps = {
  db,
  caps: await detectCapabilities(db),
  embedder,
  gateway: new ModelGateway({ registry: config.models.registry, chain: config.models.chain, db }),
  config,
  log: testLog,
  tools: slowWriteMs ? [slowNote] : [],
  keyRing: config.temporal.payloadKeys!,
};
const worker = await createWorker({
  connection: await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS! }),
  namespace: 'default',
  taskQueue: env.TASK_QUEUE!,
  deps,
  dataConverter: TEST_DATA_CONVERTER,
  workflowBundle: env.WORKFLOW_BUNDLE ? { codePath: env.WORKFLOW_BUNDLE } : undefined,
});
process.on('SIGTERM', () => worker.shutdown());
process.stdout.write('worker ready\n');
await worker.run();
await db.end();
