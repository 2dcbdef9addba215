// Task types and the messages (queries now; signals and updates later) that the API and the
// Temporal UI exchange with running workflows.
import { defineQuery } from '@temporalio/workflow';
import type { Citation } from '../activities/answering.js';
import type { Usage } from '../activities/gateway/types.js';
import type { IngestionSummary } from '../activities/index.js';
import type { RetrievalMode } from '../activities/retrieval/types.js';

export type { Citation, Usage };

export interface ConversationTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface AnswerOptions {
  mode: RetrievalMode;
  topK: number;
  candidates: number;
  rrfK: number;
  efSearch: number;
  rerank?: 'similarity' | 'fused';
  model?: string;
  filter?: Record<string, unknown>;
}

export interface AnswerTaskInput {
  tenantId: string;
  collection: string;
  question: string;
  conversation: ConversationTurn[];
  options: AnswerOptions;
}

export type StepStatus = 'running' | 'completed' | 'failed' | 'skipped';

/** One step of a task as the status query and the API show it. */
export interface StepRecord {
  name: string;
  status: StepStatus;
  /** Workflow time (deterministic), ISO 8601. */
  startedAt: string;
  /** Time the step's own work took, measured where it ran. */
  latencyMs?: number;
  model?: string;
  usage?: Usage;
  detail?: Record<string, unknown>;
  error?: string;
}

export interface AnswerResult {
  answer: string;
  citations: Citation[];
  /** The model that wrote the answer ('local' offline; 'none' when nothing was retrieved). */
  model: string;
  usage: Usage;
  steps: StepRecord[];
  question: { original: string; standalone?: string };
  /** False when a follow-up referred to something the conversation does not establish. */
  resolved: boolean;
}

export interface AnswerStatus {
  phase: 'rewriting' | 'retrieving' | 'generating' | 'done';
  steps: StepRecord[];
  usage: Usage;
}

export const answerStatusQuery = defineQuery<AnswerStatus>('status');

export interface IngestInput {
  ingestionId: string;
  tenantId: string;
  documentCount: number;
  batchSize: number;
  parallelBatches: number;
}

export interface IngestProgress {
  documents: number;
  processed: number;
  indexed: number;
  unchanged: number;
  failed: number;
  chunks: number;
  batches: { total: number; done: number };
  embedMs: number;
}

export type IngestResult = IngestionSummary & { embedMs: number };

export const ingestProgressQuery = defineQuery<IngestProgress>('progress');
