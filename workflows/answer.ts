// answerQuestion: one cited answer from the tenant's documents.
//   rewrite (only with a conversation) → retrieve (hybrid) → order context → generate
// Each step is recorded for the `status` query; the model steps are activities with their
// own retries, retrieval is a local activity (cheap, short, retried by the worker).
import { proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { Passage } from '../activities/retrieval/types.js';
import { answerStatusQuery, type AnswerResult, type AnswerStatus, type AnswerTaskInput } from './messages.js';
import { orderForAttention } from './policy/context-order.js';
import { StepLog } from './policy/steps.js';

const models = proxyActivities<Activities>({
  // A model call may walk a fallback chain of several providers, each with its own timeout.
  startToCloseTimeout: '2 minutes',
  // The activity heartbeats while it waits: a dead worker is noticed in seconds, not minutes,
  // and cancelling the task aborts the model call.
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 4, nonRetryableErrorTypes: ['InvalidInput'] },
});

const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumAttempts: 4, nonRetryableErrorTypes: ['InvalidInput'] },
});

export async function answerQuestion(input: AnswerTaskInput): Promise<AnswerResult> {
  const log = new StepLog();
  let phase: AnswerStatus['phase'] = 'rewriting';
  setHandler(answerStatusQuery, () => ({ phase, steps: log.steps, usage: log.usage }));
  const context = { tenantId: input.tenantId };

  // 1. Make the question stand alone. Without a conversation there is nothing to resolve.
  let question = input.question;
  let standalone: string | undefined;
  if (input.conversation.length > 0) {
    try {
      const rewrite = await log.run(
        'rewrite_query',
        () => models.rewriteQuestion({ question: input.question, conversation: input.conversation, model: input.options.model, context }),
        (r) => ({ latencyMs: r.latencyMs, model: r.model, usage: r.usage, detail: { resolved: r.resolved, standalone: r.standalone, missing: r.missing } }),
      );
      if (!rewrite.resolved) {
        phase = 'done';
        return {
          answer: `I can't tell what your question refers to: ${rewrite.missing}. Please ask it in full.`,
          citations: [],
          model: rewrite.model,
          usage: log.usage,
          steps: log.steps,
          question: { original: input.question },
          resolved: false,
        };
      }
      standalone = rewrite.standalone;
      question = standalone ?? question;
    } catch {
      // The rewrite is an aid, not a requirement: answer the question as asked.
    }
  } else {
    log.record({ name: 'rewrite_query', status: 'skipped', detail: { reason: 'no conversation' } });
  }

  // 2. Retrieve.
  phase = 'retrieving';
  const retrieved = await log.run(
    'retrieve',
    () => local.retrieve({ tenantId: input.tenantId, collection: input.collection, query: question, ...input.options }),
    (r) => ({
      latencyMs: Math.round(r.timings.totalMs),
      detail: {
        mode: r.mode,
        fallback: r.fallback,
        passages: r.passages.length,
        embedder: r.embedder,
        timings: roundTimings(r.timings),
        top: r.passages.slice(0, 5).map((p) => ({ chunkId: p.chunkId, documentId: p.documentId, score: p.score, ranks: p.ranks })),
      },
    }),
  );

  // 3. Order the context: strongest passages at the start and the end.
  const ordered: Passage[] = orderForAttention(retrieved.passages);

  // 4. Generate.
  phase = 'generating';
  const generated = await log.run(
    'generate',
    () => models.generateAnswer({ question, passages: ordered, model: input.options.model, context }),
    (g) => ({
      latencyMs: g.latencyMs,
      model: g.model,
      usage: g.usage,
      detail: { citations: g.citations.length, attempts: g.attempts },
    }),
  );

  phase = 'done';
  return {
    answer: generated.answer,
    citations: generated.citations,
    model: generated.model,
    usage: log.usage,
    steps: log.steps,
    question: { original: input.question, standalone },
    resolved: true,
  };
}

function roundTimings(t: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 10) / 10]));
}
