// Context-length routing in the gateway, through the real `openai` client to the scripted
// server: a tool that returned 8,000 tokens to a 4K model is cut by the stated rule (head and
// tail kept, the cut marked) or moved to the smallest model that holds it; without a rule the
// chain moves on as before.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { truncateToFit } from '../../activities/gateway/context-fit.js';
import { ModelGateway } from '../../activities/gateway/gateway.js';
import { estimatePromptTokens } from '../../activities/gateway/providers/index.js';
import type { ChatRequest } from '../../activities/gateway/types.js';
import { testConfig, testLog } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

describe('context-length routing', () => {
  let server: ScriptedModelServer;
  let gateway: ModelGateway;

  beforeAll(async () => {
    server = await startScriptedModelServer({ models: ['small-4k', 'mid-16k', 'big-128k'] });
    const config = testConfig({
      OPENAI_BASE_URL: server.baseUrl,
      GATEHOUSE_CHAT_MODEL: 'small-4k',
      GATEHOUSE_MODEL_RETRIES: '0',
      GATEHOUSE_MODELS: JSON.stringify([
        { name: 'small-4k', contextWindow: 4096, inputPricePerMTok: 0.1 },
        { name: 'big-128k', contextWindow: 128_000, inputPricePerMTok: 3 },
        { name: 'mid-16k', contextWindow: 16_384, inputPricePerMTok: 1 },
      ]),
    });
    gateway = new ModelGateway({ registry: config.models.registry, chain: config.models.chain, resilience: config.models.resilience, log: testLog });
  });
  afterAll(() => server.close());
  beforeEach(() => server.reset());

  // A tool's output of about 8,000 tokens: numbered lines, so which ones survived is visible.
  const toolOutput = Array.from({ length: 1000 }, (_, i) => `row ${i}: printer ${i} ok`).join('\n');
  const request = (overflow?: ChatRequest['overflow']): ChatRequest => ({
    messages: [
      { role: 'system', content: 'You are a support agent.' },
      { role: 'user', content: 'Which printers are ok?' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'query_sql', arguments: '{}' }] },
      { role: 'tool', toolCallId: 'c1', content: toolOutput },
    ],
    maxTokens: 500,
    tools: [{ name: 'query_sql', description: 'Run SQL', parameters: { type: 'object', properties: {} } }],
    overflow,
  });

  it('the tool output is about 8,000 tokens, twice the small window', () => {
    expect(estimatePromptTokens(request())).toBeGreaterThan(8000);
  });

  it('truncate: cuts the tool output in its middle to fit the 4K model, keeping head and tail, and says how much', async () => {
    server.onChat(() => ({ content: 'All of them.' }));
    const res = await gateway.chat(request('truncate'));
    expect(res.model).toBe('small-4k');
    expect(res.contextFit).toMatchObject({ rule: 'truncate', model: 'small-4k' });
    expect((res.contextFit as { cutTokens: number }).cutTokens).toBeGreaterThan(4000);
    const sent = server.requests[0]!.body as { messages: Array<{ role: string; content: string }> };
    const tool = sent.messages.find((m) => m.role === 'tool')!.content;
    expect(tool.startsWith('row 0: printer 0 ok')).toBe(true);
    expect(tool.endsWith('row 999: printer 999 ok')).toBe(true);
    expect(tool).toMatch(/\[… \d+ tokens cut to fit the model's context window …\]/);
    // The system prompt and the question are untouched.
    expect(sent.messages[0]!.content).toBe('You are a support agent.');
    expect(sent.messages[1]!.content).toBe('Which printers are ok?');
  });

  it('larger_model: moves to the smallest model whose window holds the prompt', async () => {
    server.onChat(() => ({ content: 'All of them.' }));
    const res = await gateway.chat(request('larger_model'));
    expect(res.model).toBe('mid-16k');
    expect(res.contextFit).toEqual({ rule: 'larger_model', from: 'small-4k', to: 'mid-16k' });
    expect(server.requests.map((r) => r.model)).toEqual(['mid-16k']);
    const tool = (server.requests[0]!.body as { messages: Array<{ role: string; content: string }> }).messages.find((m) => m.role === 'tool')!.content;
    expect(tool).toBe(toolOutput);
  });

  it('no rule: the only model cannot hold it, so the call fails as too large, with no request sent', async () => {
    await expect(gateway.chat(request())).rejects.toMatchObject({ type: 'ContextTooLarge' });
    expect(server.requests).toHaveLength(0);
  });

  it('truncate refuses to cut a message down to nothing', () => {
    expect(truncateToFit(request('truncate'), 40)).toBeUndefined();
  });
});
