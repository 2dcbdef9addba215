// Nothing sensitive in Temporal's history: a task whose question (and whose model error)
// carries a unique phone number and email runs for real; its history, fetched raw from the
// server past the codec, holds neither in any byte, and every payload is encrypted. The SDK
// client, with the codec, still reads the result.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENCRYPTED_ENCODING } from '../../infra/payload-codec.js';
import type { Services } from '../../infra/services.js';
import type { answerQuestion } from '../../workflows/answer.js';
import type { AnswerTaskInput } from '../../workflows/messages.js';
import { indexDocuments } from '../support/corpus.js';
import { startTestWorker, testConfig, testServices, uniqueId, type TestWorker } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

/**
 * Every Payload in a decoded history message, except two the SDK's codec never sees: search
 * attributes (the server indexes them; ours hold tenant ids and phases) and the `data` detail
 * of local-activity markers, which the SDK's core writes itself (sequence number, attempt,
 * activity id and type, times); the marker's `result`, the activity's result, is encrypted.
 * Patch markers (`patched('router')`) carry only the patch's name, also written by the core.
 */
function payloadsIn(value: unknown, out: Payload[] = [], parent = ''): Payload[] {
  if (!value || typeof value !== 'object' || ArrayBuffer.isView(value)) return out;
  if (Array.isArray(value)) {
    for (const v of value) payloadsIn(v, out, parent);
    return out;
  }
  const record = value as Record<string, unknown>;
  if (record.metadata && typeof record.metadata === 'object' && 'encoding' in record.metadata) {
    out.push(record as Payload);
    return out;
  }
  for (const [k, v] of Object.entries(record)) {
    if (k === 'searchAttributes' || (parent === 'markerRecordedEventAttributes' && k === 'details')) continue;
    payloadsIn(v, out, k);
  }
  // A patch marker (patched()) holds the patch's name and nothing else, written by the core too.
  if (parent === 'markerRecordedEventAttributes' && record.markerName === 'core_patch') return out;
  if (parent === 'markerRecordedEventAttributes' && record.details) {
    const { data: _coreMetadata, ...details } = record.details as Record<string, unknown>;
    payloadsIn(details, out, 'details');
  }
  return out;
}

describe('history encryption', () => {
  let server: ScriptedModelServer;
  let services: Services;
  let worker: TestWorker;
  const tenant = uniqueId('t');

  beforeAll(async () => {
    server = await startScriptedModelServer({ models: ['primary'] });
    const config = testConfig({ OPENAI_BASE_URL: server.baseUrl, GATEHOUSE_CHAT_MODEL: 'primary', GATEHOUSE_MODELS: JSON.stringify([{ name: 'primary' }]) });
    services = await testServices('pglite', config);
    await indexDocuments(services, { tenantId: tenant, collection: 'kb', documents: [{ id: 'returns', text: 'Returns within 30 days get a refund minus a 15% restocking fee.' }] });
    worker = await startTestWorker(services, config);
  });
  afterAll(async () => {
    await worker?.stop();
    await server?.close();
    await services?.close();
  });

  /** Unique per test, so a match can only come from this test's history. */
  function pii() {
    const digits = String(Math.floor(Math.random() * 1e7)).padStart(7, '0');
    return { phone: `+1 415 ${digits.slice(0, 3)} ${digits.slice(3)}`, email: `ada.${uniqueId('x')}@example.com` };
  }

  function start(question: string): Promise<WorkflowHandle<typeof answerQuestion>> {
    const input: AnswerTaskInput = { tenantId: tenant, collection: 'kb', question, conversation: [], options: { mode: 'ensemble', topK: 3, candidates: 10, rrfK: 60, efSearch: 40 } };
    return worker.client.workflow.start<typeof answerQuestion>('answerQuestion', { taskQueue: worker.taskQueue, workflowId: uniqueId('enc'), args: [input] });
  }

  const { History } = proto.temporal.api.history.v1;

  async function rawHistory(handle: WorkflowHandle) {
    // The workflow service is the bare gRPC API: no data converter, no codec.
    const { history } = await worker.client.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId: handle.workflowId },
    });
    const bytes = Buffer.from(History.encode(history!).finish());
    return { history: history!, bytes, payloads: payloadsIn(History.toObject(History.decode(bytes), { defaults: false })) };
  }

  function expectNoTrace(raw: Awaited<ReturnType<typeof rawHistory>>, values: string[]) {
    expect(raw.payloads.length).toBeGreaterThan(3);
    for (const value of values) {
      for (const form of [value, value.replaceAll(' ', ''), Buffer.from(value).toString('base64')]) {
        expect(raw.bytes.includes(Buffer.from(form)), `"${form}" in the serialized history`).toBe(false);
      }
      for (const p of raw.payloads) expect(Buffer.from(p.data ?? []).includes(Buffer.from(value))).toBe(false);
    }
    for (const p of raw.payloads) expect(new TextDecoder().decode(p.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
  }

  it('keeps a question’s phone number and email out of the history, and still answers', async () => {
    const { phone, email } = pii();
    server.enqueue({ content: 'A 15% restocking fee applies [1].' });
    const handle = await start(`I am at ${phone} or ${email}: what is the restocking fee?`);
    const result = await handle.result();
    expect(result.answer).toContain('15% restocking fee');

    const raw = await rawHistory(handle);
    expectNoTrace(raw, [phone, email]);
    // The started event's input decodes, through the client's codec, back to the question.
    const started = raw.history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads!;
    const [decoded] = await worker.client.options.loadedDataConverter.payloadCodecs[0]!.decode(started);
    expect((defaultPayloadConverter.fromPayload(decoded!) as AnswerTaskInput).question).toContain(phone);
  });

  it('encrypts failure messages too (encodeCommonAttributes)', async () => {
    const { phone, email } = pii();
    server.enqueue({ error: { status: 400, message: `refusing to process ${email} / ${phone}` } });
    const handle = await start(`Call ${phone}, what is the fee?`);
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);

    const raw = await rawHistory(handle);
    expectNoTrace(raw, [phone, email, 'refusing to process']);
    const failed = raw.history.events!.find((e) => e.workflowExecutionFailedEventAttributes)!.workflowExecutionFailedEventAttributes!.failure!;
    expect(failed.message).toBe('Encoded failure');
    expect(failed.encodedAttributes).toBeTruthy();
    // The SDK client decodes it for the caller: the real messages, down the cause chain.
    const messages: string[] = [];
    for (let e: unknown = (err as Error).cause; e instanceof Error; e = e.cause) messages.push(e.message);
    expect(messages.join(' | ')).not.toContain('Encoded failure');
    expect(messages.join(' | ')).toMatch(/rejected the request/);
  });
});
