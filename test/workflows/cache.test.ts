// A repeated question end to end, with GATEHOUSE_CACHE=exact: the second answer task is served
// from the cache — retrieval and generation both — with no model call and no cost, and its steps
// say so. A user-specific question is not shared with another user's task.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExactCache } from '../../activities/cache/exact.js';
import { GuardrailPolicies } from '../../activities/guardrails/policy.js';
import type { Services } from '../../infra/services.js';
import type { answerQuestion } from '../../workflows/answer.js';
import type { AnswerTaskInput } from '../../workflows/messages.js';
import { indexDocuments } from '../support/corpus.js';
import { startTestWorker, testConfig, testServices, uniqueId, type TestWorker } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

describe('answerQuestion with the exact cache', () => {
  let server: ScriptedModelServer;
  let services: Services;
  let worker: TestWorker;
  const tenant = uniqueId('t');

  beforeAll(async () => {
    server = await startScriptedModelServer({ models: ['primary'] });
    const config = testConfig({
      OPENAI_BASE_URL: server.baseUrl,
      GATEHOUSE_CHAT_MODEL: 'primary',
      GATEHOUSE_MODELS: JSON.stringify([{ name: 'primary', inputPricePerMTok: 2, outputPricePerMTok: 8 }]),
      GATEHOUSE_CACHE: 'exact',
    });
    services = await testServices('pglite', config);
    await indexDocuments(services, { tenantId: tenant, collection: 'kb', documents: [{ id: 'returns', text: '# Returns\n\nReturns within 30 days get a refund minus a 15% restocking fee.' }] });
    worker = await startTestWorker({ ...services, cache: new ExactCache(services.db, config.cache!) }, config);
  });
  afterAll(async () => {
    await worker?.stop();
    await server?.close();
    await services?.close();
  });
  beforeEach(() => {
    server.reset();
    server.onChat(() => ({ content: 'A 15% restocking fee [1].', usage: { promptTokens: 400, completionTokens: 10 } }));
  });

  const ask = async (question: string) => {
    const args: AnswerTaskInput = { tenantId: tenant, collection: 'kb', question, conversation: [], options: { mode: 'ensemble', topK: 3, candidates: 10, rrfK: 60, efSearch: 40 } };
    const handle = await worker.client.workflow.start<typeof answerQuestion>('answerQuestion', { taskQueue: worker.taskQueue, workflowId: uniqueId('task'), args: [args] });
    return handle.result();
  };
  const step = (r: Awaited<ReturnType<typeof ask>>, name: string) => r.steps.find((s) => s.name === name)!;

  it('serves a repeated question from the cache, retrieval and answer, at no cost', async () => {
    const question = `What is the restocking fee? (${uniqueId('q')})`;
    const first = await ask(question);
    expect(step(first, 'retrieve').detail).toMatchObject({ cache: { outcome: 'stored' } });
    expect(step(first, 'generate').detail).toMatchObject({ cache: { outcome: 'stored', scope: 'tenant' } });
    const second = await ask(question);
    expect(second.answer).toBe(first.answer);
    expect(step(second, 'retrieve').detail).toMatchObject({ cache: { outcome: 'hit' } });
    expect(step(second, 'generate').detail).toMatchObject({ cache: { outcome: 'hit', savedUsd: first.usage.costUsd } });
    expect(second.usage.costUsd).toBe(0);
    expect(server.requests.filter((r) => r.kind === 'chat')).toHaveLength(1);
  });

  it('does not serve a time-sensitive question from the cache', async () => {
    const question = `Is the returns desk open today? (${uniqueId('q')})`;
    await ask(question);
    const again = await ask(question);
    expect(step(again, 'generate').detail).toMatchObject({ cache: { outcome: 'uncacheable' } });
    expect(server.requests.filter((r) => r.kind === 'chat')).toHaveLength(2);
  });

  it('evicts a cached answer that failed its output checks, so it is never served again', async () => {
    const strict = uniqueId('t');
    await indexDocuments(services, { tenantId: strict, collection: 'kb', documents: [{ id: 'returns', text: '# Returns\n\nReturns within 30 days get a refund minus a 15% restocking fee.' }] });
    await new GuardrailPolicies(services.db).save(strict, { output: { brand: { competitors: ['Epson'], action: 'block' } } }, 'test');
    server.enqueue({ content: 'Unlike Epson, we charge a 15% restocking fee [1].' }, { content: 'A 15% restocking fee [1].' });
    const args: AnswerTaskInput = { tenantId: strict, collection: 'kb', question: 'What is the restocking fee?', conversation: [], options: { mode: 'ensemble', topK: 3, candidates: 10, rrfK: 60, efSearch: 40 } };
    const handle = await worker.client.workflow.start<typeof answerQuestion>('answerQuestion', { taskQueue: worker.taskQueue, workflowId: uniqueId('task'), args: [args] });
    const result = await handle.result();
    expect(result.answer).toBe('A 15% restocking fee [1].');
    const failedKey = (step(result, 'generate').detail as { cache: { key: string } }).cache.key;
    expect(step(result, 'cache_evict').detail).toMatchObject({ evicted: 1 });
    const { rows } = await services.db.query('SELECT 1 FROM cache_entries WHERE tenant_id = $1 AND key = $2', [strict, failedKey]);
    expect(rows).toHaveLength(0);
  });
});
