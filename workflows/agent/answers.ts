// The agent's answers: each through the output checks and the tenant's failure ladder (the
// same steps answerQuestion runs, workflows/steps/), or — when the input guard let no model
// answer — the stock response or a reviewer's answer; then released on the event stream.
import type { Activities } from '../../activities/index.js';
import type { AgentOptions, GuardrailOutcome, RouteDecision } from '../messages.js';
import { answerWithoutModel, guardOutputStep, guardrailOutcome, settleAnswer, type Checked, type GuardedInput, type ReviewDesk } from '../steps/index.js';
import type { AnnouncedSteps, EventStream } from './events.js';
import type { AgentState, TaskContext } from './state.js';
import type { AgentTurn, TurnOutcome } from './turn.js';
import type { WorkClock } from './work-clock.js';

export type AnsweredTurn = TurnOutcome & { guardrails?: GuardrailOutcome };

export interface AgentAnswersDeps {
  task: TaskContext;
  options: Pick<AgentOptions, 'model'>;
  state: Pick<AgentState, 'policy' | 'evidence' | 'transcript' | 'answers' | 'conversation' | 'lastModel'>;
  models: Pick<Activities, 'guardOutput'>;
  steps: Pick<AnnouncedSteps, 'run' | 'record'>;
  review: ReviewDesk;
  turn: Pick<AgentTurn, 'run'>;
  clock: Pick<WorkClock, 'untilDeadline'>;
  events: Pick<EventStream, 'emit'>;
}

export class AgentAnswers {
  constructor(private readonly deps: AgentAnswersDeps) {}

  /** A turn's answer through the output checks and, when they fail, the tenant's failure policy. */
  async settle(task: string, first: TurnOutcome): Promise<AnsweredTurn> {
    const { state, options, review, steps } = this.deps;
    // Stops (budget, deadline, malformed calls) are Gatehouse's own words, not the model's.
    if (first.endReason !== 'answered' || !state.policy) return first;
    const p = state.policy;
    const settled = await settleAnswer({
      policy: p.policy,
      first,
      firstChecked: await this.check(first.answer, task),
      check: (c) => this.check(c.answer, task),
      regenerate: async ({ feedback, model }) => {
        state.transcript.push({ role: 'user', content: `Your previous answer was not accepted.\n${feedback}\nAnswer again.` });
        return this.deps.turn.run(task, undefined, model ?? options.model);
      },
      review,
      question: task,
      record: (r) => steps.record(r),
    });
    return {
      answer: settled.text,
      endReason: settled.candidate?.endReason ?? 'answered',
      model: settled.candidate?.model ?? first.model,
      guardrails: { policyVersion: p.version, ...settled.outcome },
    };
  }

  /** A turn no model answers: a refused input gets the stock response, a handoff a person's answer. */
  async withoutModel(guard: GuardedInput): Promise<AnsweredTurn> {
    const { answer, guardrails } = await answerWithoutModel(guard, { review: this.deps.review, steps: this.deps.steps, clampWait: (ms) => this.deps.clock.untilDeadline(ms) });
    return { answer, endReason: guard.action === 'refuse' ? 'refused' : 'answered', model: 'none', guardrails };
  }

  /** A request its route answers without a model: the tenant's stock answer, or a question back to the user. */
  byRoute(route: RouteDecision | undefined): AnsweredTurn | undefined {
    const target = route?.target;
    if (target?.kind !== 'stock' && target?.kind !== 'clarify') return undefined;
    const policy = this.deps.state.policy;
    this.deps.steps.record({ name: 'route_answer', status: 'completed', detail: { target: target.kind, intent: route!.intent } });
    return {
      answer: target.kind === 'stock' ? target.answer : target.question,
      endReason: 'answered',
      model: 'none',
      guardrails: policy ? guardrailOutcome(policy.version, 'passed') : undefined,
    };
  }

  /** The answer joins the conversation and is released on the event stream: sentence by sentence (it passed its checks), then whole. */
  deliver(outcome: AnsweredTurn): void {
    const { state, events } = this.deps;
    state.answers.push(outcome.answer);
    state.conversation.push({ role: 'assistant', content: outcome.answer });
    state.lastModel = outcome.model;
    for (const sentence of outcome.answer.split(/(?<=[.!?])\s+/)) if (sentence.trim()) events.emit('answer_delta', { text: sentence });
    events.emit('final_answer', { answer: outcome.answer, endReason: outcome.endReason, guardrails: outcome.guardrails?.verdict });
  }

  /** The output guard on an answer, against the evidence gathered for it. */
  private check(answer: string, task: string): Promise<Checked> {
    const { task: ctx, state } = this.deps;
    return guardOutputStep(this.deps.steps, this.deps.models, {
      tenantId: ctx.tenantId,
      vaultTaskId: ctx.vaultTaskId,
      answer,
      question: task,
      passages: state.evidence.filter((e) => e.type !== 'user_message').map((e) => e.excerpt),
      format: 'text',
      // An agent's answer draws on rows and actions as much as on text: unsupported
      // sentences are reported, not failed (lexical grounding cannot judge a SQL row).
      grounding: 'report',
      policy: state.policy!,
    });
  }
}
