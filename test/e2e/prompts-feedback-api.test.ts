// Versioned prompts and feedback end to end on the real stack (Fastify, a worker on the Temporal
// dev server, PGlite, the scripted model): a tenant's new version of the answer prompt reaches the
// model, each task records the version it used (the step's detail, the usage ledger, per task), a
// pin wins over what is in force, a candidate takes its share of the tasks by their ids, versions
// compare on the same numbers; feedback is stored with the answer's model and prompt version, its
// comment masked, summarised, counted, and recorded as a preference a router fit sees. Tenants
// never see each other's prompts, tasks or feedback; bad input is a 400 naming the field.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../api/auth.js';
import { feedbackByPromptVersion } from '../../activities/feedback/feedback.js';
import { takesCandidate } from '../../activities/prompts/pick.js';
import { metricsRegistry } from '../../infra/metrics.js';
import { startTestApi, type TestApi } from '../support/api-harness.js';
import { indexDocuments } from '../support/corpus.js';

const V2 = 'You are the Inkwell help desk. Answer only from the numbered passages and cite them like [1]. Version two.';
const V3 = 'Answer from the numbered passages, citing them like [1]. Version three, the candidate.';

describe('versioned prompts and feedback over the HTTP API', () => {
  let api: TestApi;
  let reader: string;
  const systemPrompts = () => api.model.requests.filter((r) => r.kind === 'chat').map((r) => (r.body as { messages: Array<{ role: string; content: string }> }).messages[0]!.content);

  beforeAll(async () => {
    api = await startTestApi();
    reader = (await createApiKey(api.services.db, { tenantId: api.tenant, roles: ['tasks:read'] })).key;
    await indexDocuments(api.services, {
      tenantId: api.tenant,
      collection: 'kb',
      documents: [{ id: 'returns', title: 'Returns', text: '# Returns\n\nReturns within 30 days get a full refund minus a 15% restocking fee.' }],
    });
    api.model.onChat(() => ({ content: 'Returns within 30 days get a refund minus a 15% restocking fee [1].' }));
  });
  afterAll(async () => {
    await api?.close();
  });

  /** An answer task to completion; with a key, its id is known before it starts (the API derives it from the key). */
  async function answer(opts: { key?: string; promptVersions?: Record<string, number> } = {}) {
    const headers = opts.key ? { 'idempotency-key': opts.key } : undefined;
    const start = await api.call('POST', '/v1/tasks', { key: api.keys.admin, headers, body: { type: 'answer', input: 'What is the restocking fee?', collection: 'kb', options: opts.promptVersions ? { promptVersions: opts.promptVersions } : undefined } });
    expect(start.status, JSON.stringify(start.json)).toBe(202);
    const done = await api.call('GET', `/v1/tasks/${start.json.taskId}/result?wait=30`, { key: api.keys.admin });
    expect(done.json.status).toBe('completed');
    const generate = (done.json.result.steps as Array<{ name: string; detail?: { prompt?: unknown } }>).find((s) => s.name === 'generate');
    return { taskId: start.json.taskId as string, prompt: generate?.detail?.prompt, system: systemPrompts().at(-1)! };
  }

  const taskIdFor = (key: string) => `task_${createHash('sha256').update(`${api.tenant}\u0000${key}`).digest('hex').slice(0, 32)}`;

  it('lists the built-in prompts, and refuses a bad version or activation with a 400 naming the field', async () => {
    const list = await api.call('GET', '/v1/prompts', { key: reader });
    expect(list.status).toBe(200);
    expect(list.json.prompts).toHaveLength(12);
    expect(list.json.prompts.find((p: { name: string }) => p.name === 'sql.system')).toMatchObject({ activeVersion: 1, versions: 1, variables: ['tables', 'maxRows'], candidateShare: 0 });

    const bad = async (path: string, body: unknown, field: string, text?: string) => {
      const res = await api.call('POST', path, { key: api.keys.admin, body });
      expect(res.status, JSON.stringify(res.json)).toBe(400);
      expect(res.json.error.message).toContain(field);
      if (text) expect(res.json.error.message).toContain(text);
    };
    await bad('/v1/prompts/sql.system/versions', { template: 'Write one SELECT, at most {{maxRows}} rows.' }, 'body.template', '{{tables}}');
    await bad('/v1/prompts/answer.system/versions', { template: 'Answer {{question}}' }, 'body.template', '{{question}}');
    await bad('/v1/prompts/answer.system/versions', { template: '   ' }, 'body.template');
    await bad('/v1/prompts/answer.system/versions', { template: 'x', extra: 1 }, 'body');
    await bad('/v1/prompts/no.such/versions', { template: 'x' }, 'params.name');
    await bad('/v1/prompts/answer.system/activate', { version: 9 }, 'body.version');
    await bad('/v1/prompts/answer.system/activate', { version: 1, share: 150 }, 'body.share');
    expect((await api.call('POST', '/v1/prompts/answer.system/versions', { key: reader, body: { template: V2 } })).status).toBe(403);
    // Created at once, numbered apart.
    const made = await Promise.all([1, 2, 3].map((i) => api.call('POST', '/v1/prompts/guard.scope/versions', { key: api.keys.admin, body: { template: `Scope check, draft ${i}.` } })));
    expect(made.map((r) => r.json.version).sort()).toEqual([2, 3, 4]);
    expect((await api.call('GET', '/v1/prompts')).status).toBe(401);
    // Documented for clients (and the fuzzer), the pins with the tasks' options.
    const spec = (await api.call('GET', '/openapi.json')).json;
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/prompts/{name}/activate', '/v1/tasks/{taskId}/feedback', '/v1/feedback/summary', '/v1/tasks/{taskId}/prompt-versions']));
    expect(JSON.stringify(spec.components.schemas.TaskRequest)).toContain('promptVersions');
  });

  it('sends the active version, records it in the step, the ledger and per task, and honours a pin', async () => {
    const created = await api.call('POST', '/v1/prompts/answer.system/versions', { key: api.keys.admin, body: { template: V2, description: 'help-desk tone' } });
    expect(created).toMatchObject({ status: 201, json: { name: 'answer.system', version: 2 } });
    expect((await api.call('POST', '/v1/prompts/answer.system/activate', { key: api.keys.admin, body: { version: 2 } })).json).toMatchObject({ activeVersion: 2, candidateShare: 0 });

    const active = await answer();
    expect(active.system.startsWith(V2)).toBe(true);
    expect(active.prompt).toEqual({ name: 'answer.system', version: 2 });
    const used = await api.call('GET', `/v1/tasks/${active.taskId}/prompt-versions`, { key: reader });
    expect(used.json).toEqual({ taskId: active.taskId, prompts: [{ name: 'answer.system', version: 2, steps: ['generate'], calls: 1 }] });

    const pinned = await answer({ promptVersions: { 'answer.system': 1 } });
    expect(pinned.system).toMatch(/^You answer questions using only the numbered passages provided\./);
    expect(pinned.prompt).toEqual({ name: 'answer.system', version: 1 });

    // A pin names a prompt and a version the tenant has.
    const unknown = await api.call('POST', '/v1/tasks', { key: api.keys.admin, body: { type: 'answer', input: 'q', collection: 'kb', options: { promptVersions: { 'answer.system': 7 } } } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.message).toContain('body.options.promptVersions.answer.system');
    const unnamed = await api.call('POST', '/v1/tasks', { key: api.keys.admin, body: { type: 'agent', input: 'q', options: { promptVersions: { 'nope.system': 1 } } } });
    expect(unnamed.status).toBe(400);
    expect(unnamed.json.error.message).toContain('body.options.promptVersions');

    // Another tenant still has the built-in version, and cannot see this tenant's task.
    const theirs = await api.call('GET', '/v1/prompts/answer.system/versions', { key: api.keys.other });
    expect(theirs.json.versions).toEqual([expect.objectContaining({ version: 1, status: 'active', builtin: true })]);
    expect((await api.call('GET', `/v1/tasks/${active.taskId}/prompt-versions`, { key: api.keys.other })).status).toBe(404);
  });

  it('gives a candidate its share of the tasks by task id, every attempt of a task the same version', async () => {
    expect((await api.call('POST', '/v1/prompts/answer.system/versions', { key: api.keys.admin, body: { template: V3 } })).json.version).toBe(3);
    const split = await api.call('POST', '/v1/prompts/answer.system/activate', { key: api.keys.admin, body: { version: 3, share: 40 } });
    expect(split.json).toMatchObject({ activeVersion: 2, candidateVersion: 3, candidateShare: 40 });
    const versions = await api.call('GET', '/v1/prompts/answer.system/versions', { key: reader });
    expect(versions.json.versions.map((v: { version: number; status: string; share?: number }) => [v.version, v.status, v.share])).toEqual([
      [1, 'inactive', undefined],
      [2, 'active', 60],
      [3, 'candidate', 40],
    ]);

    // Two tasks whose ids (derived from their Idempotency-Keys) fall on either side of the share.
    const keys = Array.from({ length: 50 }, (_, i) => `split-${api.tenant}-${i}`);
    const inShare = keys.find((k) => takesCandidate(taskIdFor(k), 'answer.system', 40))!;
    const outside = keys.find((k) => !takesCandidate(taskIdFor(k), 'answer.system', 40))!;
    const candidate = await answer({ key: inShare });
    expect(candidate.taskId).toBe(taskIdFor(inShare));
    expect(candidate.prompt).toEqual({ name: 'answer.system', version: 3 });
    expect(candidate.system.startsWith(V3)).toBe(true);
    expect((await answer({ key: outside })).prompt).toEqual({ name: 'answer.system', version: 2 });

    // Over many tasks the store's choice is the split's, close to its share.
    const { PromptStore } = await import('../../activities/prompts/store.js');
    const store = new PromptStore(api.services.db);
    const picks = await Promise.all(Array.from({ length: 1000 }, (_, i) => store.resolve('answer.system', { tenantId: api.tenant, taskId: `task_share_${i}` })));
    const share = picks.filter((p) => p.version === 3).length / picks.length;
    expect(share).toBeGreaterThan(0.35);
    expect(share).toBeLessThan(0.45);
    const again = await store.resolve('answer.system', { tenantId: api.tenant, taskId: 'task_share_7.agent' });
    expect(again.version).toBe(picks[7]!.version);

    expect((await api.call('POST', '/v1/prompts/answer.system/activate', { key: api.keys.admin, body: { version: 2 } })).json).toEqual({ name: 'answer.system', activeVersion: 2, candidateShare: 0 });
  });

  it("stores feedback with its answer's model and prompt version, masks the comment, summarises it, and feeds the router", async () => {
    const rated = await answer();
    const pinned = await answer({ promptVersions: { 'answer.system': 1 } });
    const down = await api.call('POST', `/v1/tasks/${rated.taskId}/feedback`, { key: api.keys.admin, body: { thumbs: 'down', comment: 'Wrong fee. Write to ada.lovelace@example.com' } });
    expect(down.status, JSON.stringify(down.json)).toBe(201);
    expect(down.json).toMatchObject({ taskId: rated.taskId, turn: 1, score: 0, verdict: 'negative', source: 'backend', model: 'primary', prompt: { name: 'answer.system', version: 2 } });
    expect(down.json.comment).toBe('Wrong fee. Write to [EMAIL_ADDRESS]');
    expect(down.json.preference).toEqual(expect.any(String));
    const up = await api.call('POST', `/v1/tasks/${pinned.taskId}/feedback`, { key: reader, body: { score: 5 } });
    expect(up.json).toMatchObject({ score: 1, verdict: 'positive', prompt: { name: 'answer.system', version: 1 } });
    const neutral = await api.call('POST', `/v1/tasks/${pinned.taskId}/feedback`, { key: reader, body: { score: 3 } });
    expect(neutral.json).toMatchObject({ score: 0.5, verdict: 'neutral', preference: null });

    const stored = await api.services.db.query<{ comment: string }>('SELECT comment FROM feedback WHERE tenant_id = $1', [api.tenant]);
    expect(stored.rows.map((r) => r.comment).join(' ')).not.toContain('ada.lovelace');
    const listed = await api.call('GET', `/v1/tasks/${pinned.taskId}/feedback`, { key: reader });
    expect(listed.json.feedback.map((f: { score: number }) => f.score)).toEqual([1, 0.5]);

    expect(await feedbackByPromptVersion(api.services.db, api.tenant)).toEqual([
      { prompt: 'answer.system', version: 1, label: 'answer.system@1', count: 2, meanScore: 0.75, positive: 1, neutral: 1, negative: 0 },
      { prompt: 'answer.system', version: 2, label: 'answer.system@2', count: 1, meanScore: 0, positive: 0, neutral: 0, negative: 1 },
    ]);
    const byModel = await api.call('GET', '/v1/feedback/summary?by=model', { key: api.keys.admin });
    expect(byModel.json).toEqual({ by: 'model', groups: [{ model: 'primary', count: 3, meanScore: 0.5, positive: 1, neutral: 1, negative: 1 }] });
    expect((await api.call('GET', '/v1/feedback/summary', { key: api.keys.other })).json).toEqual({ by: 'prompt_version', groups: [] });

    const counted = await metricsRegistry.getSingleMetricAsString('gatehouse_feedback_total');
    expect(counted).toContain(`gatehouse_feedback_total{prompt_version="answer.system@2",model="primary",tenant="${api.tenant}",verdict="negative"} 1`);
    const calls = await metricsRegistry.getSingleMetricAsString('gatehouse_model_call_duration_seconds');
    expect(calls).toMatch(new RegExp(`tenant="${api.tenant}",step="generate",route="",prompt_version="answer.system@3"`));

    // The two rated answers are preferences against the reviewer; a fit sees both.
    const prefs = await api.services.db.query('SELECT winner, loser, tie, source, task_id FROM model_preferences WHERE tenant_id = $1 ORDER BY id', [api.tenant]);
    expect(prefs.rows).toEqual([
      { winner: 'human', loser: 'primary', tie: false, source: 'feedback', task_id: rated.taskId },
      { winner: 'primary', loser: 'human', tie: true, source: 'feedback', task_id: pinned.taskId },
    ]);
    const fit = await api.call('POST', '/v1/router/fit', { key: api.keys.admin, body: { clusters: 1 } });
    expect(fit.json).toMatchObject({ preferences: 2, players: ['human', 'primary'] });

    // The versions side by side: the ledger's numbers and the feedback.
    const compared = await api.call('GET', '/v1/prompts/answer.system/compare', { key: api.keys.admin });
    expect(compared.status).toBe(200);
    const byVersion = Object.fromEntries(compared.json.versions.map((v: { version: number }) => [v.version, v]));
    expect(Object.keys(byVersion)).toEqual(['1', '2', '3']);
    expect(byVersion[2]).toMatchObject({ tasks: 3, calls: 3, failureRate: 0, feedback: { count: 1, meanScore: 0 } });
    expect(byVersion[1]).toMatchObject({ tasks: 2, feedback: { count: 2, meanScore: 0.75 } });
    expect(byVersion[3]).toMatchObject({ tasks: 1, feedback: null });
    expect(byVersion[2].latencyMs.p50).toBeGreaterThanOrEqual(0);
    expect(byVersion[2].tokens.input).toBeGreaterThan(0);
    expect((await api.call('GET', '/v1/prompts/answer.system/compare', { key: reader })).status).toBe(403);
  });

  it("rates an agent task's answer by its turn, with the agent prompt's version", async () => {
    const start = await api.call('POST', '/v1/tasks', { key: api.keys.admin, body: { type: 'agent', input: 'What is the restocking fee?', collection: 'kb', options: { tools: ['search_documents'] } } });
    expect(start.status).toBe(202);
    const done = await api.call('GET', `/v1/tasks/${start.json.taskId}/result?wait=30`, { key: api.keys.admin });
    expect(done.json.status, JSON.stringify(done.json)).toBe('completed');
    const decide = (done.json.result.steps as Array<{ name: string; detail?: { prompt?: unknown } }>).find((s) => s.name.startsWith('decide'));
    expect(decide?.detail?.prompt).toEqual({ name: 'agent.system', version: 1 });
    const late = await api.call('POST', `/v1/tasks/${start.json.taskId}/feedback`, { key: api.keys.admin, body: { thumbs: 'up', turn: 2 } });
    expect(late.status).toBe(400);
    expect(late.json.error.message).toBe('body.turn: the task has given 1 answer');
    const rated = await api.call('POST', `/v1/tasks/${start.json.taskId}/feedback`, { key: api.keys.admin, body: { thumbs: 'up' } });
    expect(rated.json).toMatchObject({ turn: 1, score: 1, model: 'primary', prompt: { name: 'agent.system', version: 1 } });
  });

  it('refuses bad feedback with a 400 naming the field, and another tenant with a 404', async () => {
    const { taskId } = await answer();
    const bad = async (body: unknown, field: string) => {
      const res = await api.call('POST', `/v1/tasks/${taskId}/feedback`, { key: api.keys.admin, body });
      expect(res.status, JSON.stringify(res.json)).toBe(400);
      expect(res.json.error.message).toContain(field);
    };
    await bad({}, 'body.score');
    await bad({ comment: 'no rating' }, 'body.score');
    await bad({ score: 6 }, 'body.score');
    await bad({ score: 2.5 }, 'body.score');
    await bad({ thumbs: 'sideways' }, 'body.thumbs');
    await bad({ score: 4, thumbs: 'up' }, 'body.thumbs');
    await bad({ thumbs: 'up', turn: 2 }, 'body.turn');
    await bad({ thumbs: 'up', turn: 0 }, 'body.turn');
    await bad({ thumbs: 'up', extra: true }, 'body');
    expect((await api.call('POST', `/v1/tasks/${taskId}/feedback`, { key: api.keys.other, body: { thumbs: 'up' } })).status).toBe(404);
    expect((await api.call('GET', `/v1/tasks/${taskId}/feedback`, { key: api.keys.other })).status).toBe(404);
    expect((await api.call('POST', '/v1/tasks/task_nope/feedback', { key: api.keys.admin, body: { thumbs: 'up' } })).status).toBe(404);
    expect((await api.call('POST', `/v1/tasks/${taskId}/feedback`, { body: { thumbs: 'up' } })).status).toBe(401);
    expect((await api.call('GET', '/v1/feedback/summary?by=tenant', { key: api.keys.admin })).json.error.message).toContain('querystring.by');
  });

  it("labels a routed answer task's model calls with its route", async () => {
    const doc = { intents: [{ name: 'returns', keywords: ['restocking'], examples: ['what is the restocking fee'], route: { kind: 'retrieval', collection: 'kb', model: 'primary' } }] };
    expect((await api.call('PUT', '/v1/router/document', { key: api.keys.admin, body: doc })).status).toBe(200);
    // The worker reads a tenant's routing document through a 5 s cache.
    await new Promise((r) => setTimeout(r, 5_100));
    const routed = await answer();
    const task = await api.call('GET', `/v1/tasks/${routed.taskId}`, { key: api.keys.admin });
    expect(task.json.result.route).toMatchObject({ intent: 'returns' });
    const calls = await metricsRegistry.getSingleMetricAsString('gatehouse_model_call_duration_seconds');
    expect(calls).toMatch(new RegExp(`_count\\{model="primary",tenant="${api.tenant}",step="generate",route="returns",prompt_version="answer.system@\\d+"`));
  });
});
