// The router inside answerQuestion, on a real Temporal dev server and real Postgres: a tenant's
// routing document sends a question to a clarifying question, a stock answer, another
// collection and model, a model whose window the prompt outgrows (cut by the stated rule), or
// an agent — and the task records the route it took.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RoutingDocuments, type RoutingDocumentInput } from '../../activities/router/document.js';
import type { Services } from '../../infra/services.js';
import type { answerQuestion } from '../../workflows/answer.js';
import type { AnswerTaskInput } from '../../workflows/messages.js';
import { agentInput, startAgent } from '../support/agents.js';
import { indexDocuments } from '../support/corpus.js';
import { startTestWorker, testConfig, testServices, uniqueId, type TestWorker } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

const FREEZE_OR_WEATHER = 'Do you want to freeze your account, or are you talking about the weather?';

const routing: RoutingDocumentInput = {
  intents: [
    {
      name: 'freeze_account',
      clarifyAs: 'do you want to freeze your account',
      keywords: ['freeze', 'freezing', 'lock my account'],
      examples: ['freeze my account', 'please lock my account, my card was stolen'],
      route: { kind: 'agent', tools: ['search_documents'] },
    },
    {
      name: 'weather',
      clarifyAs: 'are you talking about the weather',
      keywords: ['freezing', 'weather', 'snow'],
      examples: ["it's freezing outside", 'will it snow tomorrow'],
      route: { kind: 'stock', answer: "I can't tell you about the weather, sorry." },
    },
    { name: 'returns', keywords: ['refund', 'return'], examples: ['can I return my printer'], route: { kind: 'retrieval', collection: 'policies', model: 'large' } },
    { name: 'wifi', keywords: ['wi-fi', 'network'], examples: ['which networks does the printer join'], route: { kind: 'model', model: 'small', overflow: 'truncate' } },
  ],
};

