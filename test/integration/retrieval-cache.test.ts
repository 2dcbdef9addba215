// The exact cache's retrieval layer on real Postgres: a repeated search is served from the cache;
// re-ingesting into the collection moves its corpus version on, so the earlier result is never
// served again; another tenant's identical search finds nothing of this one's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExactCache } from '../../activities/cache/exact.js';
import { createRetrievalActivities } from '../../activities/retrieval/activities.js';
import type { Services } from '../../infra/services.js';
import { indexDocuments } from '../support/corpus.js';
import { testConfig, testServices, uniqueId, allLayers } from '../support/harness.js';

describe('cached retrieval', () => {
  let services: Services;
  let retrieve: ReturnType<typeof createRetrievalActivities>['retrieve'];
  const tenant = uniqueId('acme');
  const other = uniqueId('globex');
  const options = { mode: 'ensemble' as const, topK: 3, candidates: 10, rrfK: 60, efSearch: 40 };

  beforeAll(async () => {
    services = await testServices('pglite');
    const cache = new ExactCache(services.db, { ...allLayers, ttlSeconds: 600, maxBytesPerTenant: 2 ** 20, eviction: 'lru' });
    retrieve = createRetrievalActivities({ ...services, config: testConfig(), cache }).retrieve;
    for (const t of [tenant, other]) {
      await indexDocuments(services, { tenantId: t, collection: 'kb', documents: [{ id: 'returns', text: `# Returns\n\nReturns within 30 days get a refund minus a fee at ${t}.` }] });
    }
  });
  afterAll(() => services?.close());

  it('serves a repeated search, and never an earlier corpus version', async () => {
    const q = { tenantId: tenant, collection: 'kb', query: 'refund fee for returns', ...options };
    const first = await retrieve(q);
    expect(first.cache).toMatchObject({ outcome: 'stored' });
    const second = await retrieve(q);
    expect(second.cache).toMatchObject({ outcome: 'hit', corpusVersion: first.cache!.corpusVersion });
    expect(second.passages.map((p) => p.chunkId)).toEqual(first.passages.map((p) => p.chunkId));

    // A new document: the version moves on, the search runs again and finds it.
    await indexDocuments(services, { tenantId: tenant, collection: 'kb', documents: [{ id: 'refund-fee', text: '# Refund fee\n\nThe refund fee for returns is 15 percent.' }] });
    const third = await retrieve(q);
    expect(third.cache).toMatchObject({ outcome: 'stored' });
    expect(third.cache!.corpusVersion).toBeGreaterThan(first.cache!.corpusVersion);
    expect(third.passages.map((p) => p.documentId)).toContain('refund-fee');
  });

  it("never serves one tenant's result to another", async () => {
    const q = { collection: 'kb', query: 'how long do returns take', ...options };
    await retrieve({ ...q, tenantId: tenant });
    const theirs = await retrieve({ ...q, tenantId: other });
    expect(theirs.cache?.outcome).toBe('stored');
    expect(theirs.passages.every((p) => p.text.includes(other))).toBe(true);
  });
});
