// A reviewer's correction evicts the cache entries the corrected answer came from: the keys the
// answer task's generate (and best-of-n sample) steps recorded, read from its steps before the
// review Update, evicted once the correction is accepted. An approval keeps them.
import { ExactCache } from '../activities/cache/exact.js';
import type { Db } from '../infra/db/pool.js';
import type { StepRecord } from '../workflows/messages.js';

export function cacheKeysOf(steps: StepRecord[]): string[] {
  const keys = steps
    .filter((s) => /^(generate(_\d+)?|sample_\d+)$/.test(s.name))
    .map((s) => (s.detail?.cache as { key?: unknown } | undefined)?.key)
    .filter((k): k is string => typeof k === 'string');
  return [...new Set(keys)];
}

export async function evictCorrected(db: Db, tenantId: string, keys: string[]): Promise<number> {
  let evicted = 0;
  for (const key of keys) evicted += await ExactCache.evict(db, tenantId, { layer: 'model', key });
  return evicted;
}
