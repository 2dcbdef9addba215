// A tenant's guardrail policy: one validated, versioned document that says, per check, what
// counts as a failure and what happens then. Tenants without a document of their own get
// DEFAULT_GUARDRAIL_POLICY. Stored in `guardrail_policies`; every change is a new version,
// and every task records the version it ran under.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { Db } from '../../infra/db/pool.js';
import { storableString, TOO_LARGE } from '../../infra/input-limits.js';
import { OUTPUT_CHECK_RANKING, type OutputCheck } from '../../contracts/output-checks.js';
import { OUTPUT_CHECK_POLICIES, outputMatcherProbes } from './checks/index.js';
import { modelName, phrase, POLICY_LIMITS, prose } from './policy-fields.js';
import { compilePhrases } from './scope.js';
import { FAILURE_ACTIONS, PII_CLASSES, type PiiClass } from './types.js';
import { VersionedDocuments } from '../versioned-documents.js';

export { FAILURE_ACTIONS, OUTPUT_CHECKS, type FailureAction, type OutputCheck } from './types.js';

const L = POLICY_LIMITS;

const piiAction = z.enum(['block', 'mask', 'allow']);

const ladder = z.array(z.enum(FAILURE_ACTIONS)).min(1).max(6);

const piiPolicy = (defaults: Record<PiiClass, z.infer<typeof piiAction>>) =>
  z.object(Object.fromEntries(PII_CLASSES.map((c) => [c, piiAction.default(defaults[c])])) as Record<PiiClass, z.ZodDefault<typeof piiAction>>).prefault({});

// Structured identifiers are masked by default; names and postal addresses (lower precision,
// and often the very subject of a support question) pass unless a tenant says otherwise.
// Credentials never belong in a prompt: a question carrying one is refused.
const INPUT_PII: Record<PiiClass, 'block' | 'mask' | 'allow'> = {
  EMAIL_ADDRESS: 'mask',
  PHONE_NUMBER: 'mask',
  CREDIT_CARD: 'mask',
  NATIONAL_ID: 'mask',
  IBAN: 'mask',
  IP_ADDRESS: 'mask',
  POSTAL_ADDRESS: 'allow',
  PERSON: 'allow',
  DATE_OF_BIRTH: 'mask',
  CREDENTIAL: 'block',
};
// In answers and tool outputs the same classes are masked (a caller with the pii:read role
// sees them restored); a credential in an answer is a failure (retried, then refused).
const OUTPUT_PII: Record<PiiClass, 'block' | 'mask' | 'allow'> = { ...INPUT_PII };

const policyFields = z
  .object({
    pii: z
      .object({
        /** The user's question or message. `block` refuses it with the stock response. */
        input: piiPolicy(INPUT_PII),
        /** Tool outputs and answers. `block` in an answer is a pii_leak failure. */
        output: piiPolicy(OUTPUT_PII),
      })
      .prefault({}),
    injection: z
      .object({
        threshold: z.number().min(0).max(1).default(0.5),
        /** A flagged user input: refuse it (stock response) or let it through marked. */
        onInput: z.enum(['block', 'flag']).default('block'),
        /** A flagged retrieved chunk or tool output: drop it, quarantine it for review, or keep it marked. */
        onUntrusted: z.enum(['drop', 'quarantine', 'flag']).default('quarantine'),
        /** A model asked through the gateway as a second opinion on inputs the heuristics pass. */
        classifierModel: modelName.optional(),
      })
      .prefault({}),
    scope: z
      .object({
        blockedTopics: z
          .array(z.object({ topic: storableString(L.maxPhraseChars).min(1), phrases: z.array(phrase).min(1).max(L.maxPhrasesPerTopic) }))
          .max(L.maxTopics)
          .refine((topics) => topics.reduce((n, t) => n + t.phrases.length, 0) <= L.maxPhrases, `at most ${L.maxPhrases} phrases across topics`)
          .default([]),
        /** What the deployment is for, for the optional classifier ("printer support for Inkwell customers"). */
        description: storableString(500).optional(),
        classifierModel: modelName.optional(),
        stockResponse: prose.default("Sorry, I can only help with questions about our products and your account."),
      })
      .prefault({}),
    anomaly: z
      .object({
        maxChars: z.number().int().positive().max(1_000_000).default(4000),
        action: z.enum(['flag', 'block']).default('flag'),
      })
      .prefault({}),
    output: z
      .object({
        // Each output check's own section, declared by the check (checks/<name>.ts).
        ...OUTPUT_CHECK_POLICIES,
        /** Per check: what to do when it fails, in order (each check's default: contracts/output-checks.ts). */
        onFail: z
          .object(Object.fromEntries(OUTPUT_CHECK_RANKING.map((c) => [c.name, ladder.default([...c.onFail])])) as Record<OutputCheck, z.ZodDefault<typeof ladder>>)
          .prefault({}),
      })
      .prefault({}),
    failure: z
      .object({
        /** Bounded: retries across the whole answer, not per check. */
        maxRetries: z.number().int().min(0).max(5).default(2),
        bestOfN: z.number().int().min(2).max(8).default(3),
        /** How best-of-n picks: fewest failed checks, then the judge's score or the mean log-probability. */
        pickBy: z.enum(['checks', 'judge', 'logprob']).default('checks'),
        fallbackModel: modelName.optional(),
        stockResponse: prose.default("I'm sorry, I can't give a reliable answer to that right now. A member of our team can help."),
        /** How long a handoff waits for a reviewer before the stock response goes out. */
        reviewTimeoutSeconds: z.number().int().positive().max(30 * 86_400).default(86_400),
      })
      .prefault({}),
    handoff: z
      .object({
        /** Phrases that send the conversation to a human at once ("speak to a person"). */
        keyPhrases: z.array(phrase).max(L.maxTerms).default(['speak to a human', 'talk to a person', 'real person', 'human agent']),
        onFrustration: z.boolean().default(true),
        /** Hand off once a conversation reaches this many user turns (0: never). */
        maxTurns: z.number().int().min(0).max(1_000).default(0),
      })
      .prefault({}),
  })
  .strict();

