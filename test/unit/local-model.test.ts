// The offline `local` model: extractive answers with citations, and rule-based rewriting that
// refuses to guess.
import { describe, expect, it } from 'vitest';
import { answerExtractively } from '../../activities/gateway/local/answer.js';
import { rewriteWithRules } from '../../activities/gateway/local/rewrite.js';
import { entities, flattenTables, NOT_FOUND_ANSWER } from '../../activities/text.js';

const passages = [
  { text: 'Returns within 30 days get a full refund. A 15% restocking fee applies to opened printers.' },
  { text: 'The Jet 5 joins 2.4 GHz networks only. It cannot see a 5 GHz band.' },
  { text: '| Code | Meaning | Fix |\n|---|---|---|\n| E-102 | Jam at rear | Open the rear access door |\n| E-109 | Sensor fault | Power cycle |' },
];

describe('extractive answers', () => {
  it('quotes the best sentences with the number of the passage they came from', async () => {
    expect(await answerExtractively('How much is the restocking fee for an opened printer?', passages)).toBe(
      'A 15% restocking fee applies to opened printers. [1]',
    );
    expect(await answerExtractively('What does E-102 mean?', passages)).toContain('Code: E-102; Meaning: Jam at rear; Fix: Open the rear access door. [3]');
  });

  it('says it found nothing rather than quoting noise', async () => {
    expect(await answerExtractively('Who won the football match yesterday?', passages)).toBe(NOT_FOUND_ANSWER);
    expect(await answerExtractively('Anything?', [])).toBe(NOT_FOUND_ANSWER);
  });

  it('uses meaning when an embedder is given', async () => {
    // A toy embedder: the question and the Wi-Fi sentences point the same way, the rest elsewhere.
    const embed = async (texts: string[]) =>
      texts.map((t) => Float32Array.from(/GHz|network|wifi|Wi-Fi|router/i.test(t) ? [1, 0] : [0, 1]));
    const answer = await answerExtractively('Why does my router not list the printer on wifi?', passages, embed);
    expect(answer).toMatch(/2\.4 GHz.*\[2\]/);
  });

  it('flattens tables into self-describing rows', () => {
    expect(flattenTables('| A | B |\n|---|---|\n| 1 | 2 |\ntext')).toBe('A: 1; B: 2.\ntext');
  });
});

describe('rule-based question rewriting', () => {
  const history = [{ role: 'user' as const, content: 'When did John Doe last buy something?' }, { role: 'assistant' as const, content: 'On 2024-03-02.' }];

  it('substitutes the new subject of a "how about" follow-up', () => {
    expect(rewriteWithRules('How about Emily Doe?', history)).toEqual({ resolved: true, standalone: 'When did Emily Doe last buy something?' });
    expect(rewriteWithRules('What about the Jet 5?', [{ role: 'user', content: 'What is the warranty on the LX-200?' }])).toEqual({
      resolved: true,
      standalone: 'What is the warranty on the Jet 5?',
    });
  });

  it('resolves pronouns to the person named before', () => {
    expect(rewriteWithRules('What did he buy?', history)).toEqual({ resolved: true, standalone: 'What did John Doe buy?' });
  });

  it('refuses to guess a relation the conversation never established', () => {
    const wife = rewriteWithRules('How about his wife?', history);
    expect(wife.resolved).toBe(false);
    expect(wife.missing).toMatch(/John Doe's wife/);
    expect(rewriteWithRules('How about her?', []).resolved).toBe(false);
  });

  it('leaves a question that stands alone as it is', () => {
    expect(rewriteWithRules('What is the restocking fee?', history)).toEqual({ resolved: true, standalone: 'What is the restocking fee?' });
  });

  it('finds names and product codes', () => {
    expect(entities('When did John Doe buy the LX-200 toner?')).toEqual(['John Doe', 'LX-200']);
  });
});
