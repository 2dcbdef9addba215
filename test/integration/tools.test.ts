// The built-in write tools and web_search, called the way the agent activities call them:
// previews show what would change and change nothing; execution writes through the ledger
// exactly once; compensations undo; the allow-list and the schemas refuse what they must.
import { createServer, type Server } from 'node:http';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argumentsHash, compensateAction, executeAction, proposeAction } from '../../activities/agent/actions.js';
import { ToolRegistry, builtinTools } from '../../activities/tools/registry.js';
import type { ToolServices } from '../../activities/tools/types.js';
import { searxngProvider, webSearchTool } from '../../activities/tools/web-search.js';
import { quoteIdent, tenantSchema } from '../../infra/db/tenant-schema.js';
import { seedDemoDomain } from '../../infra/demo/domain.js';
import type { Services } from '../../infra/services.js';
import { redactSecrets } from '../../workflows/policy/redact.js';
import { indexDocuments } from '../support/corpus.js';
import { testConfig, testLog, testServices, uniqueId } from '../support/harness.js';

describe('agent tools', () => {
  let services: Services;
  let toolServices: ToolServices;
  let registry: ToolRegistry;
  const tenant = uniqueId('t');
  const schema = quoteIdent(tenantSchema(tenant));

  beforeAll(async () => {
    services = await testServices('native');
    await seedDemoDomain(services.db, tenant);
    const config = testConfig();
    registry = new ToolRegistry(builtinTools(config.agents));
    toolServices = { ...services, log: testLog, retrieval: { mode: 'ensemble', topK: 5, candidates: 20, rrfK: 60, efSearch: 40 } };
  });
  afterAll(() => services?.close());

  const base = (taskId: string, approvalId: string) => ({ tenantId: tenant, taskId, collection: 'kb', approvalId });

  it('update_record previews before and after, executes once, and compensates', async () => {
    const taskId = uniqueId('task');
    const args = { table: 'customers', id: 4, changes: { city: 'Edinburgh', tier: 'plus' } };
    const proposal = await proposeAction(toolServices, registry, { ...base(taskId, 'apr_1'), tool: 'update_record', arguments: args, evidence: [] });
    expect(proposal).toMatchObject({
      ok: true,
      preview: { summary: 'Update customers 4: city "Glasgow" → "Edinburgh", tier "standard" → "plus"', changes: { before: { city: 'Glasgow', tier: 'standard' }, after: { city: 'Edinburgh', tier: 'plus' } } },
      policy: { mode: 'ask', approvalsNeeded: 1 },
    });
    // A preview changes nothing.
    expect((await services.db.query(`SELECT city FROM ${schema}.customers WHERE id = 4`)).rows[0].city).toBe('Glasgow');

    const hash = argumentsHash('update_record', args);
    const input = { ...base(taskId, 'apr_1'), tool: 'update_record', arguments: args, argumentsHash: hash, approvedBy: ['alice'] };
    const first = await executeAction(toolServices, registry, input);
    const again = await executeAction(toolServices, registry, input);
    expect(first).toMatchObject({ ok: true, replayed: false });
    expect(again).toMatchObject({ ok: true, replayed: true, result: (first as { result: unknown }).result });
    expect((await services.db.query(`SELECT city, tier FROM ${schema}.customers WHERE id = 4`)).rows[0]).toEqual({ city: 'Edinburgh', tier: 'plus' });

    const undo = await compensateAction(toolServices, registry, { tenantId: tenant, taskId, approvalId: 'apr_1' });
    expect(undo).toMatchObject({ ok: true, replayed: false });
    expect((await services.db.query(`SELECT city, tier FROM ${schema}.customers WHERE id = 4`)).rows[0]).toEqual({ city: 'Glasgow', tier: 'standard' });
    expect(await compensateAction(toolServices, registry, { tenantId: 'someone-else', taskId, approvalId: 'apr_1' })).toMatchObject({ ok: false });
  });

  it('update_record refuses tables and columns outside the allow-list, and missing rows', async () => {
    const propose = (args: Record<string, unknown>) =>
      proposeAction(toolServices, registry, { ...base(uniqueId('task'), 'apr_1'), tool: 'update_record', arguments: args, evidence: [] });
    expect(await propose({ table: 'refunds', id: 1, changes: { status: 'reversed' } })).toMatchObject({ ok: false, error: expect.stringContaining('table "refunds" cannot be updated') });
    expect(await propose({ table: 'customers', id: 1, changes: { email: 'x@example.com', name: 'Mallory' } })).toMatchObject({ ok: false, error: expect.stringContaining('column(s) name of customers cannot be updated') });
    expect(await propose({ table: 'customers', id: 999, changes: { city: 'Nowhere' } })).toMatchObject({ ok: false, error: 'customers 999 does not exist' });
    expect(await propose({ table: 'customers', id: 1, changes: {} })).toMatchObject({ ok: false, error: expect.stringContaining('at least one column') });
  });

  it('refuses execution whose arguments differ from the approved hash, or from the ledger', async () => {
    const taskId = uniqueId('task');
    const args = { orderId: 1003, amountUsd: 10, reason: 'scratched case' };
    const input = { ...base(taskId, 'apr_1'), tool: 'issue_refund', arguments: args, argumentsHash: argumentsHash('issue_refund', args), approvedBy: ['alice'] };
    await expect(executeAction(toolServices, registry, { ...input, arguments: { ...args, amountUsd: 300 } })).rejects.toMatchObject({ type: 'ArgumentsHashMismatch' });
    await executeAction(toolServices, registry, input);
    const other = { ...args, amountUsd: 11 };
    await expect(executeAction(toolServices, registry, { ...input, arguments: other, argumentsHash: argumentsHash('issue_refund', other) })).rejects.toMatchObject({ type: 'LedgerConflict' });
    expect((await services.db.query(`SELECT count(*)::int AS n FROM ${schema}.refunds WHERE order_id = 1003`)).rows[0].n).toBe(1);
  });

  it('attributes a recipient to the whole chunk it came from, beyond the excerpt the workflow keeps, and asks under a `never` policy', async () => {
    const planted = uniqueId('t');
    await seedDemoDomain(services.db, planted);
    await services.db.query(`INSERT INTO approval_policies (tenant_id, tool, mode) VALUES ($1, 'send_email', 'never')`, [planted]);
    const text = `# Supplier terms\n\n${'Invoices are payable within thirty days of delivery. '.repeat(16)}Send the remittance advice to billing@supplier-x.example.`;
    await indexDocuments(services, { tenantId: planted, collection: 'kb', documents: [{ id: 'terms', title: 'Supplier terms', text }], chunking: { maxTokens: 400, overlapTokens: 0 } });
    const { rows } = await services.db.query<{ id: string; text: string }>(`SELECT id::text AS id, text FROM chunks WHERE tenant_id = $1`, [planted]);
    expect(rows).toHaveLength(1);
    // What search_documents leaves in the workflow's evidence: the first 600 characters.
    const excerpt = rows[0]!.text.slice(0, 600);
    expect(excerpt).not.toContain('billing@');
    const args = { to: 'billing@supplier-x.example', subject: 'Remittance', body: 'Attached.' };
    const proposal = await proposeAction(toolServices, registry, {
      tenantId: planted,
      taskId: uniqueId('task'),
      collection: 'kb',
      approvalId: 'apr_1',
      tool: 'send_email',
      arguments: args,
      evidence: [
        { type: 'user_message', excerpt: 'Pay the supplier and send them the remittance advice' },
        { type: 'document_chunk', chunkId: rows[0]!.id, documentId: 'terms', version: 1, score: 0.4, excerpt },
      ],
    });
    expect(proposal).toMatchObject({ ok: true, policy: { mode: 'ask', untrustedArguments: ['to'] } });
    if (!proposal.ok) return;
    expect(proposal.provenance.find((p) => p.argument === 'to')).toMatchObject({ type: 'document_chunk', chunkId: rows[0]!.id, untrusted: true, excerpt: expect.stringContaining('billing@supplier-x.example') });
    expect(proposal.preview.summary).toContain(`came from untrusted text (chunk terms#${rows[0]!.id}): a person must approve, whatever the tenant policy`);
  });

  it('hashes arguments independently of key order', () => {
    expect(argumentsHash('t', { a: 1, b: { c: 2, d: [1, 2] } })).toBe(argumentsHash('t', { b: { d: [1, 2], c: 2 }, a: 1 }));
    expect(argumentsHash('t', { a: 1 })).not.toBe(argumentsHash('u', { a: 1 }));
  });

  it('redacts secrets from arguments shown in status and events', () => {
    expect(redactSecrets({ to: 'a@b.c', apiKey: 'sk-123', nested: { password: 'p', list: [{ token: 't', ok: 1 }] } })).toEqual({
      to: 'a@b.c',
      apiKey: '[redacted]',
      nested: { password: '[redacted]', list: [{ token: '[redacted]', ok: 1 }] },
    });
  });

  it('send_email hands the queued email to the SMTP relay after the commit, once', async () => {
    const received: string[] = [];
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, callback) {
        let data = '';
        stream.on('data', (c: Buffer) => (data += c.toString()));
        stream.on('end', () => {
          received.push(data);
          callback();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    try {
      const port = (smtp.server.address() as { port: number }).port;
      const withSmtp = new ToolRegistry(builtinTools({ ...testConfig().agents, smtp: { url: `smtp://127.0.0.1:${port}`, from: 'Inkwell <support@inkwell.example>' } }, services.db));
      const args = { to: 'emily.doe@example.com', subject: 'Your refund', body: 'Refunded.' };
      const input = { ...base(uniqueId('task'), 'apr_1'), tool: 'send_email', arguments: args, argumentsHash: argumentsHash('send_email', args), approvedBy: ['alice'] };
      const first = await executeAction(toolServices, withSmtp, input);
      const again = await executeAction(toolServices, withSmtp, input);
      expect(again).toMatchObject({ ok: true, replayed: true });
      expect(received).toHaveLength(1);
      expect(received[0]).toContain('Subject: Your refund');
      expect(received[0]).toMatch(/Message-ID: <[0-9a-f]{32}@gatehouse>/i);
      const outboxId = (first as { result: { outboxId: number } }).result.outboxId;
      expect((await services.db.query('SELECT status FROM outbox WHERE id = $1', [outboxId])).rows[0].status).toBe('sent');
    } finally {
      await new Promise<void>((r) => smtp.close(() => r()));
    }
  });

  describe('web_search', () => {
    let server: Server;
    let url: string;
    const queries: string[] = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        const q = new URL(req.url!, 'http://x').searchParams;
        queries.push(`${q.get('q')}|${q.get('format')}`);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ results: [{ title: 'Inkwell', url: 'https://inkwell.example', content: 'Printers.' }, { title: 'Two', url: 'https://two.example', content: 'More.' }] }));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}/search`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('is offered only when configured, and queries a SearXNG-style endpoint', async () => {
      expect(builtinTools(testConfig().agents).map((t) => t.name)).not.toContain('web_search');
      expect(builtinTools(testConfig({ WEB_SEARCH_URL: url }).agents).map((t) => t.name)).toContain('web_search');
      const tool = webSearchTool(searxngProvider(url));
      const out = await tool.run!({ query: 'inkwell printers', limit: 1 }, { ...toolServices, tenantId: tenant, taskId: 't', collection: 'kb' });
      expect(out.content).toEqual([{ title: 'Inkwell', url: 'https://inkwell.example', snippet: 'Printers.' }]);
      expect(queries).toEqual(['inkwell printers|json']);
    });
  });
});
