// answerQuestion on a real Temporal dev server, with retrieval in real Postgres and the model
// replaced by the scripted OpenAI-compatible server.
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ModelGateway } from '../../activities/gateway/gateway.js';
import type { Services } from '../../infra/services.js';
import type { answerQuestion } from '../../workflows/answer.js';
import type { AnswerTaskInput } from '../../workflows/messages.js';
import { answerStatusQuery } from '../../workflows/messages.js';
import { indexDocuments } from '../support/corpus.js';
import { startTestWorker, testConfig, testLog, testServices, uniqueId, type TestWorker } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

const docs = [
  { id: 'returns', title: 'Returns', text: '# Returns\n\nReturns within 30 days get a full refund minus a 15% restocking fee. Defective printers are exempt from the fee.' },
  { id: 'orders', title: 'Orders', text: '# Orders\n\nJohn Doe last bought a printer on 2024-03-02. Emily Doe last bought toner on 2024-05-17.' },
  { id: 'wifi', title: 'Wi-Fi', text: '# Wi-Fi\n\nThe Jet 5 joins 2.4 GHz networks only.' },
];

describe('answerQuestion workflow', () => {
  let server: ScriptedModelServer;
  let services: Services;
  let worker: TestWorker;
  let offlineWorker: TestWorker;
  const tenant = uniqueId('t');

  beforeAll(async () => {
    server = await startScriptedModelServer({ models: ['primary', 'secondary'] });
    const config = testConfig({
      OPENAI_BASE_URL: server.baseUrl,
      GATEHOUSE_CHAT_MODEL: 'primary',
      GATEHOUSE_MODEL_FALLBACKS: 'secondary',
      GATEHOUSE_MODEL_TIMEOUT_MS: '2000',
      // The fallback chain alone: retries of one deployment have their own tests (resilience.test.ts).
      GATEHOUSE_MODEL_RETRIES: '0',
      GATEHOUSE_MODELS: JSON.stringify([{ name: 'primary', inputPricePerMTok: 1, outputPricePerMTok: 2 }, { name: 'secondary' }]),
    });
    services = await testServices('pglite', config);
    await indexDocuments(services, { tenantId: tenant, collection: 'kb', documents: docs });
    worker = await startTestWorker(services, config);
    // A second worker whose only model is the offline one.
    const offline = testConfig();
    offlineWorker = await startTestWorker(
      { ...services, gateway: new ModelGateway({ registry: offline.models.registry, chain: offline.models.chain, db: services.db, log: testLog }) },
      offline,
    );
  });
  afterAll(async () => {
    await worker?.stop();
    await offlineWorker?.stop();
    await server?.close();
    await services?.close();
  });
  beforeEach(() => server.reset());

  const input = (question: string, extra: Partial<AnswerTaskInput> = {}): AnswerTaskInput => ({
    tenantId: tenant,
    collection: 'kb',
    question,
    conversation: [],
    options: { mode: 'ensemble', topK: 3, candidates: 10, rrfK: 60, efSearch: 40 },
    ...extra,
  });

  function run(w: TestWorker, args: AnswerTaskInput, workflowId = uniqueId('task')) {
    return w.client.workflow.start<typeof answerQuestion>('answerQuestion', { taskQueue: w.taskQueue, workflowId, args: [args] });
  }

  it('retrieves, orders the context, generates a cited answer and records every step', async () => {
    // The best passage is ranked first, and attention ordering keeps rank 1 at the front: [1].
    server.enqueue({ content: 'A 15% restocking fee applies [1].', usage: { promptTokens: 300, completionTokens: 12 } });
    const handle = await run(worker, input('What is the restocking fee for returns?'));
    const result = await handle.result();
    expect(result.answer).toBe('A 15% restocking fee applies [1].');
    expect(result.model).toBe('primary');
    expect(result.citations).toHaveLength(1);
    expect(result.citations[0]).toMatchObject({ documentId: 'returns', title: 'Returns' });
    expect(result.steps.map((s) => [s.name, s.status])).toEqual([
      ['input_guard', 'completed'],
      ['route', 'completed'],
      ['rewrite_query', 'skipped'],
      ['retrieve', 'completed'],
      ['screen_context', 'completed'],
      ['generate', 'completed'],
      ['output_guard', 'completed'],
    ]);
    expect(result.guardrails).toMatchObject({ policyVersion: 0, verdict: 'passed', remedies: [] });
    const generate = result.steps[5]!;
    expect(generate.usage).toEqual({ inputTokens: 300, outputTokens: 12, costUsd: 0.000324 });
    expect(generate.latencyMs).toBeGreaterThanOrEqual(0);
    expect(result.usage).toEqual({ inputTokens: 300, outputTokens: 12, costUsd: 0.000324 });
    expect(result.steps[3]!.detail).toMatchObject({ mode: 'ensemble', passages: 3 });
    // The prompt carried the passages in attention order with the question last.
    const prompt = String((server.requests[0]!.body as { messages: Array<{ content: string }> }).messages.at(-1)!.content);
    expect(prompt).toMatch(/^Passages:\n\n\[1\] <<<UNTRUSTED passage_1>>>/);
    expect(prompt.trim().endsWith('Question: What is the restocking fee for returns?')).toBe(true);
    // The status query of the finished run shows the same steps.
    const status = await handle.query(answerStatusQuery);
    expect(status.phase).toBe('done');
    expect(status.steps).toEqual(result.steps);
  });

  it('shows steps so far while the model is still working', async () => {
    server.enqueue({ content: 'The Jet 5 joins 2.4 GHz networks only [1].', delayMs: 1_500 });
    const handle = await run(worker, input('Which networks does the Jet 5 join?'));
    let status = await handle.query(answerStatusQuery);
    for (let i = 0; i < 50 && status.phase !== 'generating'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = await handle.query(answerStatusQuery);
    }
    expect(status.phase).toBe('generating');
    expect(status.steps.find((s) => s.name === 'retrieve')?.status).toBe('completed');
    expect(status.steps.find((s) => s.name === 'generate')?.status).toBe('running');
    expect((await handle.result()).answer).toBe('The Jet 5 joins 2.4 GHz networks only [1].');
  });

  it('rewrites a follow-up against the conversation before retrieving', async () => {
    server.enqueue(
      { content: JSON.stringify({ resolved: true, standalone: 'When did Emily Doe last buy something?' }) },
      { content: 'Emily Doe last bought toner on 2024-05-17 [1].' },
    );
    const result = await (
      await run(worker, input('How about Emily Doe?', { conversation: [{ role: 'user', content: 'When did John Doe last buy something?' }, { role: 'assistant', content: 'On 2024-03-02.' }] }))
    ).result();
    expect(result.question).toEqual({ original: 'How about Emily Doe?', standalone: 'When did Emily Doe last buy something?' });
    expect(result.steps[1]).toMatchObject({ name: 'rewrite_query', status: 'completed', model: 'primary' });
    expect((server.requests[0]!.body as { response_format?: { type: string } }).response_format).toEqual({ type: 'json_object' });
    const generatePrompt = JSON.stringify(server.requests[1]!.body);
    expect(generatePrompt).toContain('Question: When did Emily Doe last buy something?');
    expect(result.citations[0]?.documentId).toBe('orders');
  });

  it('rewrites with GATEHOUSE_REWRITE_MODEL when the deployment names one, and answers with the task model', async () => {
    const config = testConfig({
      OPENAI_BASE_URL: server.baseUrl,
      GATEHOUSE_CHAT_MODEL: 'primary',
      GATEHOUSE_MODEL_FALLBACKS: 'secondary',
      GATEHOUSE_REWRITE_MODEL: 'secondary',
      GATEHOUSE_MODELS: JSON.stringify([{ name: 'primary' }, { name: 'secondary' }]),
    });
    const rewriting = await startTestWorker(services, config);
    try {
      server.enqueue(
        { match: { model: 'secondary' }, content: JSON.stringify({ resolved: true, standalone: 'When did Emily Doe last buy something?' }) },
        { match: { model: 'primary' }, content: 'Emily Doe last bought toner on 2024-05-17 [1].' },
      );
      const result = await (
        await run(rewriting, input('How about Emily Doe?', { conversation: [{ role: 'user', content: 'When did John Doe last buy something?' }, { role: 'assistant', content: 'On 2024-03-02.' }] }))
      ).result();
      expect(result.steps[1]).toMatchObject({ name: 'rewrite_query', status: 'completed', model: 'secondary' });
      expect(server.requests.map((r) => (r.body as { model: string }).model)).toEqual(['secondary', 'primary']);
      expect(result.model).toBe('primary');
    } finally {
      await rewriting.stop();
    }
  });

  it('says so when a follow-up cannot be resolved, without retrieving or generating', async () => {
    server.enqueue({ content: JSON.stringify({ resolved: false, missing: "who John Doe's wife is" }) });
    const result = await (
      await run(worker, input('How about his wife?', { conversation: [{ role: 'user', content: 'When did John Doe last buy something?' }] }))
    ).result();
    expect(result.resolved).toBe(false);
    expect(result.answer).toContain("who John Doe's wife is");
    expect(result.steps.map((s) => s.name)).toEqual(['input_guard', 'rewrite_query']);
    expect(server.requests).toHaveLength(1);
  });

  it('answers offline with the local model, extractively and with citations', async () => {
    const result = await (await run(offlineWorker, input('What is the restocking fee for returns?'))).result();
    expect(result.model).toBe('local');
    expect(result.answer).toContain('15% restocking fee');
    expect(result.citations.map((c) => c.documentId)).toContain('returns');
    expect(server.requests).toHaveLength(0);

    // The offline rewriter resolves "How about Emily Doe?" and refuses "his wife".
    const follow = await (
      await run(offlineWorker, input('How about Emily Doe?', { conversation: [{ role: 'user', content: 'When did John Doe last buy something?' }] }))
    ).result();
    expect(follow.question.standalone).toBe('When did Emily Doe last buy something?');
    expect(follow.answer).toContain('Emily Doe last bought toner on 2024-05-17');
    const wife = await (
      await run(offlineWorker, input('How about his wife?', { conversation: [{ role: 'user', content: 'When did John Doe last buy something?' }] }))
    ).result();
    expect(wife.resolved).toBe(false);
  });

  it('walks the fallback chain and, when every model fails, retries the activity', async () => {
    server.enqueue(
      { error: { status: 429 }, match: { model: 'primary' } },
      { content: 'Returns within 30 days get a full refund minus a 15% restocking fee [1].', match: { model: 'secondary' } },
    );
    const first = await (await run(worker, input('What is the restocking fee?'))).result();
    expect(first.model).toBe('secondary');
    expect(first.steps.find((s) => s.name === 'generate')!.detail!.attempts).toMatchObject([{ model: 'primary', outcome: 'rate_limited' }, { model: 'secondary', outcome: 'ok' }]);

    // Attempt 1: both models fail → the activity fails → Temporal retries it → attempt 2 succeeds.
    server.enqueue({ error: { status: 500 } }, { error: { status: 503 } }, { content: 'A 15% restocking fee applies [1].' });
    const second = await (await run(worker, input('What is the restocking fee?'))).result();
    expect(second.answer).toBe('A 15% restocking fee applies [1].');
    expect(server.requests.filter((r) => r.kind === 'chat')).toHaveLength(5);
  });

  it('fails the task, without retrying, when the provider rejects the request', async () => {
    server.enqueue({ error: { status: 400, message: 'unsupported parameter' } });
    const handle = await run(worker, input('What is the restocking fee?'));
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(server.requests.filter((r) => r.kind === 'chat')).toHaveLength(1);
    const status = await handle.query(answerStatusQuery);
    expect(status.steps.at(-1)).toMatchObject({ name: 'generate', status: 'failed' });
    expect(status.steps.at(-1)!.error).toMatch(/rejected the request/);
  });

  it('can be cancelled while the model is working', async () => {
    server.enqueue({ hangMs: 30_000 });
    const handle = await run(worker, input('What is the restocking fee?'));
    for (let i = 0; i < 100 && server.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
    expect((await handle.describe()).status.name).toBe('CANCELLED');
  });
});
