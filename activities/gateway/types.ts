// The gateway's provider-neutral request and response shapes.
import type { Passage } from '../retrieval/types.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * What the offline `local` model needs to do its job without understanding free text: the
 * structured task behind the prompt. Remote models read `messages`; the local model reads this.
 */
export type OfflineTask =
  | { kind: 'answer'; question: string; passages: Array<Pick<Passage, 'text' | 'title' | 'heading'> & { score?: number }> }
  | { kind: 'rewrite'; question: string; conversation: ConversationTurn[] };

export interface ConversationTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  messages: ChatMessage[];
  /** Start the fallback chain at this model instead of the configured default. */
  model?: string;
  responseFormat?: 'text' | 'json';
  maxTokens?: number;
  temperature?: number;
  offline?: OfflineTask;
  /** Aborts the call, e.g. when the task is cancelled. */
  signal?: AbortSignal;
}

export interface CallContext {
  tenantId?: string;
  taskId?: string;
  step?: string;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export type AttemptOutcome =
  | 'ok'
  | 'rate_limited'
  | 'server_error'
  | 'timeout'
  | 'unavailable'
  | 'malformed'
  | 'context_overflow'
  | 'rejected';

export interface Attempt {
  model: string;
  outcome: AttemptOutcome;
  latencyMs: number;
  error?: string;
}

export interface ChatResult {
  content: string;
  /** The registry name of the model that produced the content. */
  model: string;
  usage: Usage;
  latencyMs: number;
  attempts: Attempt[];
}
