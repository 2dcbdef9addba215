// `npm start`: the whole service in one process — the embedded stack (or external services),
// migrations, the worker and the API — stopped cleanly by SIGINT/SIGTERM.
import { randomBytes } from 'node:crypto';
import { createUser, upsertApiKey } from '../api/auth.js';
import { buildApi } from '../api/server.js';
import { createWorker, installRuntime } from '../workers/worker.js';
import { devApiKeyFile, writeBanner } from './banner.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { seedDemoDomain } from './demo/domain.js';
import { seedDemoCorpus } from './demo/seed.js';
import { createLogger } from './logger.js';
import { redactedConfig } from './redacted-config.js';
import { gatehouseDataConverter } from './payload-codec.js';
import { readOrCreateSecret } from './secret-file.js';
import { WorkflowTenants } from './workflow-tenants.js';
import { createServices } from './services.js';
import { startStack } from './stack.js';
import { startTracing } from './tracing.js';
import { connectClient, connectWorker, ensureSearchAttributes } from './temporal.js';

/** The dev admin key: GATEHOUSE_API_KEY, or one generated on first start and kept in the data dir (0600). */
async function devApiKey(config: Config): Promise<string> {
  if (config.api.devApiKey) return config.api.devApiKey;
  return readOrCreateSecret(devApiKeyFile(config), () => `gh_dev_${randomBytes(24).toString('base64url')}`);
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`gatehouse: configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  // What this process really runs with, for whoever reads the log after an incident; secrets redacted.
  log.info({ config: redactedConfig(config) }, 'effective configuration');
  const stops: Array<[string, () => Promise<unknown>]> = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down');
    for (const [name, stop] of stops.reverse()) {
      await stop().catch((err) => log.warn({ err: String(err) }, `stopping ${name} failed`));
    }
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(130); // a second signal means "now"
      void shutdown(0);
    });
  }

  // Stopped last (stops run in reverse), so the spans of everything stopping before it are flushed.
  const tracing = startTracing(config.tracing, { serviceName: 'gatehouse', log });
  if (tracing) stops.push(['tracing', () => tracing.shutdown()]);

  try {
    // Before anything touches Temporal: the embedded dev server also uses the SDK runtime.
    installRuntime(log, { metricsAddress: config.temporal.metricsAddress });
    const stack = await startStack(config, log);
    stops.push(['embedded stack', () => stack.stop()]);
    const services = await createServices(config, { databaseUrl: stack.databaseUrl, log });
    stops.push(['database pool', () => services.close()]);

    // Only the embedded database gets a generated key; an external one gets GATEHOUSE_API_KEY if set.
    const key = config.api.devApiKey ?? (stack.embedded.postgres ? await devApiKey(config) : undefined);
    // The dev key speaks for a person (the one running `npm start`), so it can decide approvals.
    if (key) {
      await createUser(services.db, { id: 'usr_dev_admin', tenantId: 'default', name: 'Dev admin', roles: ['admin'] });
      await upsertApiKey(services.db, { id: 'dev', key, tenantId: 'default', roles: ['admin'], name: 'dev admin key', userId: 'usr_dev_admin' });
    }

    // One converter for the API's client and the worker; history written by an earlier start
    // stays readable through the key kept in the data dir (embedded) or PAYLOAD_ENCRYPTION_KEYS.
    const keyRing = services.keyRing;
    // Payloads are labelled with their workflow's tenant, looked up in the tasks it started.
    const dataConverter = gatehouseDataConverter(keyRing, { tenants: new WorkflowTenants(services.db) });
    const client = await connectClient(stack.temporalAddress, config.temporal.namespace, dataConverter, { traced: Boolean(tracing) });
    stops.push(['temporal client', () => client.connection.close()]);
    if (!stack.embedded.temporal) await ensureSearchAttributes(client, config.temporal.namespace);

    if (config.runWorker) {
      const connection = await connectWorker(stack.temporalAddress);
      stops.push(['worker connection', () => connection.close()]);
      const worker = await createWorker({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        deps: { ...services, config, log },
        dataConverter,
        maxCachedWorkflows: config.temporal.maxCachedWorkflows,
        tracing,
      });
      const running = worker.run();
      stops.push(['worker', async () => { worker.shutdown(); await running; }]);
      running.catch((err) => {
        log.error({ err: String(err) }, 'worker stopped unexpectedly');
        void shutdown(1);
      });
    }

    // The breakers the API shows are the worker's: without one in this process there are none to show.
    const gateway = config.runWorker ? services.gateway : undefined;
    const api = await buildApi({ db: services.db, temporal: client, config, log, keyRing, gateway, embedder: services.embedder, router: services.router });
    await api.listen({ port: config.api.port, host: config.api.host });
    stops.push(['api', () => api.close()]);

    const apiUrl = `http://${config.api.host === '0.0.0.0' ? '127.0.0.1' : config.api.host}:${config.api.port}`;
    if (config.seedDemo && key) {
      await seedDemoCorpus(api, key, services.db, log);
      // Customers, products and orders for text-to-SQL and the demo's refunds (idempotent).
      await seedDemoDomain(services.db, 'default');
    }

    // The banner is for the person at the terminal, so it goes to stdout, not the log. Only a
    // key we generated is ever shown, and only on a terminal: an operator's own key stays out
    // of terminals and logs, and `npm start > log` gets the key file's path instead.
    writeBanner(
      process.stdout,
      {
        apiUrl,
        temporalUi: stack.temporalUiUrl ?? `(external Temporal at ${stack.temporalAddress})`,
        database: `${stack.embedded.postgres ? 'embedded PGlite + pgvector' : 'external Postgres'}; embeddings: ${services.embedder.description}`,
        models: `${config.models.chain.join(' → ')}${config.models.chain[0] === 'local' ? ' (offline extractive model; set OPENAI_BASE_URL for a language model)' : ''}`,
        caches: cachesLine(config),
        key: key ? { value: key, generated: !config.api.devApiKey } : undefined,
      },
      config,
    );
  } catch (err) {
    if (err instanceof ConfigError) console.error(`gatehouse: configuration error: ${err.message}`);
    else log.fatal({ err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) }, 'start-up failed');
    await shutdown(1);
  }
}

await main();

/** The banner's cache line: the layers that serve, and the semantic one's mode. */
function cachesLine(config: Config): string {
  const layers = config.cache?.layers;
  if (!layers) return 'off (GATEHOUSE_CACHE=off)';
  const on = (['model', 'retrieval', 'tool'] as const).filter((l) => layers[l]);
  const semantic = layers.semantic === 'off' ? [] : [layers.semantic === 'shadow' ? 'semantic (shadow: measured, nothing served)' : `semantic (threshold ${config.cache!.semanticThreshold})`];
  return [...on, ...semantic].join(', ');
}

