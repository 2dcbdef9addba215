// Usage in one shape for every provider: priced part by part, summed without losing the cached parts.
import { describe, expect, it } from 'vitest';
import { price } from '../../activities/gateway/gateway.js';
import { addUsage } from '../../contracts/task.js';
import { LOCAL_MODEL, type ModelSpec } from '../../infra/config.js';

const claude: ModelSpec = {
  ...LOCAL_MODEL,
  name: 'claude',
  provider: 'anthropic',
  inputPricePerMTok: 3,
  outputPricePerMTok: 15,
  cachedInputPricePerMTok: 0.3,
  cacheWritePricePerMTok: 3.75,
};

describe('usage', () => {
  it('prices uncached input, cache reads, cache writes and output each at its own rate', () => {
    const usage = price(claude, { inputTokens: 10_000, outputTokens: 1_000, cachedReadTokens: 6_000, cacheWriteTokens: 3_000 });
    // 1,000 uncached × $3 + 6,000 × $0.30 + 3,000 × $3.75 + 1,000 × $15, per million.
    expect(usage).toEqual({ inputTokens: 10_000, outputTokens: 1_000, cachedReadTokens: 6_000, cacheWriteTokens: 3_000, costUsd: 0.03105 });
  });

  it('reports a call without a prompt cache in the shape it always had', () => {
    expect(price(claude, { inputTokens: 1_000, outputTokens: 100, cachedReadTokens: 0, cacheWriteTokens: 0 })).toEqual({ inputTokens: 1_000, outputTokens: 100, costUsd: 0.0045 });
  });

  it('sums usages, the cached parts included', () => {
    const a = { inputTokens: 100, outputTokens: 10, costUsd: 0.1 };
    const b = { inputTokens: 200, outputTokens: 20, costUsd: 0.2, cachedReadTokens: 150, cacheWriteTokens: 5 };
    expect(addUsage(a, b)).toEqual({ inputTokens: 300, outputTokens: 30, costUsd: 0.3, cachedReadTokens: 150, cacheWriteTokens: 5 });
    expect(addUsage(a, a)).toEqual({ inputTokens: 200, outputTokens: 20, costUsd: 0.2 });
    expect(addUsage(a, undefined)).toBe(a);
  });
});
