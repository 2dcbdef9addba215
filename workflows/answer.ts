// answerQuestion: one cited answer from the tenant's documents.
//   input guard (beside the router) → rewrite (only with a conversation) → route → semantic
//   cache → retrieve (hybrid) → screen the context → order → generate (streamed through the
//   output checks) → output guard → failure policy → an answer that passed kept in the cache
// The route (the tenant's routing document) may answer without a model (a stock answer, a
// clarifying question), pick the model or the collection, or hand the question to an agent.
// Each step is recorded for the `status` query; the model steps are activities with their
// own retries, retrieval and context screening are local activities (cheap, short).
// PII the input guard masked stays masked here: history and the result hold placeholders.
import { executeChild, patched, proxyActivities, proxyLocalActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import { TASK_TYPE_SEARCH_ATTRIBUTE, TENANT_SEARCH_ATTRIBUTE } from '../contracts/search-attributes.js';
import type { GenerateOutput } from '../activities/answering.js';
import type { SemanticAnswerRequest } from '../activities/cache/answers.js';
import type { Activities, TaskPolicy } from '../activities/index.js';
import type { Passage } from '../activities/retrieval/types.js';
import { runAgent } from './agent/index.js';
import { answerStatusQuery, type AnswerResult, type AnswerStatus, type AnswerTaskInput, type GuardrailOutcome, type RouteDecision } from './messages.js';
import { orderForAttention } from './policy/context-order.js';
import { ForkSeeder, replayWith } from './policy/fork-seed.js';
import { StepLog } from './policy/steps.js';
import { RunDetails, startSummaries, summaries, withSummary } from './policy/summaries.js';
import { answerWithoutModel, guardAndRoute, guardInputStep, guardOutputStep, guardrailOutcome, openReviewDesk, routeStep, settleAnswer, type Checked } from './steps/index.js';

const liveModels = proxyActivities<Activities>({
  // A model call may walk a fallback chain of several providers, each with its own timeout.
  startToCloseTimeout: '2 minutes',
  // The activity heartbeats while it waits: a dead worker is noticed in seconds, not minutes,
  // and cancelling the task aborts the model call.
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 4, nonRetryableErrorTypes: ['InvalidInput'] },
});

const liveLocal = proxyLocalActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumAttempts: 4, nonRetryableErrorTypes: ['InvalidInput'] },
});

