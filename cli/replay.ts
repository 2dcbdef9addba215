// `gatehouse replay`: a task's recorded history run against the workflow code checked out here,
// with the workers' own data converter (the payload codec and its keys, the failure converter),
// so a change that would break the task's run in production shows up as the non-determinism
// error Temporal's worker would hit. Loaded only for this command: it brings in the SDK's
// native worker and bundles the workflows (a few seconds).
import { access } from 'node:fs/promises';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { ConfigError, loadConfig } from '../infra/config.js';
import { gatehouseDataConverter } from '../infra/payload-codec.js';
import { keyFilePath, loadKeyRing } from '../infra/payload-keys.js';
import { WORKFLOWS_PATH } from '../workers/worker.js';

export type ReplayOutcome = { ok: true; events: number } | { ok: false; nonDeterministic: boolean; message: string };

/** The key ring the workers decrypt with: PAYLOAD_ENCRYPTION_KEYS, or the embedded stack's key file (never a new one). */
async function workersKeyRing() {
  // GATEHOUSE_API_KEY is the CLI's own key here, not the dev admin key the config checks.
  const config = loadConfig({ ...process.env, GATEHOUSE_API_KEY: undefined });
  if (!config.temporal.payloadKeys) {
    const file = keyFilePath(config);
    await access(file).catch(() => {
      throw new ConfigError(`no payload keys: set PAYLOAD_ENCRYPTION_KEYS (or GATEHOUSE_DATA_DIR to the data dir holding ${file.split('/').pop()}) as the workers have it`);
    });
  }
  return loadKeyRing(config);
}

export async function replayTaskHistory(history: unknown, workflowId: string): Promise<ReplayOutcome> {
  const dataConverter = gatehouseDataConverter(await workersKeyRing());
  // The bundler's and the replay worker's own lines would bury the verdict: warnings only.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const events = (history as { events?: unknown[] }).events?.length ?? 0;
  try {
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH, dataConverter, replayName: `gatehouse-replay-${workflowId}` }, history, workflowId);
    return { ok: true, events };
  } catch (err) {
    return { ok: false, nonDeterministic: err instanceof DeterminismViolationError, message: err instanceof Error ? err.message : String(err) };
  }
}
