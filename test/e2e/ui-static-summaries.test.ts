// The Temporal UI's one line per run, set by the API when it starts a workflow: names and
// settings (collection, retrieval mode, tools, document count), never the request's text, and
// ciphertext in the cluster like every other payload.
import type { Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENCRYPTED_ENCODING } from '../../infra/payload-codec.js';
import { startTestApi, type TestApi } from '../support/api-harness.js';
import { uniqueId } from '../support/harness.js';

describe('static summaries of the runs the API starts', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  async function described(workflowId: string) {
    const handle = api.worker.client.workflow.getHandle(workflowId);
    const d = await handle.describe();
    // The raw execution config, past the client's codec: what the cluster stores.
    const raw = await api.worker.client.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId } });
    return { summary: await d.staticSummary(), raw: raw.executionConfig?.userMetadata?.summary as Payload | undefined };
  }

  function expectCiphertext(raw: Payload | undefined, summary: string) {
    expect(raw).toBeDefined();
    expect(new TextDecoder().decode(raw!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(raw!.data ?? []).includes(Buffer.from(summary))).toBe(false);
  }

  it('names an ingestion and an answer task by what they work on, not by what was asked', async () => {
    const collection = uniqueId('kb');
    const ingest = await api.call('POST', '/v1/documents', { key: api.keys.admin, body: { collection, documents: [{ id: 'returns', text: 'Returns within 30 days get a refund.' }] } });
    expect(ingest.status).toBe(202);
    const ing = await described(ingest.json.ingestionId);
    expect(ing.summary).toBe(`ingest 1 document into ${collection}`);
    expectCiphertext(ing.raw, ing.summary!);

    const marker = uniqueId('q');
    const started = await api.call('POST', '/v1/tasks', { key: api.keys.admin, body: { type: 'answer', collection, input: `How long do returns take? (${marker})` } });
    expect(started.status).toBe(202);
    const task = await described(started.json.taskId);
    expect(task.summary).toMatch(new RegExp(`^answer from ${collection} \\(\\w+\\)`));
    expect(task.summary).not.toContain(marker);
    expectCiphertext(task.raw, task.summary!);
  });
});
