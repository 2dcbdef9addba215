// What the Temporal UI shows of a run: each scheduled activity's summary (user metadata on
// its ScheduleActivityTask / local-activity marker) and the workflow's current details (the
// __temporal_workflow_metadata query). An answer task and an agent task that proposes a refund
// run for real; their histories, fetched through the client and decoded with its codec, carry
// the summaries; fetched raw, every summary is ciphertext and none of the user's text is in them.
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENCRYPTED_ENCODING } from '../../infra/payload-codec.js';
import { seedDemoDomain } from '../../infra/demo/domain.js';
import type { Services } from '../../infra/services.js';
import type { answerQuestion } from '../../workflows/answer.js';
import type { AnswerTaskInput } from '../../workflows/messages.js';
import { SUMMARY_MAX_CHARS } from '../../workflows/policy/summaries.js';
import { agentInput, startAgent, waitForPending } from '../support/agents.js';
import { indexDocuments } from '../support/corpus.js';
import { startTestWorker, testServices, uniqueId, type TestWorker } from '../support/harness.js';

type Event = proto.temporal.api.history.v1.IHistoryEvent;

describe('readable runs in the Temporal UI', () => {
  let services: Services;
  let worker: TestWorker;
  const tenant = uniqueId('t');

  beforeAll(async () => {
    services = await testServices('pglite');
    await seedDemoDomain(services.db, tenant);
    await indexDocuments(services, {
      tenantId: tenant,
      collection: 'kb',
      documents: [
        { id: 'returns', title: 'Returns', text: '# Returns\n\nReturns within 30 days get a refund minus a 15% restocking fee.' },
        { id: 'shipping', title: 'Shipping', text: '# Shipping\n\nOrders ship within 2 business days.' },
      ],
    });
    worker = await startTestWorker(services);
  });
  afterAll(async () => {
    await worker?.stop();
    await services?.close();
  });

  /** Each event's summary as the UI shows it after the codec endpoint decoded it, with its raw payload. */
  async function summaries(handle: WorkflowHandle): Promise<Array<{ type: string; summary: string; raw: Payload }>> {
    const history = await handle.fetchHistory();
    const codec = worker.client.options.loadedDataConverter.payloadCodecs[0]!;
    const out: Array<{ type: string; summary: string; raw: Payload }> = [];
    for (const e of history.events ?? []) {
      const raw = (e as Event).userMetadata?.summary as Payload | undefined;
      if (!raw) continue;
      const [decoded] = await codec.decode([raw]);
      out.push({ type: activityType(e as Event), summary: defaultPayloadConverter.fromPayload<string>(decoded!), raw });
    }
    return out;
  }

  function activityType(e: Event): string {
    return e.activityTaskScheduledEventAttributes?.activityType?.name ?? (e.markerRecordedEventAttributes ? 'local' : String(e.eventType));
  }

  /** The UI's "current details": the SDK's built-in metadata query, decoded by the client. */
  async function currentDetails(handle: WorkflowHandle): Promise<string> {
    const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    return meta.currentDetails ?? '';
  }

  function expectEncrypted(found: Array<{ summary: string; raw: Payload }>, secrets: string[]) {
    for (const { summary, raw } of found) {
      expect(new TextDecoder().decode(raw.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
      expect(Buffer.from(raw.data ?? []).includes(Buffer.from(summary)), `"${summary}" in plain text`).toBe(false);
      expect(summary.length).toBeLessThanOrEqual(SUMMARY_MAX_CHARS);
      for (const s of secrets) expect(summary).not.toContain(s);
    }
  }

  it('labels every step of an answer task, keeps the question out of its summaries and says what happened', async () => {
    const marker = uniqueId('q');
    const question = `What is the restocking fee on returns? (${marker})`;
    const input: AnswerTaskInput = { tenantId: tenant, collection: 'kb', question, conversation: [], options: { mode: 'ensemble', topK: 3, candidates: 10, rrfK: 60, efSearch: 40 } };
    const handle = await worker.client.workflow.start<typeof answerQuestion>('answerQuestion', { taskQueue: worker.taskQueue, workflowId: uniqueId('ui'), args: [input] });
    const result = await handle.result();
    const passages = (result.steps.find((s) => s.name === 'retrieve')!.detail as { passages: number }).passages;
    expect(passages).toBeGreaterThan(0);

    const found = await summaries(handle);
    const texts = found.map((f) => f.summary);
    expect(texts).toContain('input guard: PII, injection, scope');
    expect(texts).toContain('retrieve from kb (ensemble)');
    expect(texts).toContain(`screen ${passages} passages from kb`);
    expect(texts.some((t) => /^generate from \d+ passages with /.test(t))).toBe(true);
    expect(texts).toContain('output checks (cited answer)');
    // Regular activities carry it on their scheduled event; local ones on their marker.
    expect(found.find((f) => f.summary.startsWith('generate'))!.type).toBe('generateAnswer');
    expect(found.find((f) => f.summary.startsWith('retrieve'))!.type).toBe('local');
    expectEncrypted(found, [marker, 'restocking']);

    const details = await currentDetails(handle);
    expect(details).toContain(`retrieved ${passages} passages from kb`);
    expect(details).toContain(`done: ${result.guardrails!.verdict}`);
    expect(details).not.toContain(marker);
  });

  it('labels an agent’s proposal with its tool, amount and approval id while it waits', async () => {
    const handle = await startAgent(worker.client, worker.taskQueue, agentInput(tenant, "Refund Emily Doe's last order", { tools: ['query_sql', 'issue_refund'] }));
    const [refund] = await waitForPending(handle, 1);
    expect(refund).toMatchObject({ approvalId: 'apr_1', tool: 'issue_refund', arguments: { amountUsd: 79 } });

    const found = await summaries(handle);
    const texts = found.map((f) => f.summary);
    expect(texts).toContain('propose issue_refund $79.00 (apr_1)');
    expect(found.find((f) => f.summary.startsWith('propose'))!.type).toBe('proposeAction');
    expect(texts).toContain('query_sql');
    expect(texts.some((t) => /^decide step 1( with .+)?$/.test(t))).toBe(true);
    expectEncrypted(found, ['Emily', 'Doe']);

    expect(await currentDetails(handle)).toContain('apr_1 issue_refund: pending');
    await handle.terminate('test done');
  });
});
