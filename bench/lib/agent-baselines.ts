// The agent loop benchmark's contenders other than Gatehouse, and what all three share: the
// scripted model's behaviour (a fixed number of `bench_lookup` tool calls, then "done"), the
// trivial tool, and two baselines running the same model call + tool call per step —
// LangGraph.js with its Postgres checkpointer (durability "sync"), and a plain in-process loop
// with no persistence at all (the floor). Every contender calls the model through the real
// `openai` client over HTTP, against the same scripted server.
import { AIMessage, HumanMessage, SystemMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { END, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import type OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import pg from 'pg';
import type { ChatRequestBody, ChatResponder } from '../../test/support/scripted-model-server.js';
import { AGENT_SYSTEM_PROMPT } from '../../activities/agent/decide.js';
import { BENCH_INPUT, BENCH_TOOL_NAME, benchLookup, benchLookupTool } from './agent-config.js';

export { BENCH_INPUT, BENCH_TOOL_NAME, benchLookup, benchLookupTool };

/** The tool as the baselines offer it to the model (what Gatehouse derives from the zod schema). */
export const BENCH_TOOL_SPEC: ChatCompletionTool = {
  type: 'function',
  function: {
    name: BENCH_TOOL_NAME,
    description: benchLookupTool.description,
    parameters: { type: 'object', properties: { key: { type: 'string', minLength: 1 } }, required: ['key'], additionalProperties: false },
  },
};

function offeredTools(req: ChatRequestBody): string[] {
  return (req.tools ?? []).map((t) => ('function' in t ? t.function.name : '')).filter(Boolean);
}

function toolResults(req: ChatRequestBody): number {
  return req.messages.filter((m) => m.role === 'tool').length;
}

/**
 * The zero-latency scripted agent model: while the conversation holds fewer than `steps`
 * tool results it asks for one more `bench_lookup` (key k<i>), then answers "done". Requests
 * that offer no `bench_lookup` (anything else the product might ask a model) get a short
 * plain answer, counted in `other`.
 */
export function loopResponder(steps: number, counters = { agent: 0, other: 0 }): ChatResponder {
  return (req) => {
    if (!offeredTools(req).includes(BENCH_TOOL_NAME)) {
      counters.other++;
      const json = req.response_format?.type === 'json_object' || req.response_format?.type === 'json_schema';
      return { content: json ? '{}' : 'ok', usage: { promptTokens: 10, completionTokens: 1 } };
    }
    counters.agent++;
    const done = toolResults(req);
    if (done >= steps) return { content: 'done', usage: { promptTokens: 50 + 20 * done, completionTokens: 1 } };
    return {
      toolCalls: [{ name: BENCH_TOOL_NAME, arguments: { key: `k${done}` } }],
      usage: { promptTokens: 50 + 20 * done, completionTokens: 10 },
    };
  };
}

// ---------------------------------------------------------------------------------------------
// The floor: a plain in-process loop, no persistence
// ---------------------------------------------------------------------------------------------

/** One agent task as a while loop: model call, tool call, until the model answers. Returns the step count. */
export async function runPlainLoop(openai: OpenAI, model: string, input = BENCH_INPUT): Promise<number> {
  // The same system prompt Gatehouse sends, so every contender's requests are alike.
  const messages: ChatCompletionMessageParam[] = [
    { role: 'system', content: AGENT_SYSTEM_PROMPT },
    { role: 'user', content: input },
  ];
  let steps = 0;
  for (;;) {
    const completion = await openai.chat.completions.create({ model, messages, tools: [BENCH_TOOL_SPEC] });
    const message = completion.choices[0]!.message;
    const calls = (message.tool_calls ?? []).filter((c) => c.type === 'function');
    if (calls.length === 0) return steps;
    messages.push({ role: 'assistant', content: message.content, tool_calls: calls });
    for (const call of calls) {
      const args = JSON.parse(call.function.arguments) as { key: string };
      messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify(benchLookup(args.key)) });
    }
    steps++;
  }
}

// ---------------------------------------------------------------------------------------------
// LangGraph.js: the classic ReAct graph, checkpointed to Postgres
// ---------------------------------------------------------------------------------------------

