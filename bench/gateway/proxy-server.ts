// The Gatehouse API in a process of its own for (b), so it has its own event loop as Portkey's
// server does: wired as `npm start` wires it (createServices, buildApi with the worker's gateway),
// its only model the scripted server. Its database is an embedded PGlite in this process, as under
// `npm start`, unless DATABASE_URL names one. The proxy route never talks to Temporal, so the
// client's connection is lazy and never opened: no Temporal server is needed.
// GATEWAY_WITHOUT_DB=1 hands the API a gateway without a database (no limits, no usage rows):
// the proxy's own path, the key still looked up (and cached) in Postgres.
// Environment: MODEL_BASE_URL, DATABASE_URL (optional), GATEWAY_WITHOUT_DB. Prints one JSON line: { port, key }.
import { Client, Connection } from '@temporalio/client';
import { ModelGateway } from '../../activities/gateway/gateway.js';
import { createApiKey } from '../../api/auth.js';
import { buildApi } from '../../api/server.js';
import { startEmbeddedPostgres } from '../../infra/db/embedded-postgres.js';
import { createLogger } from '../../infra/logger.js';
import { gatehouseDataConverter } from '../../infra/payload-codec.js';
import { createServices } from '../../infra/services.js';
import { TEST_EMBEDDER } from '../../test/support/harness-config.js';
import { gatewayBenchConfig } from './common.js';

const env = process.env;
// Request logs off (LOG_LEVEL=info would write two lines per request): the benchmark measures the proxy, not the log sink.
const log = createLogger('warn', 'bench-proxy');
const pglite = env.DATABASE_URL ? undefined : await startEmbeddedPostgres({});
const config = gatewayBenchConfig(env.MODEL_BASE_URL!);
const services = await createServices(config, { databaseUrl: env.DATABASE_URL ?? pglite!.url, log, embedder: TEST_EMBEDDER });
// The codec routes want the encrypting data converter, as every client has.
const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:7233' }), dataConverter: gatehouseDataConverter(services.keyRing) });
const gateway = env.GATEWAY_WITHOUT_DB === '1' ? new ModelGateway({ registry: config.models.registry, chain: config.models.chain, resilience: config.models.resilience, log }) : services.gateway;
const app = await buildApi({ db: services.db, keyRing: services.keyRing, temporal, config, log, gateway, embedder: services.embedder });
await app.listen({ port: 0, host: '127.0.0.1' });
// A backend's key with models:call on a tenant without rules: admission is one rules query, the usage row one insert.
const { key } = await createApiKey(services.db, { tenantId: 'bench-proxy', roles: ['models:call'] });
process.on('SIGTERM', () => {
  void (async () => {
    await app.close();
    await services.close();
    await pglite?.stop();
    process.exit(0);
  })();
});
process.stdout.write(`${JSON.stringify({ port: (app.server.address() as { port: number }).port, key })}\n`);
