// A reviewer's correction evicts the cache entries the corrected answer came from: the keys the
// answer task's generate (and best-of-n sample) steps recorded, read from its status before the
// review Update, evicted once the correction is accepted. An approval keeps them.
import type { WorkflowHandle } from '@temporalio/client';
import { ExactCache } from '../activities/cache/exact.js';
import type { Db } from '../infra/db/pool.js';
import { answerStatusQuery, type StepRecord } from '../workflows/messages.js';

export async function answerCacheKeys(handle: WorkflowHandle, taskType: string): Promise<string[]> {
  if (taskType !== 'answer') return [];
  const status = await handle.query(answerStatusQuery).catch(() => undefined);
  return status ? cacheKeysOf(status.steps) : [];
}

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
