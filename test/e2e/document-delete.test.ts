// Deleting a document over HTTP (issue 12, part 4), with the exact cache on: the document's chunks
// leave retrieval, a retrieval result and an answer cached before the deletion are not served
// after it, another tenant's delete of the same ids is a 404 that leaves it intact, and bad
// parameters are a 400 naming the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api-harness.js';
import { createApiKey } from '../../api/auth.js';
import { uniqueId } from '../support/harness.js';

interface Step {
  name: string;
  detail?: { cache?: { outcome: string; corpusVersion?: number }; top?: Array<{ documentId: string }> };
}

describe('DELETE /v1/documents/:collection/:documentId', () => {
  let api: TestApi;
  const chats = () => api.model.requests.filter((r) => r.kind === 'chat').length;

  beforeAll(async () => {
    api = await startTestApi({ GATEHOUSE_CACHE: 'exact' });
  });
  afterAll(() => api?.close());

  async function ingest(key: string, collection: string, documents: Array<{ id: string; title?: string; text: string }>) {
    const started = await api.call('POST', '/v1/documents', { key, body: { collection, documents } });
    expect(started.status).toBe(202);
    for (let i = 0; i < 300; i++) {
      const r = await api.call('GET', `/v1/ingestions/${started.json.ingestionId}`, { key });
      if (r.json.status !== 'running') {
        expect(r.json).toMatchObject({ status: 'completed', failed: 0 });
        return;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('ingestion did not finish');
  }

  async function chunksOf(tenantId: string, collection: string, documentId: string): Promise<number> {
    const { rows } = await api.services.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM chunks c JOIN collections k ON k.id = c.collection_id
       WHERE k.tenant_id = $1 AND k.name = $2 AND c.document_id = $3`,
      [tenantId, collection, documentId],
    );
    return rows[0]!.n;
  }

  async function ask(collection: string, input: string) {
    const started = await api.call('POST', '/v1/tasks', { key: api.keys.admin, body: { type: 'answer', collection, input } });
    expect(started.status).toBe(202);
    const done = await api.call('GET', `/v1/tasks/${started.json.taskId}/result?wait=30`, { key: api.keys.admin });
    expect(done.json.status).toBe('completed');
    const task = await api.call('GET', `/v1/tasks/${started.json.taskId}`, { key: api.keys.admin });
    const step = (name: string) => (task.json.steps as Step[]).find((s) => s.name === name)!;
    return { result: done.json.result as { citations: Array<{ documentId: string }> }, retrieve: step('retrieve'), generate: step('generate') };
  }

  it('takes the document out of retrieval; answers and results cached before it are not served', async () => {
    const kb = uniqueId('kb');
    await ingest(api.keys.admin, kb, [
      { id: 'returns', title: 'Returns', text: '# Returns\n\nReturns within 30 days get a full refund minus a restocking fee.' },
      { id: 'fees', title: 'Restocking fees', text: '# Restocking fees\n\nThe restocking fee for an opened printer is 25 percent of its price.' },
      { id: 'jams', title: 'Paper jams', text: '# Paper jams\n\nTo clear an E-102 jam, open the rear access door.' },
    ]);
    api.model.onChat(() => ({ content: 'The restocking fee for an opened printer is 25 percent [1].' }));
    const question = 'What is the restocking fee for an opened printer?';

    const first = await ask(kb, question);
    expect(first.retrieve.detail!.cache).toMatchObject({ outcome: 'stored' });
    expect(first.retrieve.detail!.top!.map((p) => p.documentId)).toContain('fees');
    const second = await ask(kb, question);
    expect(second.retrieve.detail!.cache).toMatchObject({ outcome: 'hit' });
    expect(second.generate.detail!.cache).toMatchObject({ outcome: 'hit' });

    const chunks = await chunksOf(api.tenant, kb, 'fees');
    expect(chunks).toBeGreaterThan(0);
    const deleted = await api.call('DELETE', `/v1/documents/${kb}/fees`, { key: api.keys.admin });
    expect(deleted).toMatchObject({ status: 200, json: { collection: kb, documentId: 'fees', deleted: true, chunks } });
    expect(await chunksOf(api.tenant, kb, 'fees')).toBe(0);

    const before = chats();
    const third = await ask(kb, question);
    expect(third.retrieve.detail!.cache).toMatchObject({ outcome: 'stored' });
    expect(third.retrieve.detail!.cache!.corpusVersion).toBeGreaterThan(first.retrieve.detail!.cache!.corpusVersion!);
    expect(third.retrieve.detail!.top!.map((p) => p.documentId)).not.toContain('fees');
    expect(third.result.citations.map((c) => c.documentId)).not.toContain('fees');
    // The answer was written again over the remaining passages, not served from before.
    expect(third.generate.detail!.cache?.outcome).not.toBe('hit');
    expect(chats()).toBeGreaterThan(before);

    // Gone: a second delete is a 404.
    const again = await api.call('DELETE', `/v1/documents/${kb}/fees`, { key: api.keys.admin });
    expect(again).toMatchObject({ status: 404, json: { error: { code: 'not_found', message: `document fees in collection ${kb} not found` } } });
    api.model.onChat(undefined);
  }, 180_000); // an ingestion and three answer tasks: slow when other suites load the shared PGlite

  it("is a 404 for another tenant's document or collection, which stays intact", async () => {
    const kb = uniqueId('kb');
    const own = uniqueId('own');
    await ingest(api.keys.admin, kb, [{ id: 'secret', text: 'The vault code of the first tenant.' }]);
    await ingest(api.keys.admin, own, [{ id: 'secret', text: 'Only the first tenant has this collection.' }]);
    await ingest(api.keys.other, kb, [{ id: 'public', text: 'The other tenant has a collection of the same name.' }]);

    const sameName = await api.call('DELETE', `/v1/documents/${kb}/secret`, { key: api.keys.other });
    expect(sameName).toMatchObject({ status: 404, json: { error: { code: 'not_found', message: `document secret in collection ${kb} not found` } } });
    const noCollection = await api.call('DELETE', `/v1/documents/${own}/secret`, { key: api.keys.other });
    expect(noCollection).toMatchObject({ status: 404, json: { error: { code: 'not_found', message: `collection ${own} not found` } } });
    expect(await chunksOf(api.tenant, kb, 'secret')).toBe(1);
    expect(await chunksOf(api.tenant, own, 'secret')).toBe(1);

    // Each tenant deletes its own, the other's untouched.
    expect((await api.call('DELETE', `/v1/documents/${kb}/public`, { key: api.keys.admin })).status).toBe(404);
    expect((await api.call('DELETE', `/v1/documents/${kb}/public`, { key: api.keys.other })).json).toMatchObject({ deleted: true, chunks: 1 });
    expect(await chunksOf(api.tenant, kb, 'secret')).toBe(1);
  });

  it('takes any id a document was ingested under, URL-encoded', async () => {
    const kb = uniqueId('kb');
    const id = 'guides/setup:v2.md';
    await ingest(api.keys.admin, kb, [{ id, text: 'Setting up the printer: unpack, plug in, press the power button.' }]);
    const r = await api.call('DELETE', `/v1/documents/${kb}/${encodeURIComponent(id)}`, { key: api.keys.admin });
    expect(r).toMatchObject({ status: 200, json: { documentId: id, deleted: true, chunks: 1 } });
  });

  it('refuses bad parameters with a 400 naming the field, and a key without documents:write with a 403', async () => {
    for (const [path, field] of [
      ['/v1/documents/bad%20name/x', 'params.collection'],
      [`/v1/documents/${'c'.repeat(65)}/x`, 'params.collection'],
      ['/v1/documents/kb/a%20b', 'params.documentId'],
      ['/v1/documents/kb/a%00b', 'params.documentId'],
      [`/v1/documents/kb/${'d'.repeat(257)}`, 'params.documentId'],
    ] as const) {
      const r = await api.call('DELETE', path, { key: api.keys.admin });
      expect(r.status, path).toBe(400);
      expect(r.json.error.code, path).toBe('invalid_request');
      expect(r.json.error.message, path).toMatch(new RegExp(`^${field.replace('.', '\\.')}: `));
    }
    const reader = (await createApiKey(api.services.db, { tenantId: api.tenant, roles: ['documents:read'] })).key;
    const forbidden = await api.call('DELETE', '/v1/documents/kb/x', { key: reader });
    expect(forbidden).toMatchObject({ status: 403, json: { error: { code: 'forbidden', message: 'this API key lacks the "documents:write" role' } } });
    expect((await api.call('DELETE', '/v1/documents/kb/x')).status).toBe(401);

    // The OpenAPI document states the limits (and so the fuzz test covers the route).
    const params = (await api.call('GET', '/openapi.json')).json.paths['/v1/documents/{collection}/{documentId}'].delete.parameters as Array<{ name: string; schema: object }>;
    expect(params.find((p) => p.name === 'collection')!.schema).toMatchObject({ maxLength: 64, pattern: expect.any(String) });
    const documentId = params.find((p) => p.name === 'documentId')!.schema;
    expect(documentId).toMatchObject({ maxLength: 256 });
    expect(JSON.stringify(documentId)).toContain('"pattern"'); // two patterns: storable, and no whitespace or control characters
  });
});
