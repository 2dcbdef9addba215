// What every task has, whatever its type: the conversation it continues, the steps it ran
// and what they spent.
import { z } from 'zod';

export const conversationTurn = z.object({
  role: z.enum(['user', 'assistant']),
  content: z.string(),
});
export type ConversationTurn = z.infer<typeof conversationTurn>;

/**
 * Tokens and dollars: a model call's, a step's, a task's. `inputTokens` counts every input token,
 * cached ones included, whatever the provider; the cached parts are reported beside it (absent
 * means none): read from the provider's prompt cache, and written to it.
 */
export const usage = z.object({
  inputTokens: z.number(),
  outputTokens: z.number(),
  costUsd: z.number(),
  cachedReadTokens: z.number().optional(),
  cacheWriteTokens: z.number().optional(),
});
export type Usage = z.infer<typeof usage>;

export const NO_USAGE: Usage = { inputTokens: 0, outputTokens: 0, costUsd: 0 };

/** Two usages summed; the cached parts only appear when either has them, so uncached sums keep their shape. */
export function addUsage(a: Usage, b: Usage | undefined): Usage {
  if (!b) return a;
  const cachedReadTokens = (a.cachedReadTokens ?? 0) + (b.cachedReadTokens ?? 0);
  const cacheWriteTokens = (a.cacheWriteTokens ?? 0) + (b.cacheWriteTokens ?? 0);
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    costUsd: Math.round((a.costUsd + b.costUsd) * 1e8) / 1e8,
    ...(cachedReadTokens ? { cachedReadTokens } : {}),
    ...(cacheWriteTokens ? { cacheWriteTokens } : {}),
  };
}

export const stepStatus = z.enum(['running', 'completed', 'failed', 'skipped']);
export type StepStatus = z.infer<typeof stepStatus>;

/** One step of a task as the status query and the API show it. */
export const stepRecord = z.object({
  name: z.string(),
  status: stepStatus,
  /** Workflow time (deterministic), ISO 8601. */
  startedAt: z.string(),
  /** Time the step's own work took, measured where it ran. */
  latencyMs: z.number().optional(),
  model: z.string().optional(),
  usage: usage.optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
  error: z.string().optional(),
});
export type StepRecord = z.infer<typeof stepRecord>;

/**
 * What a what-if fork's workflow is started with: a reference to the original's recorded calls
 * (stored by the API when it forked, read back by the replayRecordedCall activity), never the
 * recorded values themselves, so the fork's input stays small.
 */
export const forkSeed = z.object({
  forkId: z.string(),
  /** The task it was forked from. */
  of: z.string(),
  /** Steps (indexes into the original's `steps`) before this one are served from the record. */
  atStep: z.number().int().nonnegative(),
});
export type ForkSeed = z.infer<typeof forkSeed>;

/** A fork's call before its fork point, asked of the original's record (the replayRecordedCall activity). */
export const recordedCallRequest = z.object({
  tenantId: z.string(),
  forkId: z.string(),
  activityType: z.string(),
  /** 1 for the first call of this type in the original's history. */
  occurrence: z.number().int().positive(),
});
export type RecordedCallRequest = z.infer<typeof recordedCallRequest>;