export const guardrailPolicySchema = policyFields
  .superRefine((policy, ctx) => {
    const bytes = Buffer.byteLength(JSON.stringify(policy), 'utf8');
    if (bytes > L.maxDocumentBytes) {
      ctx.addIssue({ code: 'custom', path: [], message: `the policy is ${bytes} bytes serialized; at most ${L.maxDocumentBytes}`, params: TOO_LARGE });
      return;
    }
    const problem = matcherProblem(policy);
    if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
  })
  .meta({ 'x-max-bytes': L.maxDocumentBytes, 'x-max-match-ms': L.maxMatchMs });

/**
 * Compiles every matcher the policy configures and runs it over a probe the size of the
 * longest input the anomaly check lets through: a list that cannot compile, or compiles
 * into something too slow to run on every input, is refused here rather than failing tasks.
 */
function matcherProblem(p: z.output<typeof policyFields>): { path: (string | number)[]; message: string } | undefined {
  const probe = 'a quick question about my order and the refund policy '.repeat(Math.ceil(Math.min(p.anomaly.maxChars, 20_000) / 56));
  const started = performance.now();
  const lists: Array<[(string | number)[], () => void]> = [
    ...p.scope.blockedTopics.map((t, i): [(string | number)[], () => void] => [['scope', 'blockedTopics', i, 'phrases'], () => void compilePhrases(t.phrases).match(probe)]),
    [['handoff', 'keyPhrases'], () => void compilePhrases(p.handoff.keyPhrases).match(probe)],
    ...outputMatcherProbes(p.output, probe).map(({ check, run }): [(string | number)[], () => void] => [['output', check], run]),
  ];
  for (const [path, run] of lists) {
    try {
      run();
    } catch (err) {
      return { path, message: `cannot be compiled into a matcher (${err instanceof Error ? err.message.slice(0, 200) : 'error'})` };
    }
    const ms = performance.now() - started;
    if (ms > L.maxMatchMs) return { path, message: `too costly to match: ${Math.round(ms)} ms on a ${probe.length}-character input (at most ${L.maxMatchMs} ms)` };
  }
  return undefined;
}

export type GuardrailPolicy = z.infer<typeof guardrailPolicySchema>;
export type GuardrailPolicyInput = z.input<typeof guardrailPolicySchema>;

export const DEFAULT_GUARDRAIL_POLICY: GuardrailPolicy = guardrailPolicySchema.parse({});

export interface VersionedPolicy {
  /** 0 is the built-in default. */
  version: number;
  policy: GuardrailPolicy;
}

/** A policy as the workflow holds it: fetched once per task, passed to every guard. */
export type TaskPolicy = VersionedPolicy;

/** Policies are read on every guarded step: a short cache spares the query (versioned-documents.ts). */
export class GuardrailPolicies {
  private readonly store: VersionedDocuments<GuardrailPolicy>;

  constructor(db: Db, ttlMs = 5_000) {
    this.store = new VersionedDocuments(db, { table: 'guardrail_policies', schema: guardrailPolicySchema, fallback: DEFAULT_GUARDRAIL_POLICY, invalid: invalidPolicy, ttlMs });
  }

  async current(tenantId: string): Promise<VersionedPolicy> {
    const { version, document } = await this.store.current(tenantId);
    return { version, policy: document };
  }

  /** Store a new version (the caller validated the document). Returns its number. */
  async save(tenantId: string, document: GuardrailPolicyInput, createdBy: string): Promise<VersionedPolicy> {
    const { version, document: policy } = await this.store.save(tenantId, document, createdBy);
    return { version, policy };
  }
}

/** The failure a task gets when its tenant's stored policy cannot be used: non-retryable, and short. */
export const INVALID_GUARDRAIL_POLICY = 'InvalidGuardrailPolicy';

function invalidPolicy(tenantId: string, version: number, error: z.ZodError): ApplicationFailure {
  const issue = error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  const message = `guardrail policy version ${version} of tenant ${tenantId} cannot be used (${where}${(issue?.message ?? 'invalid').slice(0, 200)}); PUT /v1/guardrails/policy to replace it`;
  return ApplicationFailure.create({ message, type: INVALID_GUARDRAIL_POLICY, nonRetryable: true });
}
