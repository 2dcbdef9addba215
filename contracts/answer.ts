// answerQuestion's contract: what a task asks, what its status query shows, what it returns.
import { z } from 'zod';
import { guardrailOutcome } from './guardrails.js';
import { retrievalMode, sequentialRerank } from './retrieval.js';
import { pendingReview } from './review.js';
import { agentBudgets, approvalExpiry } from './agent.js';
import { routeDecision } from './routing.js';
import { conversationTurn, forkSeed, stepRecord, usage } from './task.js';

/** Retrieval and generation settings, the API's defaults filled in. */
export const answerOptions = z.object({
  mode: retrievalMode,
  topK: z.number().int(),
  candidates: z.number().int(),
  rrfK: z.number().int(),
  efSearch: z.number().int(),
  rerank: sequentialRerank.optional(),
  /** Start the fallback chain at this registry model. */
  model: z.string().optional(),
  /** Only passages whose metadata contains this object. */
  filter: z.record(z.string(), z.unknown()).optional(),
  /** The agent settings a route to an agent runs with (the API fills them from the deployment's defaults). */
  agent: z.object({ budgets: agentBudgets, approvalTimeoutSeconds: z.number(), onApprovalExpiry: approvalExpiry }).optional(),
  /** Prompt name → the version this task uses, whatever the tenant has in force (contracts/prompts.ts). */
  promptVersions: z.record(z.string(), z.number().int().positive()).optional(),
});
export type AnswerOptions = z.infer<typeof answerOptions>;

export const answerTaskInput = z.object({
  tenantId: z.string(),
  collection: z.string(),
  question: z.string(),
  conversation: z.array(conversationTurn),
  options: answerOptions,
  /** A what-if fork: the steps before `atStep` are served from the original's record. */
  fork: forkSeed.optional(),
});
export type AnswerTaskInput = z.infer<typeof answerTaskInput>;

export const citation = z.object({
  /** The [n] marker used in the answer. */
  index: z.number().int(),
  chunkId: z.string(),
  documentId: z.string(),
  title: z.string().nullable(),
  heading: z.string(),
  source: z.string().nullable(),
  snippet: z.string(),
});
export type Citation = z.infer<typeof citation>;

export const answerResult = z.object({
  /**
   * The answer. PII the guardrails masked stays as placeholders ([EMAIL_ADDRESS_1]) here and in
   * history; the API restores them for a caller with the pii:read role.
   */
  answer: z.string(),
  guardrails: guardrailOutcome.optional(),
  citations: z.array(citation),
  /** The model that wrote the answer ('local' offline; 'none' when nothing was retrieved). */
  model: z.string(),
  usage,
  steps: z.array(stepRecord),
  question: z.object({ original: z.string(), standalone: z.string().optional() }),
  /** False when a follow-up referred to something the conversation does not establish, or the router asks what was meant. */
  resolved: z.boolean(),
  /** The route the question took (absent for tasks started before the router). */
  route: routeDecision.optional(),
  /** When the route handed the question to an agent: the agent task's id (its approvals are asked there). */
  agentTaskId: z.string().optional(),
});
export type AnswerResult = z.infer<typeof answerResult>;

export const answerPhase = z.enum(['guarding', 'rewriting', 'retrieving', 'generating', 'checking', 'needs_review', 'done']);

/** The status query's answer. */
export const answerStatus = z.object({
  phase: answerPhase,
  steps: z.array(stepRecord),
  usage,
  review: pendingReview.optional(),
});
export type AnswerStatus = z.infer<typeof answerStatus>;
