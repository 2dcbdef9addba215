// Start test/support/worker-process.ts as a child process (for tests that SIGKILL it), on the
// shared dev server and PGlite; resolves once the worker polls its task queue.
import { spawn, type ChildProcess } from 'node:child_process';
import { inject } from 'vitest';

export function startWorkerProcess(taskQueue: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/worker-process.ts'], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      DATABASE_URL: inject('pgliteUrl'),
      TASK_QUEUE: taskQueue,
      WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('worker ready') && resolve(child));
    child.once('exit', (code) => reject(new Error(`worker process exited early (${code})`)));
  });
}
