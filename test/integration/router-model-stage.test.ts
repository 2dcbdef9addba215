// The classifier's third stage: a request neither keywords nor examples decide goes to the
// document's small model through the gateway (the real `openai` client, the scripted server) —
// but only once its text is masked; before that the router defers.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ModelGateway } from '../../activities/gateway/gateway.js';
import { routingDocumentSchema, type RoutingDocuments } from '../../activities/router/document.js';
import { Router } from '../../activities/router/router.js';
import { TEST_EMBEDDER, testConfig, testLog } from '../support/harness-config.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

describe('the router asks a small model when rules and examples do not decide', () => {
  let server: ScriptedModelServer;
  let router: Router;

  beforeAll(async () => {
    server = await startScriptedModelServer({ models: ['primary', 'router-mini'] });
    const config = testConfig({ OPENAI_BASE_URL: server.baseUrl, GATEHOUSE_CHAT_MODEL: 'primary', GATEHOUSE_MODEL_RETRIES: '0', GATEHOUSE_MODELS: JSON.stringify([{ name: 'primary' }, { name: 'router-mini', inputPricePerMTok: 0.1 }]) });
    const gateway = new ModelGateway({ registry: config.models.registry, chain: config.models.chain, resilience: config.models.resilience, log: testLog });
    const document = routingDocumentSchema.parse({
      intents: [
        { name: 'billing', description: 'charges, invoices and payments', keywords: ['invoice'], examples: ['why was I charged twice'], route: { kind: 'model', model: 'primary' } },
        { name: 'repairs', description: 'a broken printer', keywords: ['jam'], examples: ['my printer is broken'], route: { kind: 'stock', answer: 'Book a repair at inkwell.example/repair.' } },
      ],
      classifier: { model: 'router-mini', minSimilarity: 0.99 },
    });
    const documents = { current: async () => ({ version: 2, document }) } as unknown as RoutingDocuments;
    router = new Router({ documents, gateway, embedder: TEST_EMBEDDER });
  });
  afterAll(() => server.close());
  beforeEach(() => server.reset());

  it('defers an undecided raw text instead of sending it to the model', async () => {
    const out = await router.route({ tenantId: 't', text: 'The thing on my desk makes a grinding noise', masked: false });
    expect(out.decided).toBe(false);
    expect(server.requests).toHaveLength(0);
  });

  it("routes the masked text by the model's answer, recording the model stage and its usage", async () => {
    server.onChat(() => ({ content: JSON.stringify({ intent: 'repairs' }), usage: { promptTokens: 120, completionTokens: 6 } }));
    const out = await router.route({ tenantId: 't', text: 'The thing on my desk makes a grinding noise', masked: true });
    expect(out.decided && out.decision).toMatchObject({ intent: 'repairs', stage: 'model', target: { kind: 'stock' } });
    expect(out.decided && out.usage).toMatchObject({ inputTokens: 120, outputTokens: 6 });
    expect(server.requests.map((r) => r.model)).toEqual(['router-mini']);
    const prompt = JSON.stringify(server.requests[0]!.body);
    expect(prompt).toContain('billing: charges, invoices and payments');
    expect(prompt).toContain('grinding noise');
  });

  it("asks which one is meant when the model says it could be either", async () => {
    server.onChat(() => ({ content: JSON.stringify({ ambiguous: ['billing', 'repairs'] }) }));
    const out = await router.route({ tenantId: 't', text: 'It went wrong again', masked: true });
    expect(out.decided && out.decision.target).toEqual({ kind: 'clarify', question: 'Do you mean charges, invoices and payments, or do you mean a broken printer?' });
  });

  it('falls back when the model answers nonsense or names no intent', async () => {
    server.onChat(() => ({ content: 'not json' }));
    const out = await router.route({ tenantId: 't', text: 'Tell me a story', masked: true });
    expect(out.decided && out.decision).toMatchObject({ intent: null, stage: 'fallback', target: { kind: 'model' } });
  });

  it('decides by keyword without asking the model', async () => {
    const out = await router.route({ tenantId: 't', text: 'Where is my invoice?', masked: false });
    expect(out.decided && out.decision).toMatchObject({ intent: 'billing', stage: 'rules' });
    expect(server.requests).toHaveLength(0);
  });
});
