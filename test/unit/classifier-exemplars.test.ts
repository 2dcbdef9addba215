// The offline injection classifier is scored on the injection set's test split
// (bench/guardrails): an exemplar that is also a test example would be scored on itself.
import { describe, expect, it } from 'vitest';
import { exemplarTexts } from '../../activities/gateway/local/classifier.js';
import { injectionDataset } from '../../bench/guardrails/injection-dataset.js';

describe("the offline classifier's exemplars", () => {
  it('share no text with the injection benchmark test split', () => {
    const normalise = (t: string) => t.toLowerCase().replace(/\s+/g, ' ').trim();
    const exemplars = new Set(exemplarTexts().map(normalise));
    expect(exemplars.size).toBeGreaterThan(50);
    expect(injectionDataset().test.filter((e) => exemplars.has(normalise(e.text))).map((e) => e.text)).toEqual([]);
  });
});
