// The semantic cache in real Postgres (pgvector's HNSW) with the real local embedder
// (all-MiniLM-L6-v2): a paraphrase is served, a near miss is not (the false-hit guard stops a
// different person or a negation), shadow mode serves nothing and says what it would have; an
// entry never reaches another tenant, route or user, and a new version of the collection
// invalidates the answers drawn from the old one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SemanticAnswers, type CachedAnswer, type SemanticAnswerRequest } from '../../activities/cache/answers.js';
import { SemanticCache, type SemanticAddress } from '../../activities/cache/semantic.js';
import { PromptStore } from '../../activities/prompts/store.js';
import type { Embedder } from '../../activities/retrieval/embedder.js';
import { loadLocalEmbedder } from '../../activities/retrieval/local-embedder.js';
import { loadConfig, type CacheSettings } from '../../infra/config.js';
import type { Services } from '../../infra/services.js';
import { indexDocuments } from '../support/corpus.js';
import { allLayers, testServices, uniqueId } from '../support/harness.js';

describe('the semantic cache', () => {
  let services: Services;
  let embedder: Embedder;
  let cache: SemanticCache;
  const settings: CacheSettings = { ...allLayers, ttlSeconds: 600, maxBytesPerTenant: 2 ** 24, eviction: 'lru' };
  const tenant = uniqueId('acme');
  const other = uniqueId('globex');
  const at = (o: Partial<SemanticAddress> = {}): SemanticAddress => ({ tenantId: tenant, route: 'faq', scope: '', contextKey: 'ctx', ...o });
  const lookup = (query: string, o: Partial<SemanticAddress> = {}, mode: 'on' | 'shadow' = 'on') => cache.lookup<{ answer: string }>(at(o), query, { threshold: settings.semanticThreshold, mode });

  beforeAll(async () => {
    services = await testServices('pglite');
    embedder = await loadLocalEmbedder(loadConfig({}).embedding);
    cache = new SemanticCache(services.db, services.caps, embedder, settings);
    for (const t of [tenant, other]) await services.db.query('INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [t]);
    await cache.store(at(), "What's the capital of Vietnam?", { answer: 'Hanoi.' });
    await cache.store(at(), 'When did John Doe last order?', { answer: 'On 3 March.' });
    await cache.store(at(), 'Can I return an unused cartridge?', { answer: 'Yes, within 30 days.' });
  });
  afterAll(async () => {
    await embedder?.close?.();
    await services?.close();
  });

  it('serves a paraphrase', async () => {
    const hit = await lookup("What's the capital city of Vietnam?");
    expect(hit).toMatchObject({ outcome: 'hit', cachedQuery: "What's the capital of Vietnam?", value: { answer: 'Hanoi.' } });
    expect(hit.outcome === 'hit' && hit.similarity).toBeGreaterThanOrEqual(settings.semanticThreshold);
  });

  it('does not serve a question about another person, or its negation', async () => {
    const emily = await lookup('When did Emily Doe last order?');
    expect(emily.outcome).toBe('miss');
    const used = await lookup('Can I return a used cartridge?');
    expect(used.outcome).toBe('miss');
    // Near enough to pass the threshold: only the guard stopped them, and it says why.
    expect(used.outcome === 'miss' && used.nearest).toMatchObject({ cachedQuery: 'Can I return an unused cartridge?', blockedBy: [expect.objectContaining({ kind: 'polarity' })] });
    const unguarded = await cache.lookup(at(), 'Can I return a used cartridge?', { threshold: settings.semanticThreshold, mode: 'on', guard: false });
    expect(unguarded.outcome).toBe('hit');
  });

  it('in shadow mode serves nothing and records the would-be hit and its similarity', async () => {
    const shadow = await lookup("What's the capital city of Vietnam?", {}, 'shadow');
    expect(shadow).toMatchObject({ outcome: 'shadow', wouldHit: true, nearest: { cachedQuery: "What's the capital of Vietnam?" } });
    expect(shadow.outcome === 'shadow' && shadow.nearest!.similarity).toBeGreaterThan(0.9);
    expect(shadow).not.toHaveProperty('value');
  });

  it('never crosses a tenant, a route, a scope or a context', async () => {
    for (const o of [{ tenantId: other }, { route: 'billing' }, { scope: 'u_someone' }, { contextKey: 'another collection version' }]) {
      const found = await lookup("What's the capital of Vietnam?", o);
      expect(found, JSON.stringify(o)).toEqual({ outcome: 'miss', nearest: undefined });
    }
  });

  it('keeps one entry per question at an address: answered again, it is replaced', async () => {
    const first = await cache.store(at({ route: 'dedup' }), 'How long is the warranty?', { answer: 'One year.' });
    const again = await cache.store(at({ route: 'dedup' }), 'How long is the warranty?', { answer: 'Two years.' });
    expect(again).toBe(first);
    expect(await lookup('How long is the warranty?', { route: 'dedup' })).toMatchObject({ outcome: 'hit', value: { answer: 'Two years.' } });
  });

  describe('answers (scope, PII, invalidation)', () => {
    let answers: SemanticAnswers;
    const corpusTenant = uniqueId('inkwell');
    const doc = (fee: string) => ({ id: 'returns', text: `# Returns\n\nReturns within 30 days get a refund minus a ${fee} restocking fee.` });
    const answer: CachedAnswer = { answer: 'A 15% restocking fee [1].', citations: [], model: 'primary', costUsd: 0.002 };
    const request = async (question: string, userId: string | null): Promise<SemanticAnswerRequest> => {
      const taskId = uniqueId('task');
      await services.db.query('INSERT INTO tasks (id, tenant_id, type, request_hash, user_id) VALUES ($1, $2, $3, $4, $5)', [taskId, corpusTenant, 'answer', 'h', userId]);
      return { tenantId: corpusTenant, taskId, route: 'default', collection: 'kb', question, context: { policyVersion: 0, options: { topK: 3 } } };
    };

    beforeAll(async () => {
      answers = new SemanticAnswers(services.db, cache);
      await indexDocuments({ db: services.db, embedder }, { tenantId: corpusTenant, collection: 'kb', documents: [doc('15%')] });
    });

    it('keeps a user-specific answer to its user, and a question with masked PII to nobody', async () => {
      const ann = `u_ann_${corpusTenant}`;
      const bob = `u_bob_${corpusTenant}`;
      expect(await answers.store(await request('What is the status of my order?', ann), answer)).toEqual({ stored: true });
      expect(await answers.lookup(await request('What is the status of my order?', ann))).toMatchObject({ outcome: 'hit', scope: 'user' });
      expect(await answers.lookup(await request('What is the status of my order?', bob))).toMatchObject({ outcome: 'miss', scope: 'user', nearest: undefined });
      expect(await answers.lookup(await request('What is the status of my order?', null))).toMatchObject({ outcome: 'uncacheable' });
      expect(await answers.store(await request('Where is the parcel for [EMAIL_ADDRESS_1]?', ann), answer)).toEqual({ stored: false, reason: 'carries masked PII' });
      expect(await answers.lookup(await request('Is the returns desk open today?', ann))).toMatchObject({ outcome: 'uncacheable', reason: expect.stringContaining('time-sensitive') });
    });

    it('records what a hit saved in the usage ledger', async () => {
      const q = await request('How much is the restocking fee for a return?', null);
      await answers.store(q, answer);
      const hit = await answers.lookup(await request('How much is the restocking fee on a return?', null));
      expect(hit.outcome).toBe('hit');
      const { rows } = await services.db.query<{ saved: string }>("SELECT sum(saved_usd)::text AS saved FROM model_usage WHERE tenant_id = $1 AND outcome = 'cache_hit'", [corpusTenant]);
      expect(Number(rows[0]!.saved)).toBeGreaterThanOrEqual(0.002);
    });

    it('keeps an answer written with another version of the answer prompt apart', async () => {
      const prompts = new PromptStore(services.db);
      const { version } = await prompts.create(corpusTenant, 'answer.system', { template: 'Answer from the passages, citing [1].' });
      await prompts.activate(corpusTenant, 'answer.system', { version });
      const versioned = new SemanticAnswers(services.db, cache, prompts);
      const question = 'Which fee applies to a returned scanner?';
      await versioned.store(await request(question, null), answer);
      expect((await versioned.lookup(await request(question, null))).outcome).toBe('hit');
      // Written with version 2: a task on the built-in version (a pin, or before the activation) does not get it.
      expect(await answers.lookup(await request(question, null))).toMatchObject({ outcome: 'miss' });
      await prompts.activate(corpusTenant, 'answer.system', { version: 1 });
    });

    it("re-ingesting a changed document invalidates the answers drawn from the collection's earlier version", async () => {
      const question = 'What fee is charged on returned printers?';
      await answers.store(await request(question, null), answer);
      expect((await answers.lookup(await request(question, null))).outcome).toBe('hit');
      await indexDocuments({ db: services.db, embedder }, { tenantId: corpusTenant, collection: 'kb', documents: [doc('20%')] });
      expect(await answers.lookup(await request(question, null))).toMatchObject({ outcome: 'miss', nearest: undefined });
      const { rows } = await services.db.query("SELECT 1 FROM semantic_cache_entries WHERE tenant_id = $1 AND query = $2", [corpusTenant, question]);
      expect(rows).toHaveLength(0);
    });
  });
});