describe('answerQuestion through the router', () => {
  let server: ScriptedModelServer;
  let services: Services;
  let worker: TestWorker;
  const tenant = uniqueId('t');

  beforeAll(async () => {
    server = await startScriptedModelServer({ models: ['primary', 'small', 'large'] });
    const config = testConfig({
      OPENAI_BASE_URL: server.baseUrl,
      GATEHOUSE_CHAT_MODEL: 'primary',
      GATEHOUSE_MODEL_RETRIES: '0',
      // `small` leaves 1,024 − 600 reply tokens for the prompt: three long passages do not fit.
      GATEHOUSE_MODELS: JSON.stringify([{ name: 'primary' }, { name: 'small', contextWindow: 1024 }, { name: 'large', contextWindow: 128_000 }]),
    });
    services = await testServices('pglite', config);
    const long = (topic: string) => `# ${topic}\n\n${Array.from({ length: 40 }, (_, i) => `The Jet 5 printer joins 2.4 GHz Wi-Fi networks only, note ${i} on ${topic}.`).join(' ')}`;
    await indexDocuments(services, {
      tenantId: tenant,
      collection: 'kb',
      documents: [
        { id: 'wifi-a', title: 'Wi-Fi A', text: long('setup') },
        { id: 'wifi-b', title: 'Wi-Fi B', text: long('troubleshooting') },
        { id: 'wifi-c', title: 'Wi-Fi C', text: long('routers') },
      ],
    });
    await indexDocuments(services, {
      tenantId: tenant,
      collection: 'policies',
      documents: [{ id: 'returns', title: 'Returns', text: '# Returns\n\nReturns within 30 days get a full refund minus a 15% restocking fee.' }],
    });
    await new RoutingDocuments(services.db).save(tenant, routing, 'test');
    worker = await startTestWorker(services, config);
  });
  afterAll(async () => {
    await worker?.stop();
    await server?.close();
    await services?.close();
  });
  beforeEach(() => server.reset());

  const ask = async (question: string, options: Partial<AnswerTaskInput['options']> = {}) => {
    const args: AnswerTaskInput = { tenantId: tenant, collection: 'kb', question, conversation: [], options: { mode: 'ensemble', topK: 3, candidates: 10, rrfK: 60, efSearch: 40, ...options } };
    const workflowId = uniqueId('task');
    const handle = await worker.client.workflow.start<typeof answerQuestion>('answerQuestion', { taskQueue: worker.taskQueue, workflowId, args: [args] });
    return { workflowId, result: await handle.result() };
  };
  const chats = () => server.requests.filter((r) => r.kind === 'chat');

  it('asks which one is meant when a keyword belongs to two intents and nothing else is said', async () => {
    const { result } = await ask('Freezing');
    expect(result.answer).toBe(FREEZE_OR_WEATHER);
    expect(result.resolved).toBe(false);
    expect(result.route).toMatchObject({ intent: null, stage: 'rules', target: { kind: 'clarify' }, version: 1 });
    expect(chats()).toHaveLength(0);
    expect(result.steps.map((s) => [s.name, s.status])).toEqual([['input_guard', 'completed'], ['route', 'completed'], ['rewrite_query', 'skipped']]);
  });

  it('answers a stock answer without a model call', async () => {
    const { result } = await ask('What is the weather like?');
    expect(result.answer).toBe("I can't tell you about the weather, sorry.");
    expect(result.route).toMatchObject({ intent: 'weather', stage: 'rules', target: { kind: 'stock' } });
    expect(result.model).toBe('none');
    expect(chats()).toHaveLength(0);
  });

  it("answers from the route's collection with the route's model, unless the caller names a model", async () => {
    server.onChat(() => ({ content: 'You get a full refund minus a 15% restocking fee [1].' }));
    const { result } = await ask('Can I get a refund?');
    expect(result.route).toMatchObject({ intent: 'returns', target: { kind: 'retrieval', collection: 'policies' }, model: 'large' });
    expect(result.model).toBe('large');
    expect(result.citations[0]?.documentId).toBe('returns');
    expect(chats().map((r) => r.model)).toEqual(['large']);

    server.reset();
    server.onChat(() => ({ content: 'A full refund minus the fee [1].' }));
    const pinned = await ask('Can I get a refund?', { model: 'primary' });
    expect(pinned.result.model).toBe('primary');
    expect(pinned.result.citations[0]?.documentId).toBe('returns');
  });

  it("cuts a prompt that outgrows the route's model by the stated rule, and says so in the step", async () => {
    server.onChat(() => ({ content: 'It joins 2.4 GHz networks only [1].' }));
    const { result } = await ask('Which Wi-Fi networks does the Jet 5 join?');
    expect(result.route).toMatchObject({ intent: 'wifi', target: { kind: 'model', model: 'small', overflow: 'truncate' } });
    expect(result.model).toBe('small');
    const sent = JSON.stringify(chats()[0]!.body);
    expect(sent).toMatch(/tokens cut to fit the model's context window/);
    const generate = result.steps.find((s) => s.name === 'generate')!;
    expect(generate.detail).toMatchObject({ contextFit: { rule: 'truncate', model: 'small' } });
    expect((generate.detail as { contextFit: { cutTokens: number } }).contextFit.cutTokens).toBeGreaterThan(100);
  });

  it('hands the question to an agent with the route\'s tools, and answers with its answer', async () => {
    server.onChat(() => ({ content: 'Your account can be frozen from the settings page.' }));
    const { workflowId, result } = await ask('Please lock my account');
    expect(result.route).toMatchObject({ intent: 'freeze_account', target: { kind: 'agent', tools: ['search_documents'] } });
    expect(result.agentTaskId).toBe(`${workflowId}.agent`);
    expect(result.answer).toBe('Your account can be frozen from the settings page.');
    const child = await worker.client.workflow.getHandle(`${workflowId}.agent`).describe();
    expect(child.type).toBe('runAgent');
    // The agent was offered the route's tools and no others.
    const tools = (chats()[0]!.body as { tools?: Array<{ function: { name: string } }> }).tools?.map((t) => t.function.name);
    expect(tools).toEqual(['search_documents']);
  });

  describe('runAgent', () => {
    const runAgentWith = async (text: string, options: Parameters<typeof agentInput>[2] = {}) => {
      const handle = await startAgent(worker.client, worker.taskQueue, agentInput(tenant, text, { keepOpenSeconds: 0, ...options }, { collection: 'kb' }));
      return handle.result();
    };

    it('answers a clarifying question or a stock answer without a model call, and records the route', async () => {
      const clarify = await runAgentWith('Freezing');
      expect(clarify.answer).toBe(FREEZE_OR_WEATHER);
      expect(clarify.route).toMatchObject({ stage: 'rules', target: { kind: 'clarify' } });
      const stock = await runAgentWith('Will it snow?');
      expect(stock.answer).toBe("I can't tell you about the weather, sorry.");
      expect(stock.steps.map((s) => s.name)).toEqual(['input_guard', 'route', 'route_answer']);
      expect(chats()).toHaveLength(0);
    });

    it("offers only the route's tools, and uses the route's model", async () => {
      server.onChat(() => ({ content: 'Done: your account is locked.' }));
      const result = await runAgentWith('Please lock my account', { tools: ['search_documents', 'query_sql'] });
      expect(result.route).toMatchObject({ intent: 'freeze_account', target: { kind: 'agent' } });
      const offered = (chats()[0]!.body as { tools?: Array<{ function: { name: string } }> }).tools?.map((t) => t.function.name);
      expect(offered).toEqual(['search_documents']);

      server.reset();
      server.onChat(() => ({ content: 'You get a refund minus a fee.' }));
      const returns = await runAgentWith('Can I get a refund?');
      expect(returns.route).toMatchObject({ intent: 'returns', model: 'large' });
      expect(chats().map((r) => r.model)).toEqual(['large']);
    });
  });
});
