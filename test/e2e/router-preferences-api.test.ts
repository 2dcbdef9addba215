// Routing learned from preferences, end to end on the real stack (Fastify, a worker on the
// Temporal dev server, PGlite, the scripted model): each of the three sources ends up as a
// row — a user's A/B choice, a judge model's verdict (the scripted model judging), a
// reviewer's decision on a handed-off answer — a fit routes a cheap model to the kind of query
// it is as good at and the strong one elsewhere, tenants never see each other's preferences,
// and bad input is a 400 naming the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../api/auth.js';
import { PreferenceRouter } from '../../activities/router/preferences.js';
import { startTestApi, type TestApi } from '../support/api-harness.js';
import { indexDocuments } from '../support/corpus.js';
import type { ChatRequestBody } from '../support/scripted-model-server.js';

// Two kinds of query a hashing embedder tells apart by their words.
const FAQ = ['What is the restocking fee for returns?', 'What is the warranty period for printers?', 'What is the price of the toner cartridge?', 'What is the support phone number on weekends?'];
const REASONING = [
  'Compare the three year cost of laser versus inkjet fleets given the monthly volume, step by step',
  'Compare the cost of migrating forty printers to a managed fleet given the budget, step by step',
  'Compare the yearly savings of a duplex policy across departments given their volume, step by step',
  'Compare the cost of leasing versus buying printers given maintenance and toner, step by step',
];
const CANDIDATES = [
  { model: 'small', costPerMTok: 0.15 },
  { model: 'medium', costPerMTok: 1 },
  { model: 'large', costPerMTok: 5 },
];

