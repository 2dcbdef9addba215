// The Temporal UI's one-liners: bounded, single-line, amounts shown, text arguments never.
import { describe, expect, it } from 'vitest';
import { amountsOf, oneLine, RunDetails, startSummaries, SUMMARY_MAX_CHARS, summaries, withSummary } from '../../workflows/policy/summaries.js';

describe('activity summaries', () => {
  it('shows a write’s tool, dollar amounts and approval id, and no text argument', () => {
    const args = { orderId: 1004, amountUsd: 79, reason: 'Emily Doe at [EMAIL_ADDRESS_1] asked for it' };
    expect(summaries.propose('issue_refund', args, 'apr_1')).toBe('propose issue_refund $79.00 (apr_1)');
    expect(summaries.execute('send_email', { to: '[EMAIL_ADDRESS_1]', subject: 'Hi' }, 'apr_2')).toBe('execute send_email (apr_2)');
    expect(amountsOf({ amountUsd: 12.5, feeUSD: 1, note: '5Usd', countUsd: Number.NaN })).toEqual(['$12.50', '$1.00']);
  });

  it('says which attempt or sample a generation is', () => {
    expect(summaries.generate(8, 'gpt-x', 1)).toBe('generate from 8 passages with gpt-x');
    expect(summaries.generate(8, 'gpt-x', 2)).toBe('generate from 8 passages with gpt-x (attempt 2)');
    expect(summaries.generate(3, undefined, 101)).toBe('generate from 3 passages with the default model (sample 2)');
  });

  it('keeps every line single and bounded', () => {
    const long = summaries.readTool(`tool_${'x'.repeat(300)}`);
    expect(oneLine(long)).toHaveLength(SUMMARY_MAX_CHARS);
    expect(oneLine(long).endsWith('…')).toBe(true);
    expect(oneLine('a\n  b\tc')).toBe('a b c');
    expect(startSummaries.agent('loop', 'kb', ['query_sql', 'issue_refund'])).toBe('agent (loop) over kb: query_sql, issue_refund');
    expect(startSummaries.ingest(1, 'kb')).toBe('ingest 1 document into kb');
  });

  it('calls a stub with its summary, and a fake without executeWithOptions as it is', async () => {
    const seen: unknown[] = [];
    const stub = Object.assign(async (n: number) => n, { executeWithOptions: async (o: unknown, [n]: [number]) => (seen.push(o), n * 10) });
    expect(await withSummary(stub, `a\nsummary ${'y'.repeat(200)}`, 2)).toBe(20);
    expect((seen[0] as { summary: string }).summary).toHaveLength(SUMMARY_MAX_CHARS);
    expect(await withSummary(async (n: number) => n + 1, 'ignored', 2)).toBe(3);
  });
});

describe('a run’s current details', () => {
  it('lists what happened, then what runs now, the latest few only', () => {
    let shown = '';
    const details = new RunDetails((d) => (shown = d));
    details.note(undefined, 'guarding the input');
    expect(shown).toBe('guarding the input');
    details.note('retrieved 8 passages from kb', 'generating');
    expect(shown).toBe('retrieved 8 passages from kb; generating');
    for (let i = 1; i <= 8; i++) details.note(`step ${i}`);
    expect(shown).toBe('step 3; step 4; step 5; step 6; step 7; step 8');
  });
});
