// A Gatehouse worker in a process of its own, so a benchmark can read its memory alone
// (/proc/<pid>/status). Wired like workers/main.ts — createServices (no migration: the parent
// migrated), createWorker — on the benchmark's config: the scripted model as the only model,
// plus the benchmark's bench_lookup tool. Environment: TEMPORAL_ADDRESS, DATABASE_URL,
// TASK_QUEUE, MODEL_BASE_URL, WORKFLOW_BUNDLE (a pre-built bundle's path); MAX_CACHED_WORKFLOWS
// (a reference variant with a smaller sticky cache).
import { NativeConnection } from '@temporalio/worker';
import { createLogger } from '../../infra/logger.js';
import { gatehouseDataConverter } from '../../infra/payload-codec.js';
import { createServices } from '../../infra/services.js';
import { createWorker, installRuntime } from '../../workers/worker.js';
import { agentBenchConfig, agentDeps, benchEmbedder, benchLookupTool } from './agent-config.js';

const env = process.env;
const log = createLogger('warn', 'bench-worker');
installRuntime(log);
const config = agentBenchConfig(env.MODEL_BASE_URL!);
const services = await createServices(config, { databaseUrl: env.DATABASE_URL!, log, embedder: benchEmbedder(), migrate: false });
const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS! });
const deps = agentDeps(services, config, log, [benchLookupTool]);
const common = {
  connection,
  namespace: 'default',
  taskQueue: env.TASK_QUEUE!,
  workflowBundle: { codePath: env.WORKFLOW_BUNDLE! },
  dataConverter: gatehouseDataConverter(config.temporal.payloadKeys!),
};
const worker = await createWorker({ ...common, deps, maxCachedWorkflows: env.MAX_CACHED_WORKFLOWS ? Number(env.MAX_CACHED_WORKFLOWS) : undefined });
process.on('SIGTERM', () => worker.shutdown());
process.stdout.write(`worker ready maxCachedWorkflows=${worker.options.maxCachedWorkflows}\n`);
await worker.run();
await connection.close();
await services.close();