describe('routing learned from preferences over the HTTP API', () => {
  let api: TestApi;
  let writer: string;
  let reader: string;

  beforeAll(async () => {
    api = await startTestApi();
    writer = (await createApiKey(api.services.db, { tenantId: api.tenant, roles: ['tasks:write'] })).key;
    reader = (await createApiKey(api.services.db, { tenantId: api.tenant, roles: ['tasks:read'] })).key;
  });
  afterAll(async () => {
    await api?.close();
  });

  const rows = async (tenant: string, source?: string) =>
    (
      await api.services.db.query<{ winner: string; loser: string; tie: boolean; source: string; task_id: string | null; query: string }>(
        `SELECT winner, loser, tie, source, task_id, query FROM model_preferences WHERE tenant_id = $1 AND ($2::text IS NULL OR source = $2) ORDER BY id`,
        [tenant, source ?? null],
      )
    ).rows;

  async function abChoices(key: string) {
    // On FAQ queries the small model ties the large one; on reasoning queries the large one wins.
    for (let round = 0; round < 3; round++) {
      for (const query of FAQ) {
        expect((await api.call('POST', '/v1/router/preferences', { key, body: { query, winner: 'small', loser: 'large', tie: true } })).status).toBe(201);
        expect((await api.call('POST', '/v1/router/preferences', { key, body: { query, winner: 'small', loser: 'medium', tie: true } })).status).toBe(201);
      }
      for (const query of REASONING) {
        expect((await api.call('POST', '/v1/router/preferences', { key, body: { query, winner: 'large', loser: 'small' } })).status).toBe(201);
        expect((await api.call('POST', '/v1/router/preferences', { key, body: { query, winner: 'large', loser: 'medium' } })).status).toBe(201);
      }
    }
  }

  it('records A/B choices, fits, and routes each kind of query to the cheapest model as good as the strongest', async () => {
    const router = new PreferenceRouter(api.services.db, api.services.embedder, { ttlMs: 0 });
    const before = await router.choose(api.tenant, { query: FAQ[0]!, candidates: CANDIDATES, threshold: 0.4 });
    expect(before).toMatchObject({ model: 'large', fitVersion: null, fallback: 'no_fit' });
    expect((await api.call('GET', '/v1/router/preferences/model', { key: reader })).status).toBe(404);

    await abChoices(writer);
    expect(await rows(api.tenant, 'ab')).toHaveLength(48);
    expect((await api.call('POST', '/v1/router/fit', { key: writer, body: {} })).status).toBe(403);
    const fit = await api.call('POST', '/v1/router/fit', { key: api.keys.admin, body: { clusters: 2 } });
    expect(fit.status).toBe(200);
    expect(fit.json).toMatchObject({ version: 1, preferences: 48, players: ['large', 'medium', 'small'] });
    expect(fit.json.clusters.map((c: { size: number }) => c.size).sort()).toEqual([24, 24]);
    const shown = await api.call('GET', '/v1/router/preferences/model', { key: reader });
    expect(shown).toMatchObject({ status: 200, json: { version: 1, clusters: fit.json.clusters } });

    for (const query of FAQ) expect((await router.choose(api.tenant, { query, candidates: CANDIDATES, threshold: 0.4 })).model).toBe('small');
    for (const query of REASONING) {
      const choice = await router.choose(api.tenant, { query, candidates: CANDIDATES, threshold: 0.4 });
      expect(choice).toMatchObject({ model: 'large', strongest: 'large', fitVersion: 1 });
      expect(choice.winProbability.small).toBeLessThan(0.2);
    }
    // A new query of a known kind lands in its kind's cluster.
    expect((await router.choose(api.tenant, { query: 'What is the warranty price of the toner?', candidates: CANDIDATES, threshold: 0.4 })).model).toBe('small');
    // Shadow mode: the strongest is called, the learned choice reported.
    expect(await router.choose(api.tenant, { query: FAQ[1]!, candidates: CANDIDATES, threshold: 0.4, shadow: true })).toMatchObject({ model: 'large', chosen: 'small', shadow: true });
  });

  it("keeps one tenant's preferences out of another's fit", async () => {
    const other = await api.call('GET', '/v1/router/preferences/model', { key: api.keys.other });
    expect(other.status).toBe(404);
    // The other tenant's users prefer the small model everywhere.
    for (const query of [...FAQ, ...REASONING]) {
      await api.call('POST', '/v1/router/preferences', { key: api.keys.other, body: { query, winner: 'small', loser: 'large' } });
    }
    const fit = await api.call('POST', '/v1/router/fit', { key: api.keys.other, body: {} });
    expect(fit.json).toMatchObject({ version: 1, preferences: 8, players: ['large', 'small'] });
    expect(fit.json.pooled.small).toBeGreaterThan(fit.json.pooled.large);
    expect(await rows(api.otherTenant)).toHaveLength(8);
    // The first tenant's fit is as it was: large still wins its reasoning cluster.
    const router = new PreferenceRouter(api.services.db, api.services.embedder, { ttlMs: 0 });
    expect((await router.choose(api.tenant, { query: REASONING[0]!, candidates: CANDIDATES, threshold: 0.4 })).model).toBe('large');
    expect((await router.choose(api.otherTenant, { query: REASONING[0]!, candidates: CANDIDATES, threshold: 0.4 })).model).toBe('small');
  });

  it("records a judge model's verdict, judged in both orders", async () => {
    const good = 'Returns within 30 days get a full refund minus a 15% restocking fee.';
    const vague = 'There may be a fee.';
    // The scripted judge prefers whichever answer states the fee, wherever it is placed.
    api.model.onChat((req: ChatRequestBody) => {
      const user = String(req.messages.find((m) => m.role === 'user')?.content ?? '');
      const better = user.indexOf(good) < user.indexOf(vague) ? 'A' : 'B';
      return { content: JSON.stringify({ better, reason: 'states the fee' }) };
    });
    const judged = await api.call('POST', '/v1/router/preferences/judge', {
      key: writer,
      body: { query: 'What is the restocking fee?', answers: [{ model: 'small', text: vague }, { model: 'large', text: good }], judgeModel: 'primary' },
    });
    expect(judged).toMatchObject({ status: 201, json: { winner: 'large', loser: 'small', tie: false, verdicts: ['second', 'second'] } });
    expect(judged.json.usage.inputTokens).toBeGreaterThan(0);
    // A judge that always picks the first answer it reads disagrees with itself: a tie.
    api.model.onChat(() => ({ content: '{"better": "A"}' }));
    const biased = await api.call('POST', '/v1/router/preferences/judge', {
      key: writer,
      body: { query: 'What is the restocking fee?', answers: [{ model: 'small', text: vague }, { model: 'large', text: good }], judgeModel: 'primary' },
    });
    expect(biased.json).toMatchObject({ tie: true, verdicts: ['first', 'second'] });
    api.model.onChat(() => ({ content: 'not json' }));
    const unreadable = await api.call('POST', '/v1/router/preferences/judge', {
      key: writer,
      body: { query: 'q', answers: [{ model: 'small', text: 'a' }, { model: 'large', text: 'b' }], judgeModel: 'primary' },
    });
    expect(unreadable).toMatchObject({ status: 502, json: { error: { code: 'judge_unreadable' } } });
    api.model.onChat(undefined);
    expect(await rows(api.tenant, 'judge')).toMatchObject([
      { winner: 'large', loser: 'small', tie: false, query: 'What is the restocking fee?' },
      { tie: true },
    ]);
  });

  it("records a reviewer's approval of a handed-off answer as a tie of its model with the reviewer", async () => {
    await indexDocuments(api.services, {
      tenantId: api.tenant,
      collection: 'kb',
      documents: [{ id: 'returns', title: 'Returns', text: '# Returns\n\nReturns within 30 days get a full refund minus a 15% restocking fee.' }],
    });
    const policy = await api.call('PUT', '/v1/guardrails/policy', { key: api.keys.admin, body: { output: { brand: { competitors: ['Epson'], action: 'review' } } } });
    expect(policy.status).toBe(200);
    const reviewed = async (decision: 'approve' | 'edit') => {
      api.model.enqueue({ content: 'Unlike Epson, returns within 30 days get a full refund minus a 15% restocking fee [1].' });
      const start = await api.call('POST', '/v1/tasks', { key: api.keys.admin, body: { type: 'answer', input: 'What is the restocking fee?', collection: 'kb' } });
      const { taskId } = start.json;
      let task = await api.call('GET', `/v1/tasks/${taskId}`, { key: api.keys.admin });
      for (let i = 0; i < 150 && task.json.status !== 'needs_review'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        task = await api.call('GET', `/v1/tasks/${taskId}`, { key: api.keys.admin });
      }
      expect(task.json.status).toBe('needs_review');
      const body = decision === 'approve' ? { decision } : { decision, answer: 'Returns within 30 days are refunded, minus a 15% restocking fee.' };
      expect((await api.call('POST', `/v1/tasks/${taskId}/review`, { key: api.keys.admin, body })).status).toBe(200);
      return taskId as string;
    };
    const approved = await reviewed('approve');
    const edited = await reviewed('edit');
    // Recorded in the background once the task finishes.
    let review = await rows(api.tenant, 'review');
    for (let i = 0; i < 100 && review.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      review = await rows(api.tenant, 'review');
    }
    expect(review).toEqual([
      { winner: 'primary', loser: 'human', tie: true, source: 'review', task_id: approved, query: 'What is the restocking fee?' },
      { winner: 'human', loser: 'primary', tie: false, source: 'review', task_id: edited, query: 'What is the restocking fee?' },
    ]);
  });

  it('refuses bad input with a 400 naming the field, and callers without the role', async () => {
    const bad = async (path: string, body: unknown, field: string) => {
      const res = await api.call('POST', path, { key: writer, body });
      expect(res.status).toBe(400);
      expect(res.json.error.message).toContain(field);
    };
    await bad('/v1/router/preferences', { query: 'q', winner: 'small', loser: 'small' }, 'body.loser');
    await bad('/v1/router/preferences', { winner: 'small', loser: 'large' }, 'body.query');
    await bad('/v1/router/preferences', { query: '   ', winner: 'small', loser: 'large' }, 'body.query');
    await bad('/v1/router/preferences', { query: 'q', winner: 'no spaces please', loser: 'large' }, 'body.winner');
    await bad('/v1/router/preferences', { query: 'q', winner: 'small', loser: 'large', weight: 0 }, 'body.weight');
    await bad('/v1/router/preferences', { query: 'q', winner: 'small', loser: 'large', weight: 1e-193 }, 'body.weight');
    await bad('/v1/router/preferences', { query: 'q', winner: 'small', loser: 'large', extra: 1 }, 'body');
    await bad('/v1/router/preferences/judge', { query: 'q', answers: [{ model: 'a', text: 'x' }], judgeModel: 'primary' }, 'body.answers');
    await bad('/v1/router/preferences/judge', { query: 'q', answers: [{ model: 'a', text: 'x' }, { model: 'a', text: 'y' }], judgeModel: 'primary' }, 'body.answers.1.model');
    const fit = await api.call('POST', '/v1/router/fit', { key: api.keys.admin, body: { clusters: 0 } });
    expect(fit.status).toBe(400);
    expect(fit.json.error.message).toContain('body.clusters');
    expect((await api.call('POST', '/v1/router/preferences', { key: reader, body: { query: 'q', winner: 'a', loser: 'b' } })).status).toBe(403);
    expect((await api.call('POST', '/v1/router/preferences', { body: { query: 'q', winner: 'a', loser: 'b' } })).status).toBe(401);
    // A tenant with no preferences has nothing to fit.
    const empty = await createApiKey(api.services.db, { tenantId: `${api.otherTenant}-empty`, roles: ['admin'] });
    const nothing = await api.call('POST', '/v1/router/fit', { key: empty.key });
    expect(nothing).toMatchObject({ status: 409, json: { error: { code: 'no_preferences' } } });
  });
});
