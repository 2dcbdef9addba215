// A tenant's guardrail policy: one validated, versioned document that says, per check, what
// counts as a failure and what happens then. Tenants without a document of their own get
// DEFAULT_GUARDRAIL_POLICY. Stored in `guardrail_policies`; every change is a new version,
// and every task records the version it ran under.
import { z } from 'zod';
import type { Db } from '../../infra/db/pool.js';
import { FAILURE_ACTIONS, PII_CLASSES, type PiiClass } from './types.js';

export { FAILURE_ACTIONS, OUTPUT_CHECKS, type FailureAction, type OutputCheck } from './types.js';

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

export const guardrailPolicySchema = z
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
        classifierModel: z.string().min(1).optional(),
      })
      .prefault({}),
    scope: z
      .object({
        blockedTopics: z.array(z.object({ topic: z.string().min(1), phrases: z.array(z.string().min(2)).min(1) })).default([]),
        /** What the deployment is for, for the optional classifier ("printer support for Inkwell customers"). */
        description: z.string().max(500).optional(),
        classifierModel: z.string().min(1).optional(),
        stockResponse: z.string().min(1).default("Sorry, I can only help with questions about our products and your account."),
      })
      .prefault({}),
    anomaly: z
      .object({
        maxChars: z.number().int().positive().default(4000),
        action: z.enum(['flag', 'block']).default('flag'),
      })
      .prefault({}),
    output: z
      .object({
        brand: z
          .object({
            brand: z.array(z.string().min(2)).default([]),
            competitors: z.array(z.string().min(2)).default([]),
            risky: z.array(z.string().min(2)).default([]),
            /** A mention of a competitor or risky term: block (a failure), review (handoff), or pass. */
            action: z.enum(['block', 'review', 'pass']).default('review'),
          })
          .prefault({}),
        toxicity: z.object({ threshold: z.number().min(0).max(1).default(0.5), scorerModel: z.string().min(1).optional() }).prefault({}),
        grounding: z
          .object({
            minSupport: z.number().min(0).max(1).default(0.5),
            /** Unsupported sentences tolerated before grounding fails (they are flagged either way). */
            maxUnsupported: z.number().int().min(0).default(0),
          })
          .prefault({}),
        judge: z.object({ model: z.string().min(1), rubric: z.string().min(10), minScore: z.number().min(0).max(1).default(0.6) }).optional(),
        /** Per check: what to do when it fails, in order. */
        onFail: z
          .object({
            pii_leak: ladder.default(['retry', 'stock_response']),
            toxicity: ladder.default(['retry', 'stock_response']),
            brand: ladder.default(['retry', 'handoff']),
            malformed: ladder.default(['retry', 'fallback_model', 'stock_response']),
            empty: ladder.default(['retry', 'fallback_model', 'stock_response']),
            grounding: ladder.default(['retry', 'flag']),
            judge: ladder.default(['best_of_n', 'handoff']),
          })
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
        fallbackModel: z.string().min(1).optional(),
        stockResponse: z.string().min(1).default("I'm sorry, I can't give a reliable answer to that right now. A member of our team can help."),
        /** How long a handoff waits for a reviewer before the stock response goes out. */
        reviewTimeoutSeconds: z.number().int().positive().default(86_400),
      })
      .prefault({}),
    handoff: z
      .object({
        /** Phrases that send the conversation to a human at once ("speak to a person"). */
        keyPhrases: z.array(z.string().min(2)).default(['speak to a human', 'talk to a person', 'real person', 'human agent']),
        onFrustration: z.boolean().default(true),
        /** Hand off once a conversation reaches this many user turns (0: never). */
        maxTurns: z.number().int().min(0).default(0),
      })
      .prefault({}),
  })
  .strict();

export type GuardrailPolicy = z.infer<typeof guardrailPolicySchema>;
export type GuardrailPolicyInput = z.input<typeof guardrailPolicySchema>;

export const DEFAULT_GUARDRAIL_POLICY: GuardrailPolicy = guardrailPolicySchema.parse({});

export interface VersionedPolicy {
  /** 0 is the built-in default. */
  version: number;
  policy: GuardrailPolicy;
}

/**
 * Policies are read on every guarded step; a short cache spares the query. A change is seen
 * by other processes within the cache's lifetime; this process sees its own writes at once.
 */
export class GuardrailPolicies {
  private readonly cache = new Map<string, { value: VersionedPolicy; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 5_000,
  ) {}

  async current(tenantId: string): Promise<VersionedPolicy> {
    const hit = this.cache.get(tenantId);
    if (hit && hit.until > Date.now()) return hit.value;
    const { rows } = await this.db.query<{ version: number; document: unknown }>(
      'SELECT version, document FROM guardrail_policies WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1',
      [tenantId],
    );
    // A stored document was valid when written; parsing again fills defaults added since.
    const value = rows[0] ? { version: rows[0].version, policy: guardrailPolicySchema.parse(rows[0].document) } : { version: 0, policy: DEFAULT_GUARDRAIL_POLICY };
    this.cache.set(tenantId, { value, until: Date.now() + this.ttlMs });
    return value;
  }

  /** Store a new version (the caller validated the document). Returns its number. */
  async save(tenantId: string, document: GuardrailPolicyInput, createdBy: string): Promise<VersionedPolicy> {
    const policy = guardrailPolicySchema.parse(document);
    const { rows } = await this.db.query<{ version: number }>(
      `INSERT INTO guardrail_policies (tenant_id, version, document, created_by)
       SELECT $1, coalesce(max(version), 0) + 1, $2, $3 FROM guardrail_policies WHERE tenant_id = $1
       RETURNING version`,
      [tenantId, JSON.stringify(document), createdBy],
    );
    const value = { version: rows[0]!.version, policy };
    this.cache.set(tenantId, { value, until: Date.now() + this.ttlMs });
    return value;
  }
}
