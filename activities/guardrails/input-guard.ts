// The input guard: everything a user's text passes before any model sees it. In order:
// PII (block or mask per class), injection and jailbreak heuristics (plus an optional
// classifier model), scope (configured phrases, plus an optional classifier), the anomaly
// flag, and the handoff triggers (key phrases, frustration, turn count). Masked values go to
// the task's vault; the text that goes on carries placeholders.
import type { ConversationTurn, Usage } from '../gateway/types.js';
import { ClassifierCalls, type ClassifierGateway } from './classifier.js';
import { detectInjection } from './injection.js';
import { detectFrustration } from './frustration.js';
import { countByClass, detectPii } from './pii.js';
import type { GuardrailPolicy } from './policy.js';
import { checkScope, detectAnomaly, matchesAnyPhrase } from './scope.js';
import type { GuardCheck, PiiClass } from './types.js';
import type { PiiVault } from './vault.js';
import { roundMs, timed } from './timing.js';

export interface InputGuardInput {
  tenantId: string;
  /** The task whose vault holds the masked values (a plan's sub-tasks share their parent's). */
  vaultTaskId: string;
  text: string;
  /** Earlier turns: they go into prompts too, so they are masked the same way. */
  conversation?: ConversationTurn[];
  /** User turns so far, this one included (the handoff turn limit). */
  userTurns?: number;
}

export type InputGuardReason = 'pii_blocked' | 'injection' | 'out_of_scope' | 'anomaly' | 'key_phrase' | 'frustration' | 'turn_limit';

export interface InputGuardOutput {
  /** proceed with `text`; refuse with `response` (no model call); hand off to a human. */
  action: 'proceed' | 'refuse' | 'handoff';
  reason?: InputGuardReason;
  response?: string;
  text: string;
  conversation: ConversationTurn[];
  policyVersion: number;
  checks: GuardCheck[];
  /** The guard's own time, model classifiers excluded. */
  latencyMs: number;
  usage: Usage;
}

export interface GuardServices {
  vault: PiiVault;
  gateway: ClassifierGateway;
  /** The tools this worker's agents can call: text that orders one used is an injection signal. */
  toolNames: readonly string[];
}

