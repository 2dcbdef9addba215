// The gateway's provider-neutral request and response shapes.
import type { ConversationTurn, Usage } from '../../contracts/task.js';
import type { Passage } from '../retrieval/types.js';
import type { ContextOverflow, RouteCache } from '../../contracts/routing.js';
import type { PromptUse } from '../../contracts/prompts.js';

export type { ConversationTurn, Usage };

export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; content: string };

/** A tool call as the model made it: arguments are the model's raw JSON text, unchecked. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** A tool as the model sees it: parameters are JSON Schema (from the tool's zod schema). */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/**
 * What the offline `local` model needs to do its job without understanding free text: the
 * structured task behind the prompt. Remote models read `messages`; the local model reads this.
 */
export type OfflineTask =
  | { kind: 'answer'; question: string; passages: Array<Pick<Passage, 'text' | 'title' | 'heading'> & { score?: number }> }
  | { kind: 'rewrite'; question: string; conversation: ConversationTurn[] }
  | { kind: 'sql'; question: string; tables: SqlTableSummary[] }
  | { kind: 'agent_step'; state: OfflineAgentState }
  | { kind: 'plan'; task: string; tools: string[] }
  /** A guardrail classifier's question; the local model can answer 'injection' only (local/classifier.ts). */
  | { kind: 'classify'; task: 'injection' | 'scope' | 'toxicity' | 'judge'; text: string }
  /** May the answer to this question be cached, and for whom (cache/cacheability.ts; local/cacheability.ts offline)? */
  | { kind: 'cacheability'; question: string };

/** What the offline rule-based planner reads: the task, the transcript of its own steps so far. */
export interface OfflineAgentState {
  task: string;
  conversation: ConversationTurn[];
  tools: string[];
  /** Every tool call so far with its outcome, oldest first. */
  observations: Array<{ tool: string; arguments: Record<string, unknown>; ok: boolean; content: unknown }>;
  /** Plan mode's final turn: the sub-tasks' answers. */
  subtaskResults?: Array<{ title: string; result: string }>;
}

/** What every model is asked to reply in text-to-SQL: a query, or null and why not. */
export interface SqlReply {
  sql: string | null;
  reason?: string;
}

/** A table as text-to-SQL shows it to a model: name, what it holds, its columns. */
export interface SqlTableSummary {
  name: string;
  description: string;
  columns: Array<{ name: string; type: string }>;
}

/** A forced tool call: any of the tools offered, or the one named. */
export type ToolChoice = 'required' | { name: string };

export interface ChatRequest {
  messages: ChatMessage[];
  /** Start the fallback chain at this model instead of the configured default. */
  model?: string;
  responseFormat?: 'text' | 'json';
  maxTokens?: number;
  temperature?: number;
  offline?: OfflineTask;
  /** Tools the model may call; its reply then carries either content or tool calls. */
  tools?: ToolSpec[];
  /**
   * Whether the model must call a tool: `required` forces a call of any of `tools`, `{ name }` a
   * call of that one. Absent, the model decides (auto). Ignored without tools.
   */
  toolChoice?: ToolChoice;
  /** Aborts the call, e.g. when the task is cancelled. */
  signal?: AbortSignal;
  /** Stream the reply: called with each piece of text as it arrives (answers only, no tools). */
  onDelta?: (text: string) => void;
  /** Ask for token log-probabilities (best-of-n can pick by their mean). */
  logprobs?: boolean;
  /** When the prompt outgrows a model's window: cut it, or move to a larger model (context-fit.ts); absent, the chain moves on. */
  overflow?: ContextOverflow;
  /**
   * The route a question took, for the caches: its name scopes the semantic layer, which only a
   * caller that passes a question as the last user message asks for (the proxy); its cache policy
   * may change the layer's mode and threshold and let a sampled reply be cached.
   */
  cacheRoute?: { name: string; policy?: RouteCache };
  /** The response cache neither serves nor stores this call, nor classifies it (the cacheability classifier's own question). */
  skipCache?: boolean;
  /** The versioned prompt the system message was rendered from (activities/prompts/): recorded, labelled and traced. */
  prompt?: PromptUse;
}

export interface CallContext {
  tenantId?: string;
  taskId?: string;
  step?: string;
  /** Who the call is for, when no task says so (limits/ resolves a task's caller from its row). */
  keyId?: string;
  userId?: string;
  application?: string;
  /** Outside an activity: the key that makes a retried request's reservation count once. */
  requestId?: string;
  /** The intent an answer task's question was routed by: a label of the call's metrics. */
  route?: string;
}

export type AttemptOutcome =
  | 'ok'
  | 'rate_limited'
  | 'server_error'
  | 'timeout'
  | 'unavailable'
  | 'malformed'
  | 'context_overflow'
  /** Skipped: the request needs something the model cannot do (tool calls). */
  | 'unsupported'
  /** Skipped: the deployment's circuit breaker is open (activities/gateway/resilience/breaker.ts). */
  | 'circuit_open'
  | 'rejected';

export interface Attempt {
  model: string;
  /** Which of the model's deployments was called (or skipped); absent when the model was skipped whole. */
  deployment?: string;
  outcome: AttemptOutcome;
  latencyMs: number;
  error?: string;
}

/** What the gateway did to make a prompt fit a model's window (context-fit.ts). */
export type ContextFit = { rule: 'truncate'; model: string; cutTokens: number } | { rule: 'larger_model'; from: string; to: string };

export interface ChatResult {
  content: string;
  /** The tool calls the model asked for (only when the request offered tools). */
  toolCalls: ToolCall[];
  /** The registry name of the model that produced the content. */
  model: string;
  usage: Usage;
  latencyMs: number;
  attempts: Attempt[];
  /** Mean token log-probability of the reply, when asked for and the provider reports it. */
  meanLogprob?: number;
  /** What the gateway did to make the prompt fit the model's window, if anything. */
  contextFit?: ContextFit;
  /** What the response cache did with this call (absent when the cache is off). */
  cache?: CacheOutcome;
  /** What the semantic layer did (absent unless the request named its route and the layer is on). */
  semanticCache?: CacheOutcome;
}

/** The response cache's verdict on a call: served from it, stored in it, or refused as uncacheable. */
export interface CacheOutcome {
  layer: 'exact' | 'semantic';
  /** miss and shadow: the semantic layer's (its miss stores the reply after the call). */
  outcome: 'hit' | 'stored' | 'uncacheable' | 'miss' | 'shadow';
  /** The semantic layer: the nearest cached question's similarity, and that question. */
  similarity?: number;
  cachedQuery?: string;
  /** Whom the entry is for: the tenant's shared entries, or the asking user's own. */
  scope?: 'tenant' | 'user';
  reason?: string;
  ageSeconds?: number;
  /** What the cached call cost when it was made: what the hit saved. */
  savedUsd?: number;
  /** The entry's key (a hash): what a reviewer's correction evicts. */
  key?: string;
}
