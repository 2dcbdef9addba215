// A standalone worker (`npm run worker`) for external Temporal and Postgres: scale out by
// running more of these on the same task queue.
import { ConfigError, loadConfig } from '../infra/config.js';
import { createLogger } from '../infra/logger.js';
import { redactedConfig } from '../infra/redacted-config.js';
import { serveMetrics } from '../infra/metrics.js';
import { createServices } from '../infra/services.js';
import { gatehouseDataConverter } from '../infra/payload-codec.js';
import { WorkflowTenants } from '../infra/workflow-tenants.js';
import { connectWorker } from '../infra/temporal.js';
import { startTracing } from '../infra/tracing.js';
import { createWorker, installRuntime } from './worker.js';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.temporal.address) throw new ConfigError('TEMPORAL_ADDRESS: required for a standalone worker (host:port)');
  if (!config.database.url) throw new ConfigError('DATABASE_URL: required for a standalone worker (postgres://…)');
  const log = createLogger(config.logLevel, 'gatehouse-worker');
  // What this process really runs with, for whoever reads the log after an incident; secrets redacted.
  log.info({ config: redactedConfig(config) }, 'effective configuration');
  installRuntime(log, { metricsAddress: config.temporal.metricsAddress });
  const tracing = startTracing(config.tracing, { serviceName: 'gatehouse-worker', log });
  const services = await createServices(config, { databaseUrl: config.database.url, log });
  const connection = await connectWorker(config.temporal.address);
  const worker = await createWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    deps: { ...services, config, log },
    dataConverter: gatehouseDataConverter(services.keyRing, { tenants: new WorkflowTenants(services.db) }),
    maxCachedWorkflows: config.temporal.maxCachedWorkflows,
    tracing,
  });

  let signals = 0;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (++signals > 1) process.exit(130);
      log.info({ signal }, 'draining: finishing activities in flight, then stopping');
      worker.shutdown();
    });
  }
  const metricsServer = config.temporal.workerMetricsAddress ? await serveMetrics(config.temporal.workerMetricsAddress, config.api.metricsToken) : undefined;
  log.info({ taskQueue: config.temporal.taskQueue, address: config.temporal.address, metrics: config.temporal.workerMetricsAddress }, 'worker running');
  await worker.run();
  metricsServer?.close();
  await connection.close();
  await services.close();
  // Last: the spans of the activities that drained are sent before the process exits.
  await tracing?.shutdown();
  log.info('worker stopped');
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `gatehouse-worker: configuration error: ${err.message}` : err);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