export async function guardInput(
  services: GuardServices,
  policy: { version: number; policy: GuardrailPolicy },
  input: InputGuardInput,
  signal?: AbortSignal,
): Promise<InputGuardOutput> {
  const p = policy.policy;
  const checks: GuardCheck[] = [];
  const classifiers = new ClassifierCalls(services.gateway, { tenantId: input.tenantId, taskId: input.vaultTaskId }, signal);
  const started = performance.now();
  const done = (out: Omit<InputGuardOutput, 'policyVersion' | 'checks' | 'latencyMs' | 'usage' | 'conversation'> & { conversation?: ConversationTurn[] }): InputGuardOutput => ({
    ...out,
    conversation: out.conversation ?? input.conversation ?? [],
    policyVersion: policy.version,
    checks,
    latencyMs: roundMs(performance.now() - started - classifiers.modelMs),
    usage: classifiers.usage,
  });
  const refuse = (reason: InputGuardReason, response: string) => done({ action: 'refuse', reason, response, text: '' });

  // 1. PII: a blocked class refuses the input outright; masked classes go to the vault below.
  const [spans, piiMs] = timed(() => detectPii(input.text));
  const blocked = [...new Set(spans.filter((s) => p.pii.input[s.type] === 'block').map((s) => s.type))];
  const toMask = spans.filter((s) => p.pii.input[s.type] === 'mask');
  checks.push({ check: 'pii', verdict: blocked.length ? 'fail' : spans.length ? 'flag' : 'pass', latencyMs: piiMs, detail: { found: countByClass(spans), masked: toMask.length, blocked } });
  if (blocked.length) {
    return refuse('pii_blocked', `For your security I can't process messages that contain ${blocked.map(describeClass).join(' or ')}. Please remove it and ask again.`);
  }

  // 2. Injection: heuristics first; the classifier model is asked only when they pass.
  const [injection, injectionMs] = timed(() => detectInjection(input.text, { source: 'user', threshold: p.injection.threshold, toolNames: services.toolNames }));
  let injected = injection.flagged;
  const injectionDetail: Record<string, unknown> = { score: injection.score, signals: injection.signals };
  if (!injected && p.injection.classifierModel) {
    const verdict = await classifiers.ask('injection', p.injection.classifierModel, input.text);
    if (verdict instanceof Error) injectionDetail.classifierError = verdict.message;
    else {
      injectionDetail.classifier = { model: verdict.model, score: verdict.score };
      injected = verdict.score >= p.injection.threshold;
    }
  }
  checks.push({ check: 'injection', verdict: injected ? (p.injection.onInput === 'block' ? 'fail' : 'flag') : 'pass', latencyMs: injectionMs, detail: injectionDetail });
  if (injected && p.injection.onInput === 'block') {
    return refuse('injection', "I can't help with that request. I can answer questions about our products and your account.");
  }

  // 3. Scope: configured phrases, then the optional classifier; refusal is a stock response.
  const [scope, scopeMs] = timed(() => checkScope(input.text, { blockedTopics: p.scope.blockedTopics }));
  let outOfScope = !scope.inScope;
  const scopeDetail: Record<string, unknown> = scope.inScope ? {} : { topic: scope.topic, matched: scope.matched };
  if (!outOfScope && p.scope.classifierModel && p.scope.description) {
    const verdict = await classifiers.ask('scope', p.scope.classifierModel, input.text, `The assistant's scope: ${p.scope.description}`);
    if (verdict instanceof Error) scopeDetail.classifierError = verdict.message;
    else {
      scopeDetail.classifier = { model: verdict.model, score: verdict.score };
      outOfScope = verdict.score >= 0.5;
    }
  }
  checks.push({ check: 'scope', verdict: outOfScope ? 'fail' : 'pass', latencyMs: scopeMs, detail: scopeDetail });
  if (outOfScope) return refuse('out_of_scope', p.scope.stockResponse);

  // 4. Anomaly: unusual inputs are flagged (or refused, if the tenant says so).
  const [anomaly, anomalyMs] = timed(() => detectAnomaly(input.text, { maxChars: p.anomaly.maxChars }));
  checks.push({ check: 'anomaly', verdict: anomaly.anomalous ? (p.anomaly.action === 'block' ? 'fail' : 'flag') : 'pass', latencyMs: anomalyMs, detail: anomaly.anomalous ? { reasons: anomaly.reasons } : undefined });
  if (anomaly.anomalous && p.anomaly.action === 'block') return refuse('anomaly', p.scope.stockResponse);

  // 5. Mask what is to be masked, in this message and in the conversation it continues.
  const t0 = performance.now();
  const masked = await services.vault.mask({ tenantId: input.tenantId, taskId: input.vaultTaskId }, input.text, toMask);
  const conversation: ConversationTurn[] = [];
  for (const turn of input.conversation ?? []) {
    const turnSpans = detectPii(turn.content).filter((s) => p.pii.input[s.type] === 'mask');
    const m = await services.vault.mask({ tenantId: input.tenantId, taskId: input.vaultTaskId }, turn.content, turnSpans);
    conversation.push({ role: turn.role, content: m.text });
  }
  checks.push({ check: 'pii_mask', verdict: masked.placeholders.length ? 'flag' : 'pass', latencyMs: roundMs(performance.now() - t0), detail: { placeholders: masked.placeholders.map((x) => x.placeholder) } });

  // 6. Handoff triggers: the user asked for a person, is frustrated, or the conversation loops.
  const [handoff, handoffMs] = timed(() => {
    const phrase = matchesAnyPhrase(input.text, p.handoff.keyPhrases);
    if (phrase) return { reason: 'key_phrase' as const, detail: { matched: phrase } };
    const frustration = p.handoff.onFrustration ? detectFrustration(input.text) : { frustrated: false, signals: [] as string[] };
    if (frustration.frustrated) return { reason: 'frustration' as const, detail: { signals: frustration.signals } };
    if (p.handoff.maxTurns > 0 && (input.userTurns ?? 1) >= p.handoff.maxTurns) return { reason: 'turn_limit' as const, detail: { turns: input.userTurns } };
    return undefined;
  });
  checks.push({ check: 'handoff_triggers', verdict: handoff ? 'flag' : 'pass', latencyMs: handoffMs, detail: handoff ? { reason: handoff.reason, ...handoff.detail } : undefined });
  if (handoff) return done({ action: 'handoff', reason: handoff.reason, text: masked.text, conversation });

  return done({ action: 'proceed', text: masked.text, conversation });
}


const CLASS_WORDS: Record<PiiClass, string> = {
  EMAIL_ADDRESS: 'an email address',
  PHONE_NUMBER: 'a phone number',
  CREDIT_CARD: 'a payment card number',
  NATIONAL_ID: 'a national ID number',
  IBAN: 'a bank account number',
  IP_ADDRESS: 'an IP address',
  POSTAL_ADDRESS: 'a postal address',
  PERSON: 'a name',
  DATE_OF_BIRTH: 'a date of birth',
  CREDENTIAL: 'a password, API key or token',
};

export function describeClass(c: PiiClass): string {
  return CLASS_WORDS[c];
}
