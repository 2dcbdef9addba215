// The output checks as units: the guarded stream and the final answer guard run the same
// checks, so a sentence the stream releases is never one that fails the answer afterwards.
import { describe, expect, it } from 'vitest';
import { GuardedAnswerStream } from '../../activities/guardrails/answer-stream.js';
import { OUTPUT_CHECK_UNITS } from '../../activities/guardrails/checks/index.js';
import type { GuardServices } from '../../activities/guardrails/input-guard.js';
import { guardOutput } from '../../activities/guardrails/output-guard.js';
import { DEFAULT_GUARDRAIL_POLICY, guardrailPolicySchema, type GuardrailPolicyInput } from '../../activities/guardrails/policy.js';
import type { PiiVault } from '../../activities/guardrails/vault.js';
import { OUTPUT_CHECK_RANKING, OUTPUT_CHECKS } from '../../contracts/output-checks.js';
import type { Db } from '../../infra/db/pool.js';
import { worstFailure } from '../../workflows/policy/output-failures.js';

const PASSAGES = ['Returns within 30 days get a full refund minus a 15% restocking fee. Defective printers are exempt from the fee.'];
const GOOD = 'Returns within 30 days get a full refund minus a 15% restocking fee [1].';

/** A vault that masks without storing, and no model: these checks need neither. */
const vault = { mask: async (_ref: unknown, text: string) => ({ text }) } as unknown as PiiVault;
const services = { vault, gateway: undefined } as unknown as GuardServices;

async function guard(policyDocument: GuardrailPolicyInput, answer: string) {
  const policy = guardrailPolicySchema.parse(policyDocument);
  return guardOutput(services, { version: 1, policy }, { tenantId: 't', vaultTaskId: 'task', answer, question: 'What is the restocking fee?', passages: PASSAGES, format: 'cited' });
}

/** The stream's rows as `answer_stream` would hold them, [kind, text]. */
async function stream(policyDocument: GuardrailPolicyInput, answer: string) {
  const rows: Array<[string, string]> = [];
  const db = { query: async (_sql: string, params: unknown[]) => (rows.push([params[2] as string, params[3] as string]), { rows: [] }) } as unknown as Db;
  const s = new GuardedAnswerStream(db, vault, guardrailPolicySchema.parse(policyDocument), { tenantId: 't', taskId: 'task' }, PASSAGES, 1);
  await s.begin();
  // Deltas the size a model streams them, so sentences complete across pushes.
  for (const delta of answer.match(/[\s\S]{1,9}/g) ?? []) s.push(delta);
  return { ...(await s.end()), rows };
}

describe('the guarded stream and the answer guard', () => {
  it('hold back a sentence the answer guard fails as toxic, with a threshold above the lexicon (0.8, a sentence scoring 0.6)', async () => {
    // "Shut up" is one hostile phrase: 0.6, under the tenant's 0.8, yet toxic by the lexicon. The
    // sentence is grounded in the passage, so only toxicity can hold it.
    const policy = { output: { toxicity: { threshold: 0.8 } } };
    const answer = `${GOOD} Shut up, defective printers are exempt from the fee [1]. Returns within 30 days get a full refund [1].`;
    const checked = await guard(policy, answer);
    expect(checked.failures).toContain('toxicity');
    expect(checked.checks.find((c) => c.check === 'toxicity')).toMatchObject({ verdict: 'fail', detail: { score: 0.6 } });
    const streamed = await stream(policy, answer);
    expect(streamed).toMatchObject({ released: 1, held: 'toxicity' });
    expect(streamed.rows).toEqual([
      ['reset', '1'],
      ['sentence', GOOD],
      ['held', 'toxicity'],
    ]);
  });

  // Policies without a scorer model: the stream does not ask a model per sentence.
  const policies: GuardrailPolicyInput[] = [
    {},
    { output: { toxicity: { threshold: 0.8 } } },
    { output: { toxicity: { threshold: 0.3 } } },
    { output: { brand: { competitors: ['Epson'], risky: ['guarantee'], action: 'review' } } },
    { output: { brand: { competitors: ['Epson'], risky: ['guarantee'], action: 'pass' } } },
    { output: { grounding: { maxUnsupported: 1 } } },
    { pii: { output: { EMAIL_ADDRESS: 'block' } } },
  ];
  const sentences = [
    GOOD,
    'Shut up, defective printers are exempt from the fee [1].',
    'You idiot, returns within 30 days get a full refund [1].',
    'What the fuck is this fee [1].',
    'Unlike Epson, we keep the fee at 15% [1].',
    'We guarantee a full refund within 30 days [1].',
    'The restocking fee is 40 percent [1].',
    'Write to jane.roe@example.com about the fee [1].',
    'Use the key sk-live-9aB7cD5eF3gH1iJ8kL6mN4oP2qR0sT for returns [1].',
  ];
  const sentenceCheckable = OUTPUT_CHECK_UNITS.filter((u) => u.sentenceCheck).map((u) => u.name);

  it.each(policies.map((p) => [JSON.stringify(p), p] as const))('agree on every sentence under %s: held exactly when the answer fails a sentence check, for the most serious', async (_name, policy) => {
    for (const sentence of sentences) {
      const failedBySentence = (await guard(policy, sentence)).failures.filter((f) => sentenceCheckable.includes(f));
      const streamed = await stream(policy, sentence);
      expect({ sentence, held: streamed.held }).toEqual({ sentence, held: worstFailure(failedBySentence) });
    }
  });
});

describe('the list of output checks', () => {
  it('has one unit per check the workflow ranks, and nothing else', () => {
    const names = OUTPUT_CHECK_UNITS.map((u) => u.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual([...OUTPUT_CHECKS].sort());
  });

  it("gives the policy one section per check that has settings, and every check its default ladder", () => {
    for (const unit of OUTPUT_CHECK_UNITS) if (unit.policy) expect(guardrailPolicySchema.shape.output.unwrap().shape).toHaveProperty(unit.name);
    expect(DEFAULT_GUARDRAIL_POLICY.output.onFail).toEqual(Object.fromEntries(OUTPUT_CHECK_RANKING.map((c) => [c.name, c.onFail])));
  });
});
