// The model's turn in an agent loop: show it the task, the tools and the transcript; get back
// either a final answer or tool calls, each checked against the registry (unknown tools and
// arguments that fail the schema come back as errors for the workflow to feed back).
import type { ModelGateway } from '../gateway/gateway.js';
import type { ChatMessage, ConversationTurn, OfflineAgentState, Usage } from '../gateway/types.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { ToolKind } from '../tools/types.js';
import type { PromptUse } from '../../contracts/prompts.js';
import { BUILTIN_PROMPTS } from '../prompts/catalog.js';
import { promptUse, renderPrompt, resolvePrompt } from '../prompts/store.js';

export interface DecideInput {
  tenantId: string;
  taskId: string;
  /** The request the agent works on now (the latest user message, made standalone). */
  task: string;
  conversation: ConversationTurn[];
  transcript: ChatMessage[];
  tools: string[];
  model?: string;
  /** Plan mode's final turn: what the sub-tasks found. */
  subtaskResults?: Array<{ title: string; result: string }>;
}

/** A tool call as the model made it (rawArguments, for the transcript) and as the registry judged it. */
export type DecidedCall = { id: string; name: string; rawArguments: string } & (
  | { ok: true; kind: ToolKind; arguments: Record<string, unknown> }
  | { ok: false; error: string }
);

export interface DecideOutput {
  /** The final answer when there are no calls; otherwise the model's rationale, if it gave one. */
  content: string;
  calls: DecidedCall[];
  model: string;
  usage: Usage;
  latencyMs: number;
  /** The prompt version the turn used. */
  prompt?: PromptUse;
}

/** The agent prompt's built-in version (a tenant may activate others: activities/prompts/). */
export const AGENT_SYSTEM_PROMPT = BUILTIN_PROMPTS['agent.system'].template;

/** How a call's arguments cross the PII vault: the real values for checking, placeholders for keeping. */
export interface ArgumentMasking {
  unmask(args: unknown): Promise<unknown>;
  mask(args: Record<string, unknown>): Promise<Record<string, unknown>>;
}

const NO_MASKING: ArgumentMasking = { unmask: async (a) => a, mask: async (a) => a };

/**
 * The model writes PII placeholders such as [EMAIL_ADDRESS_1]: a call's arguments get their
 * real values back to be checked against the tool's schema (an email must be an email), and
 * are masked again for the workflow, its steps and the approval that shows them.
 */
export async function decideNextStep(
  gateway: ModelGateway,
  registry: ToolRegistry,
  input: DecideInput,
  signal?: AbortSignal,
  masking: ArgumentMasking = NO_MASKING,
): Promise<DecideOutput> {
  const prompt = await resolvePrompt(gateway, 'agent.system', input);
  const messages: ChatMessage[] = [{ role: 'system', content: renderPrompt(prompt) }, ...input.transcript];
  const res = await gateway.chat(
    {
      messages,
      prompt: promptUse(prompt),
      model: input.model,
      // In one order whatever order the task named them in: the tool schemas are part of the cached prefix.
      tools: registry.specs([...input.tools].sort()),
      maxTokens: 1024,
      offline: { kind: 'agent_step', state: offlineState(input) },
      signal,
    },
    { tenantId: input.tenantId, taskId: input.taskId, step: 'decide' },
  );
  const calls: DecidedCall[] = [];
  for (const call of res.toolCalls) {
    const checked = registry.check(call.name, await resolved(call.arguments, masking.unmask), input.tools);
    const base = { id: call.id, name: call.name, rawArguments: call.arguments };
    calls.push(
      checked.ok
        ? { ...base, ok: true as const, kind: checked.tool.kind, arguments: await masking.mask(checked.arguments) }
        : { ...base, ok: false as const, error: checked.error },
    );
  }
  return { content: res.content, calls, model: res.model, usage: res.usage, latencyMs: res.latencyMs, prompt: promptUse(prompt) };
}

async function resolved(raw: string, resolve: (args: unknown) => Promise<unknown>): Promise<string> {
  try {
    return JSON.stringify(await resolve(JSON.parse(raw)));
  } catch {
    return raw; // malformed JSON: the registry's check says so
  }
}

/** The transcript as the offline planner reads it: each tool call paired with its outcome. */
function offlineState(input: DecideInput): OfflineAgentState {
  // Only this turn's work: earlier turns answered earlier requests.
  const lastUser = input.transcript.map((m) => m.role).lastIndexOf('user');
  const turn = input.transcript.slice(lastUser + 1);
  const outcomes = new Map<string, { ok: boolean; content: unknown }>();
  for (const m of turn) {
    if (m.role !== 'tool') continue;
    try {
      const parsed = JSON.parse(m.content) as { ok: boolean; content?: unknown; error?: unknown };
      outcomes.set(m.toolCallId, { ok: parsed.ok, content: parsed.ok ? parsed.content : parsed });
    } catch {
      outcomes.set(m.toolCallId, { ok: false, content: m.content });
    }
  }
  const observations: OfflineAgentState['observations'] = [];
  for (const m of turn) {
    if (m.role !== 'assistant') continue;
    for (const call of m.toolCalls ?? []) {
      const outcome = outcomes.get(call.id);
      if (!outcome) continue;
      let args: Record<string, unknown> = {};
      try {
        args = JSON.parse(call.arguments) as Record<string, unknown>;
      } catch {
        // a malformed call: the outcome says so
      }
      observations.push({ tool: call.name, arguments: args, ...outcome });
    }
  }
  return { task: input.task, conversation: input.conversation, tools: input.tools, observations, subtaskResults: input.subtaskResults };
}
