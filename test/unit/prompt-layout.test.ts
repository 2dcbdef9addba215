// Prompts are laid out stable-first — system prompt and fixed instructions, then tool schemas, the
// variable part (passages, question, transcript) last — so providers' prefix caches hit: two
// requests for different questions share their stable prefix byte for byte, and its hash.
import { describe, expect, it } from 'vitest';
import { decideNextStep } from '../../activities/agent/decide.js';
import { planTask } from '../../activities/agent/plan.js';
import { buildAnswerMessages, rewriteQuestion } from '../../activities/answering.js';
import type { ModelGateway } from '../../activities/gateway/gateway.js';
import type { ChatRequest, ChatResult } from '../../activities/gateway/types.js';
import { promptPrefixHash } from '../../activities/gateway/usage.js';
import type { Passage } from '../../activities/retrieval/types.js';
import { builtinTools, ToolRegistry } from '../../activities/tools/registry.js';

/** A gateway that keeps every request and answers with `content`. */
function recordingGateway(content: string) {
  const requests: ChatRequest[] = [];
  const gateway = {
    chat: async (req: ChatRequest): Promise<ChatResult> => {
      requests.push(req);
      return { content, toolCalls: [], model: 'scripted', usage: { inputTokens: 1, outputTokens: 1, costUsd: 0 }, latencyMs: 0, attempts: [] };
    },
  } as unknown as ModelGateway;
  return { gateway, requests };
}

/** The stable prefix: every system message and the tool schemas, serialised as sent. */
const stablePrefix = (req: Pick<ChatRequest, 'messages' | 'tools'>) =>
  JSON.stringify({ system: req.messages.filter((m) => m.role === 'system'), tools: req.tools ?? [] });

/** The first message that is not a system message comes after every system message. */
const systemFirst = (req: Pick<ChatRequest, 'messages'>) => {
  const roles = req.messages.map((m) => m.role);
  return roles.lastIndexOf('system') < roles.findIndex((r) => r !== 'system');
};

const passage = (text: string, title: string): Passage => ({ chunkId: `c-${title}`, documentId: title, title, heading: '', text, source: null, score: 1 }) as unknown as Passage;

describe('prompt layout', () => {
  it('generate: the same system prompt for any question and passages, the variable part after it', () => {
    const a = { messages: buildAnswerMessages('What is the restocking fee?', [passage('Opened printers carry a 15% fee.', 'returns')]) };
    const b = { messages: buildAnswerMessages('How do I clear an E-102 jam?', [passage('Open the rear door.', 'jams'), passage('Lower the levers.', 'jams-2')], 'cite [1]') };
    expect(stablePrefix(a)).toBe(stablePrefix(b));
    expect(promptPrefixHash(a)).toBe(promptPrefixHash(b));
    expect(systemFirst(a) && systemFirst(b)).toBe(true);
    expect(stablePrefix(a)).not.toContain('restocking');
  });

  it('rewrite: the same system prompt for any conversation', async () => {
    const { gateway, requests } = recordingGateway('{"resolved": true, "standalone": "q"}');
    await rewriteQuestion(gateway, { question: 'And for scanners?', conversation: [{ role: 'user', content: 'Fee for printers?' }], context: {} });
    await rewriteQuestion(gateway, { question: 'What about him?', conversation: [{ role: 'user', content: 'Who is Ana?' }, { role: 'assistant', content: 'A customer.' }], context: {} });
    expect(stablePrefix(requests[0]!)).toBe(stablePrefix(requests[1]!));
    expect(requests.every(systemFirst)).toBe(true);
  });

  it('decide: system prompt and tool schemas alike for two tasks, whatever order their tools were named in', async () => {
    const registry = new ToolRegistry(builtinTools({ updatableColumns: { customers: ['tier'] } }));
    const { gateway, requests } = recordingGateway('done');
    const base = { tenantId: 't', conversation: [], model: undefined };
    await decideNextStep(gateway, registry, { ...base, taskId: 'task-1', task: 'Refund order 17', transcript: [{ role: 'user', content: 'Refund order 17' }], tools: ['query_sql', 'issue_refund'] });
    await decideNextStep(gateway, registry, { ...base, taskId: 'task-2', task: 'Email Ana', transcript: [{ role: 'user', content: 'Email Ana' }], tools: ['issue_refund', 'query_sql'] });
    expect(requests[0]!.tools).toHaveLength(2);
    expect(stablePrefix(requests[0]!)).toBe(stablePrefix(requests[1]!));
    expect(promptPrefixHash(requests[0]!)).toBe(promptPrefixHash(requests[1]!));
    // No task id or task text in the prefix.
    expect(stablePrefix(requests[0]!)).not.toMatch(/task-1|Refund order/);
  });

  it('plan: the system prompt holds no task and no tool list', async () => {
    const { gateway, requests } = recordingGateway('{"subtasks": []}');
    await planTask(gateway, { tenantId: 't', taskId: 'a', task: 'Compare Q1 and Q2 refunds', tools: ['query_sql'] });
    await planTask(gateway, { tenantId: 't', taskId: 'b', task: 'Summarise the jam manual', tools: ['search_documents', 'web_search'] });
    expect(stablePrefix(requests[0]!)).toBe(stablePrefix(requests[1]!));
    expect(requests[1]!.messages.at(-1)!.content).toContain('search_documents, web_search');
  });

  it('the prefix hash changes with the system prompt or the tools, not with the user text', () => {
    const sys = (content: string) => ({ role: 'system' as const, content });
    const user = (content: string) => ({ role: 'user' as const, content });
    const tool = { name: 'lookup', description: 'Find it.', parameters: { type: 'object' } };
    const h = promptPrefixHash({ messages: [sys('Be brief.'), user('one')] });
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(promptPrefixHash({ messages: [sys('Be brief.'), user('two')] })).toBe(h);
    expect(promptPrefixHash({ messages: [sys('Be thorough.'), user('one')] })).not.toBe(h);
    expect(promptPrefixHash({ messages: [sys('Be brief.'), user('one')], tools: [tool] })).not.toBe(h);
  });
});