export async function answerQuestion(input: AnswerTaskInput): Promise<AnswerResult> {
  const log = new StepLog();
  const { models, local } = activitiesFor(input, log);
  const taskId = workflowInfo().workflowId;
  let phase: AnswerStatus['phase'] = 'guarding';
  const review = openReviewDesk(input.tenantId, () => {
    phase = review.pending() ? 'needs_review' : phase === 'needs_review' ? 'checking' : phase;
  });
  setHandler(answerStatusQuery, () => ({ phase, steps: log.steps, usage: log.usage, review: review.pending() }));
  const context = { tenantId: input.tenantId, taskId };
  // What the Temporal UI shows of the run so far (a query, not history: no replay concern).
  const details = new RunDetails(setCurrentDetails);
  details.note(undefined, 'guarding the input');
  const finish = (answer: string, outcome: GuardrailOutcome, extra: Partial<AnswerResult> & Pick<AnswerResult, 'question'>): AnswerResult => {
    phase = 'done';
    details.note(`done: ${outcome.verdict}${extra.resolved === false ? ', unresolved' : ''}`);
    return { answer, guardrails: outcome, citations: [], model: 'none', usage: log.usage, steps: log.steps, resolved: true, ...extra };
  };

  // 0. The input guard: PII masked (or the question refused), injection, scope, anomaly, handoff.
  const runGuard = () =>
    guardInputStep(log, models, {
      tenantId: input.tenantId,
      vaultTaskId: taskId,
      text: input.question,
      conversation: input.conversation,
      userTurns: input.conversation.filter((t) => t.role === 'user').length + 1,
    });
  // The router runs beside the guard when the question stands alone; a follow-up is routed once
  // it has been rewritten to stand alone (below).
  const routing = patched('router');
  let route: RouteDecision | undefined;
  let guard: Awaited<ReturnType<typeof runGuard>>;
  if (routing && input.conversation.length === 0) {
    ({ guarded: guard, route } = await guardAndRoute(log, local, runGuard, { tenantId: input.tenantId, taskId, text: input.question }));
  } else {
    guard = await runGuard();
  }
  const policy: TaskPolicy = guard.policy;
  if (guard.action !== 'proceed') {
    // Refused: the stock response; handed off: a reviewer writes the answer.
    const { answer, guardrails } = await answerWithoutModel(guard, { review, steps: log });
    // A refused question is not echoed back: it may carry the very credential it was refused for.
    return finish(answer, guardrails, { question: { original: guard.action === 'refuse' ? '(withheld by the input guard)' : guard.text }, route });
  }
  const original = guard.text;
  details.note('input guard passed');

  // 1. Make the question stand alone. Without a conversation there is nothing to resolve.
  phase = 'rewriting';
  let question = original;
  let standalone: string | undefined;
  if (guard.conversation.length > 0) {
    try {
      const rewrite = await log.run(
        'rewrite_query',
        () => withSummary(models.rewriteQuestion, summaries.rewrite(input.options.model), { question: original, conversation: guard.conversation, model: input.options.model, context }),
        (r) => ({ latencyMs: r.latencyMs, model: r.model, usage: r.usage, detail: { resolved: r.resolved, standalone: r.standalone, missing: r.missing, prompt: r.prompt } }),
      );
      if (!rewrite.resolved) {
        return finish(`I can't tell what your question refers to: ${rewrite.missing}. Please ask it in full.`, guardrailOutcome(policy.version, 'passed'), {
          model: rewrite.model,
          question: { original },
          resolved: false,
        });
      }
      standalone = rewrite.standalone;
      question = standalone ?? question;
    } catch {
      // The rewrite is an aid, not a requirement: answer the question as asked.
    }
  } else {
    log.record({ name: 'rewrite_query', status: 'skipped', detail: { reason: 'no conversation' } });
  }

  // 1b. Route: a stock answer or a clarifying question needs no model; an agent route hands
  // the question over; a model or retrieval route picks what the answer is written with.
  if (routing && !route) {
    const late = await routeStep(log, local, { tenantId: input.tenantId, taskId, text: question, masked: true });
    route = late.decided ? late.decision : undefined;
  }
  const passed = () => guardrailOutcome(policy.version, 'passed');
  const target = route?.target;
  if (target?.kind === 'stock') return finish(target.answer, passed(), { question: { original, standalone }, route });
  if (target?.kind === 'clarify') return finish(target.question, passed(), { question: { original, standalone }, route, resolved: false });
  if (route) details.note(`routed: ${route.intent}${target ? ` → ${target.kind}` : ''}`);
  if (target?.kind === 'agent') return handToAgent(input, { taskId, question, original, standalone, route: route!, log, finish: (a, extra) => finish(a, passed(), extra) });
  // The caller's own choice of model wins over the route's.
  const model = input.options.model ?? route?.model;
  const collection = target?.kind === 'retrieval' ? target.collection : input.collection;

  // 1c. The semantic cache: a question near enough to one answered before, on this route and
  // over this version of the collection, is answered from it (the guard has ruled out a
  // different entity, number, date or negation). Off, the activity says so and no step is shown.
  const semanticRequest: SemanticAnswerRequest = {
    tenantId: input.tenantId,
    taskId,
    route: route?.intent ?? 'default',
    routeCache: target && 'cache' in target ? target.cache : undefined,
    collection,
    question,
    context: { policyVersion: policy.version, model, options: retrievalOptions(input.options) },
  };
  const semantic = patched('semantic-cache') ? await withSummary(local.lookupSemanticAnswer, summaries.semanticLookup(semanticRequest.route, collection), semanticRequest) : undefined;
  if (semantic && semantic.outcome !== 'off') {
    const { latencyMs, ...detail } = semantic;
    if (detail.outcome === 'hit') {
      const { answer: cached, ...hit } = detail;
      log.record({ name: 'semantic_cache', status: 'completed', latencyMs, detail: { layer: 'semantic', ...hit, savedUsd: cached.costUsd } });
      details.note('semantic cache hit');
      return finish(cached.answer, passed(), { citations: cached.citations, model: cached.model, question: { original, standalone }, route });
    }
    log.record({ name: 'semantic_cache', status: 'completed', latencyMs, detail: { layer: 'semantic', ...detail } });
  }
  // What the rest of the task costs is what a later hit on its answer saves.
  const costBeforeAnswer = log.usage.costUsd;

  // 2. Retrieve, then screen the passages for injected instructions before a model reads them.
  phase = 'retrieving';
  details.note(undefined, `retrieving from ${collection}`);
  const retrieved = await log.run(
    'retrieve',
    () => withSummary(local.retrieve, summaries.retrieve(collection, input.options.mode), { tenantId: input.tenantId, collection, query: question, ...input.options }),
    (r) => ({
      latencyMs: Math.round(r.timings.totalMs),
      detail: {
        mode: r.mode,
        fallback: r.fallback,
        passages: r.passages.length,
        embedder: r.embedder,
        cache: r.cache,
        timings: roundTimings(r.timings),
        top: r.passages.slice(0, 5).map((p) => ({ chunkId: p.chunkId, documentId: p.documentId, score: p.score, ranks: p.ranks })),
      },
    }),
  );
  const screened = await log.run(
    'screen_context',
    () => withSummary(local.screenPassages, summaries.screen(retrieved.passages.length, collection), { tenantId: input.tenantId, taskId, policy, passages: retrieved.passages }),
    (s) => ({ latencyMs: s.check.latencyMs, detail: { verdict: s.check.verdict, ...s.check.detail } }),
  );

  // 3. Order the context: strongest passages at the start and the end.
  const ordered: Passage[] = orderForAttention(screened.passages);
  const passageTexts = ordered.map((p) => [p.title, p.heading, p.text].filter(Boolean).join('\n'));

  // 4. Generate, streamed sentence by sentence through the output checks.
  phase = 'generating';
  details.note(`retrieved ${retrieved.passages.length} passages from ${collection}`, screened.passages.length < retrieved.passages.length ? `${retrieved.passages.length - screened.passages.length} held back; generating` : 'generating');
  const generate = (o: { feedback?: string; model?: string; attempt: number; temperature?: number; stream?: boolean; name?: string }) =>
    log.run(
      o.name ?? (o.attempt === 1 ? 'generate' : `generate_${o.attempt}`),
      () =>
        withSummary(models.generateAnswer, summaries.generate(ordered.length, o.model ?? model, o.attempt), {
          question,
          passages: ordered,
          model: o.model ?? model,
          // The route labels the call's metrics (an activity input, not a command: no patch).
          context: route?.intent ? { ...context, route: route.intent } : context,
          overflow: route && 'overflow' in route.target ? route.target.overflow : undefined,
          feedback: o.feedback,
          temperature: o.temperature,
          logprobs: policy.policy.failure.pickBy === 'logprob',
          stream: o.stream === false ? undefined : { attempt: o.attempt },
          policy,
          taskId,
        }),
      (g) => ({ latencyMs: g.latencyMs, model: g.model, usage: g.usage, detail: { citations: g.citations.length, attempts: g.attempts, streamed: g.streamed, feedback: o.feedback ? true : undefined, contextFit: g.contextFit, cache: g.cache, prompt: g.prompt } }),
    );
  // Cached answers that fail their checks: evicted once the answer is settled, so none is served again.
  const failedCacheKeys: string[] = [];
  const check = async (g: { answer: string; model: string; cache?: { outcome: string; key?: string } }): Promise<Checked> => {
    phase = 'checking';
    details.note(`answered with ${g.model}`, 'checking the answer');
    const out = await guardOutputStep(log, models, {
      tenantId: input.tenantId,
      vaultTaskId: taskId,
      answer: g.answer,
      question,
      passages: passageTexts,
      format: 'cited',
      notFound: g.model === 'none',
      policy,
    });
    details.note(out.passed ? 'output checks passed' : `output checks failed: ${out.failures.join(', ')}`);
    if (!out.passed && g.cache?.key && g.cache.outcome !== 'uncacheable') failedCacheKeys.push(g.cache.key);
    return out;
  };
  const first = await generate({ attempt: 1 });
  const settled = await settleAnswer<GenerateOutput>({
    policy: policy.policy,
    first,
    firstChecked: await check(first),
    check,
    regenerate: (o) => generate(o),
    // Best-of-n: n requests at once, a little warmer so they differ; not streamed (one is kept).
    sample: (n, feedback) => Promise.all(Array.from({ length: n }, (_, i) => generate({ attempt: 100 + i, feedback, temperature: 0.7, stream: false, name: `sample_${i + 1}` }))),
    review,
    question,
    record: (s) => log.record(s),
  });

  if (failedCacheKeys.length && patched('evict-failed-answers')) {
    await log.run('cache_evict', () => withSummary(local.evictCachedAnswers, summaries.evict(new Set(failedCacheKeys).size), { tenantId: input.tenantId, keys: [...new Set(failedCacheKeys)] }), (r) => ({ detail: { evicted: r.evicted, reason: 'failed its output checks' } }));
  }
  const final = settled.candidate;
  // A good answer is kept for the questions near this one (not one a reviewer wrote, flagged or refused).
  const keep = (semantic?.outcome === 'miss' || semantic?.outcome === 'shadow') && final && final.model !== 'none' && (settled.outcome.verdict === 'passed' || settled.outcome.verdict === 'remedied');
  if (keep) {
    await log.run(
      'semantic_cache_store',
      () => withSummary(local.storeSemanticAnswer, summaries.semanticStore(semanticRequest.route, collection), { ...semanticRequest, answer: { answer: settled.text, citations: final.citations, model: final.model, costUsd: log.usage.costUsd - costBeforeAnswer } }),
      (r) => ({ detail: { layer: 'semantic', ...r } }),
    );
  }
  phase = 'done';
  details.note(`done: ${settled.outcome.verdict}`);
  return {
    answer: settled.text,
    guardrails: { policyVersion: policy.version, ...settled.outcome },
    citations: final ? final.citations : [],
    model: final?.model ?? 'none',
    usage: log.usage,
    steps: log.steps,
    question: { original, standalone },
    resolved: true,
    route,
  };
}

