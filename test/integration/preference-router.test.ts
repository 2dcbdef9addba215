// The PreferenceRouter on real Postgres (PGlite and native): preferences stored with their
// embeddings, a fit versioned per tenant and read back by another process, the pooled prior
// carrying a ranking into a cluster with no data on a pair, identifiers masked in the stored
// query, and a fit of another embedder ignored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashingEmbedder } from '../../activities/retrieval/embeddings.js';
import { PreferenceRouter } from '../../activities/router/preferences.js';
import type { Services } from '../../infra/services.js';
import { ensureTestTenant, testServices, uniqueId, type DbKind } from '../support/harness.js';

const CANDIDATES = [
  { model: 'small', costPerMTok: 0.15 },
  { model: 'large', costPerMTok: 5 },
];

describe.each<DbKind>(['pglite', 'native'])('the preference router on %s', (kind) => {
  let services: Services;
  beforeAll(async () => {
    services = await testServices(kind);
  });
  afterAll(async () => {
    await services?.close();
  });

  async function tenant() {
    const id = uniqueId('pref');
    await ensureTestTenant(services, id);
    return id;
  }

  it('stores each preference with its embedding, versions each fit, and serves the newest to another process', async () => {
    const t = await tenant();
    const router = new PreferenceRouter(services.db, services.embedder);
    for (let i = 0; i < 10; i++) {
      await router.record(t, { query: `What is the price of item ${i}?`, winner: 'small', loser: 'large', tie: true, source: 'ab' });
      await router.record(t, { query: `Prove the theorem about lemma number ${i} step by step`, winner: 'large', loser: 'small', source: 'judge', weight: 2 });
    }
    const { rows } = await services.db.query<{ n: number; dims: number }>('SELECT count(*)::int AS n, max(vector_dims(embedding)) AS dims FROM model_preferences WHERE tenant_id = $1', [t]);
    expect(rows[0]).toEqual({ n: 20, dims: services.embedder.dimensions });

    const first = await router.fit(t, { k: 2 });
    const second = await router.fit(t, { k: 2 });
    expect([first.version, second.version]).toEqual([1, 2]);
    // Deterministic: the same preferences give the same model.
    expect(second.model).toEqual(first.model);

    const elsewhere = new PreferenceRouter(services.db, services.embedder, { ttlMs: 0 });
    // Ten ties are pulled toward the pooled ranking (large well ahead): P(small beats large) ≈ 0.45 there, ≈ 0.1 on proofs.
    const price = await elsewhere.choose(t, { query: 'What is the price of item 12?', candidates: CANDIDATES, threshold: 0.4 });
    expect(price).toMatchObject({ model: 'small', fitVersion: 2 });
    expect(price.winProbability.small).toBeLessThan(0.5);
    expect(await elsewhere.choose(t, { query: 'Prove the theorem about lemma number 12 step by step', candidates: CANDIDATES, threshold: 0.4 })).toMatchObject({ model: 'large', fitVersion: 2 });
  });

  it('carries the pooled ranking into a cluster that never compared a pair', async () => {
    const t = await tenant();
    const router = new PreferenceRouter(services.db, services.embedder);
    // Cluster A compares small with large only; cluster B medium with large only: small and
    // medium never meet, yet a ranking between them follows through large.
    for (let i = 0; i < 10; i++) {
      await router.record(t, { query: `What is the refund policy for order ${i}?`, winner: 'large', loser: 'small', source: 'ab' });
      await router.record(t, { query: `Translate this paragraph into German, sentence ${i}`, winner: 'medium', loser: 'large', tie: true, source: 'ab' });
    }
    const fit = await router.fit(t, { k: 2 });
    for (const c of fit.model.clusters) {
      expect(c.strengths.medium).toBeGreaterThan(c.strengths.small!);
      for (const s of Object.values(c.strengths)) expect(Number.isFinite(s)).toBe(true);
    }
  });

  it('keeps a query with its identifiers masked', async () => {
    const t = await tenant();
    const router = new PreferenceRouter(services.db, services.embedder);
    const { id } = await router.record(t, { query: 'Where is my refund? Write to jane.doe@example.com or call +1 415 555 0134.', winner: 'large', loser: 'small', source: 'ab' });
    const { rows } = await services.db.query<{ query: string }>('SELECT query FROM model_preferences WHERE id = $1', [id]);
    expect(rows[0]!.query).toBe('Where is my refund? Write to [EMAIL_ADDRESS] or call [PHONE_NUMBER].');
  });

  it('ignores a fit made with another embedder rather than misplace queries', async () => {
    const t = await tenant();
    const router = new PreferenceRouter(services.db, services.embedder);
    await router.record(t, { query: 'q one', winner: 'small', loser: 'large', source: 'ab' });
    await router.fit(t);
    const other = new PreferenceRouter(services.db, new HashingEmbedder(services.embedder.dimensions), { ttlMs: 0 });
    // Same id (the test embedder is a hashing one): the fit is used.
    expect((await other.choose(t, { query: 'q', candidates: CANDIDATES, threshold: 0.4 })).fitVersion).toBe(1);
    const renamed = Object.assign(new HashingEmbedder(services.embedder.dimensions), { id: 'another:model' });
    const stranger = new PreferenceRouter(services.db, renamed, { ttlMs: 0 });
    expect(await stranger.choose(t, { query: 'q', candidates: CANDIDATES, threshold: 0.4 })).toMatchObject({ model: 'large', fitVersion: null, fallback: 'no_fit' });
  });
});