/** LangChain messages → the OpenAI chat format (what ChatOpenAI does, by hand: no @langchain/openai here). */
function toOpenAi(messages: BaseMessage[]): ChatCompletionMessageParam[] {
  return messages.map((m): ChatCompletionMessageParam => {
    if (m instanceof SystemMessage) return { role: 'system', content: String(m.content) };
    if (m instanceof ToolMessage) return { role: 'tool', tool_call_id: m.tool_call_id, content: String(m.content) };
    if (m instanceof AIMessage) {
      const calls = (m.tool_calls ?? []).map((c) => ({ id: c.id!, type: 'function' as const, function: { name: c.name, arguments: JSON.stringify(c.args) } }));
      return { role: 'assistant', content: typeof m.content === 'string' ? m.content : '', ...(calls.length ? { tool_calls: calls } : {}) };
    }
    return { role: 'user', content: String(m.content) };
  });
}

export interface LangGraphAgent {
  /** Runs one task on its own thread (checkpointed every superstep, synchronously, when durable). Returns the step count. */
  run(threadId: string, input?: string): Promise<number>;
  /** Checkpoint rows written so far (checkpoints, blobs, writes). */
  rows(): Promise<{ checkpoints: number; blobs: number; writes: number }>;
  close(): Promise<void>;
}

/**
 * The ReAct loop as a hand-written StateGraph over MessagesAnnotation: `agent` calls the model
 * with the tool, `tools` runs the tool calls, a conditional edge loops back or ends. Compiled
 * with PostgresSaver (schema `schema` on `databaseUrl`, its own pool of `poolSize`), invoked
 * with durability "sync": each superstep's checkpoint is committed before the next starts.
 */
export async function createLangGraphAgent(opts: {
  openai: OpenAI;
  model: string;
  databaseUrl: string;
  schema?: string;
  poolSize?: number;
  /** false: compiled without a checkpointer (a reference: the framework without persistence). */
  durable?: boolean;
}): Promise<LangGraphAgent> {
  const schema = opts.schema ?? 'langgraph';
  const durable = opts.durable ?? true;
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10 });
  // An idle connection's error (the server shutting down at the end of a run) must not crash the process.
  pool.on('error', () => undefined);
  const checkpointer = durable ? new PostgresSaver(pool, undefined, { schema }) : undefined;
  await checkpointer?.setup();

  const agent = async (state: typeof MessagesAnnotation.State) => {
    const completion = await opts.openai.chat.completions.create({ model: opts.model, messages: toOpenAi([new SystemMessage(AGENT_SYSTEM_PROMPT), ...state.messages]), tools: [BENCH_TOOL_SPEC] });
    const message = completion.choices[0]!.message;
    const calls = (message.tool_calls ?? []).filter((c) => c.type === 'function');
    return {
      messages: [
        new AIMessage({
          content: message.content ?? '',
          tool_calls: calls.map((c) => ({ id: c.id, name: c.function.name, args: JSON.parse(c.function.arguments) as Record<string, unknown>, type: 'tool_call' as const })),
        }),
      ],
    };
  };
  const tools = async (state: typeof MessagesAnnotation.State) => {
    const last = state.messages.at(-1) as AIMessage;
    return {
      messages: (last.tool_calls ?? []).map(
        (c) => new ToolMessage({ tool_call_id: c.id!, name: c.name, content: JSON.stringify(benchLookup(String((c.args as { key: unknown }).key))) }),
      ),
    };
  };
  const route = (state: typeof MessagesAnnotation.State) => ((state.messages.at(-1) as AIMessage).tool_calls?.length ? 'tools' : END);
  const graph = new StateGraph(MessagesAnnotation)
    .addNode('agent', agent)
    .addNode('tools', tools)
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', route, ['tools', END])
    .addEdge('tools', 'agent')
    .compile(checkpointer ? { checkpointer } : {});

  return {
    async run(threadId, input = BENCH_INPUT) {
      const out = await graph.invoke(
        { messages: [new HumanMessage(input)] },
        // Two supersteps per agent step: the default recursion limit (25) would stop at 12 steps.
        { configurable: { thread_id: threadId }, durability: 'sync', recursionLimit: 10_000 },
      );
      return out.messages.filter((m) => m instanceof ToolMessage).length;
    },
    async rows() {
      if (!durable) return { checkpoints: 0, blobs: 0, writes: 0 };
      const count = async (table: string) => Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".${table}`)).rows[0]!.n);
      return { checkpoints: await count('checkpoints'), blobs: await count('checkpoint_blobs'), writes: await count('checkpoint_writes') };
    },
    async close() {
      await pool.end();
    },
  };
}