/**
 * A route to an agent: the question becomes a child runAgent task with the route's tools, and
 * its answer is this task's. Its approvals are asked on the child (`<taskId>.agent`), which the
 * API serves under the parent's tenant like a plan's sub-tasks.
 */
async function handToAgent(
  input: AnswerTaskInput,
  o: { taskId: string; question: string; original: string; standalone?: string; route: RouteDecision; log: StepLog; finish: (answer: string, extra: Partial<AnswerResult> & Pick<AnswerResult, 'question'>) => AnswerResult },
): Promise<AnswerResult> {
  const target = o.route.target as Extract<RouteDecision['target'], { kind: 'agent' }>;
  // The API fills the deployment's agent defaults; a task started without them gets small ones.
  const defaults = input.options.agent ?? { budgets: { maxSteps: 10, maxToolCalls: 20, maxCostUsd: 0.5, maxTokens: 50_000, maxWallSeconds: 300 }, approvalTimeoutSeconds: 86_400, onApprovalExpiry: 'reject' as const };
  const agentTaskId = `${o.taskId}.agent`;
  const result = await o.log.run(
    'agent',
    () =>
      executeChild(runAgent, {
        workflowId: agentTaskId,
        staticSummary: startSummaries.subtask(o.taskId, `agent for route ${o.route.intent}: ${target.tools.join(', ')}`),
        typedSearchAttributes: [
          { key: TENANT_SEARCH_ATTRIBUTE, value: input.tenantId },
          { key: TASK_TYPE_SEARCH_ATTRIBUTE, value: 'subtask' },
        ],
        args: [
          {
            tenantId: input.tenantId,
            collection: input.collection,
            input: o.question,
            conversation: [],
            options: { mode: 'loop', tools: target.tools, model: input.options.model ?? target.model, keepOpenSeconds: 0, maxMalformedToolCalls: 3, ...defaults },
            // A sub-task: it reads this task's PII vault (the question's placeholders) and is not routed again.
            parent: { taskId: o.taskId, subtaskId: 'agent' },
          },
        ],
      }),
    (r) => ({ model: r.model, usage: r.usage, detail: { agentTaskId, endReason: r.endReason, actions: r.actions.length } }),
  );
  return o.finish(result.answer, { question: { original: o.original, standalone: o.standalone }, route: o.route, model: result.model, agentTaskId, guardrails: result.guardrails });
}

/**
 * The activities as this run calls them: a what-if fork's calls before its fork point are served
 * from the original's record (policy/fork-seed.ts), behind patched('what-if-fork').
 */
function activitiesFor(input: AnswerTaskInput, log: StepLog): { models: typeof liveModels; local: typeof liveLocal } {
  if (!input.fork || !patched('what-if-fork')) return { models: liveModels, local: liveLocal };
  const seeder = new ForkSeeder(input.fork, input.tenantId, () => log.steps, replayWith(liveLocal));
  return { models: seeder.wrap(liveModels), local: seeder.wrap(liveLocal) };
}

/** The options an answer's retrieval depends on (not the agent defaults a route to an agent would use). */
function retrievalOptions(o: AnswerTaskInput['options']): Omit<AnswerTaskInput['options'], 'agent' | 'model'> {
  const { agent: _agent, model: _model, ...rest } = o;
  return rest;
}

function roundTimings(t: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 10) / 10]));
}
