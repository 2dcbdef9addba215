// The cache's activity: evicting the entries of answers that failed their output checks, so a
// cached answer that was not good enough to show is never served again.
import type { ActivityDeps } from '../deps.js';
import { ExactCache } from './exact.js';

export function createCacheActivities(deps: Pick<ActivityDeps, 'db'>) {
  return {
    async evictCachedAnswers(input: { tenantId: string; keys: string[] }): Promise<{ evicted: number }> {
      let evicted = 0;
      for (const key of input.keys) evicted += await ExactCache.evict(deps.db, input.tenantId, { layer: 'model', key });
      return { evicted };
    },
  };
}
