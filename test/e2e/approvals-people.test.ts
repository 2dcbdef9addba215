// Approvals only people can give (issue 9, part 2). Against the real API, Temporal and PGlite,
// with a real OpenID Connect issuer's JWKS served on a port:
// (a) a Signal decides nothing without an approval token the API signed: a plaintext Signal
//     (the bare `temporal workflow signal` reproduction) and an encrypted one without a token
//     are refused and recorded, the task keeps running and the approval stays pending;
// (b) a two-person rule counts people: one admin with a second key is still one approver,
//     a backend's key cannot approve, a person signed in with an ID token can.
import http from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createUser, upsertApiKey } from '../../api/auth.js';
import { buildApi } from '../../api/server.js';
import { seedDemoDomain } from '../../infra/demo/domain.js';
import type { Services } from '../../infra/services.js';
import { agentEventsQuery, agentStatusQuery, approvalDecisionSignal, type PendingApproval } from '../../workflows/messages.js';
import { startTestWorker, testConfig, testLog, testServices, uniqueId, type TestWorker } from '../support/harness.js';

const AUDIENCE = 'gatehouse-test';

describe('approvals only people can give', () => {
  let services: Services;
  let worker: TestWorker;
  let app: Awaited<ReturnType<typeof buildApi>>;
  let idp: http.Server;
  let issuer: string;
  let signingKey: CryptoKey;
  let base: string;
  const tenant = uniqueId('acme');
  const keys = { ada: '' };

  /** An ID token from our test issuer (or, with `key`, from someone else's). */
  async function idToken(subject: string, opts: { key?: CryptoKey; audience?: string; expiresIn?: string } = {}) {
    return new SignJWT({ email: `${subject}@example.com` })
      .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
      .setIssuer(issuer)
      .setAudience(opts.audience ?? AUDIENCE)
      .setSubject(subject)
      .setIssuedAt()
      .setExpirationTime(opts.expiresIn ?? '5m')
      .sign(opts.key ?? signingKey);
  }

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    signingKey = pair.privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
    idp = http.createServer((req, res) => {
      if (req.url !== '/jwks.json') return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(idp.address() as { port: number }).port}`;

    const config = testConfig({ OIDC_ISSUER: issuer, OIDC_AUDIENCE: AUDIENCE, OIDC_JWKS_URL: `${issuer}/jwks.json` });
    services = await testServices('pglite', config);
    await seedDemoDomain(services.db, tenant);
    // The refund needs two approvers in this tenant.
    await services.db.query(
      `INSERT INTO approval_policies (tenant_id, tool, mode, approvals_needed) VALUES ($1, 'issue_refund', 'always', 2)`,
      [tenant],
    );
    worker = await startTestWorker(services, config);
    app = await buildApi({ db: services.db, keyRing: services.keyRing, temporal: worker.client, config: { ...config, temporal: { ...config.temporal, taskQueue: worker.taskQueue } }, log: testLog });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const ada = await createUser(services.db, { tenantId: tenant, name: 'Ada', roles: ['admin'] });
    keys.ada = `gh_test_${uniqueId('ada')}_0123456789abcdef`;
    await upsertApiKey(services.db, { id: uniqueId('k'), key: keys.ada, tenantId: tenant, roles: ['admin'], name: 'ada', userId: ada.id });
  });
  afterAll(async () => {
    await app?.close();
    await worker?.stop();
    await services?.close();
    idp?.close();
  });

  async function call(method: string, path: string, credential: string, body?: unknown) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${credential}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  }

  /** The demo task through the API: a refund (two approvers here) and an email, both pending. */
  async function demoTask(customer: string): Promise<{ taskId: string; refund: PendingApproval; email: PendingApproval }> {
    const started = await call('POST', '/v1/tasks', keys.ada, { type: 'agent', input: `Refund ${customer}'s last order and email a confirmation` });
    expect(started.status).toBe(202);
    const taskId = started.json.taskId as string;
    for (let i = 0; i < 150; i++) {
      const status = await worker.client.workflow.getHandle(taskId).query(agentStatusQuery).catch(() => undefined);
      const pending = status?.pendingApprovals ?? [];
      const refund = pending.find((a) => a.tool === 'issue_refund');
      const email = pending.find((a) => a.tool === 'send_email');
      // The approvals index is written just after the workflow shows them.
      const indexed = await services.db.query('SELECT count(*)::int AS n FROM approvals WHERE task_id = $1', [taskId]);
      if (refund && email && indexed.rows[0].n === 2) return { taskId, refund, email };
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the demo task did not propose its two actions');
  }

  const decision = (a: PendingApproval) => ({ decision: 'approve', argumentsHash: a.argumentsHash });

  it('counts people, not keys, for a two-person rule; people sign in with OpenID Connect', async () => {
    const { taskId, refund } = await demoTask('Emily Doe');
    const path = `/v1/tasks/${taskId}/approvals/${refund.approvalId}`;

    // Ada mints herself a second approvals:write key: it is bound to her.
    const second = await call('POST', '/v1/api-keys', keys.ada, { name: 'second', roles: ['approvals:write', 'tasks:read'] });
    expect(second.status).toBe(201);
    const adaId = (await services.db.query('SELECT user_id FROM api_keys WHERE id = $1', [second.json.id])).rows[0].user_id;
    expect(second.json.userId).toBe(adaId);
    // A backend's key speaks for no one: it cannot decide an approval at all.
    const backend = await call('POST', '/v1/api-keys', keys.ada, { name: 'billing backend', roles: ['approvals:write', 'tasks:read'], backend: true });
    expect(backend.json.userId).toBeUndefined();
    expect(await call('POST', path, backend.json.key, decision(refund))).toMatchObject({ status: 403, json: { error: { message: expect.stringContaining('decided by people') } } });

    expect(await call('POST', path, keys.ada, decision(refund))).toMatchObject({ status: 200, json: { status: 'awaiting_second_approval' } });
    // The reproduction: the second key of the same person does not meet the rule.
    expect(await call('POST', path, second.json.key, decision(refund))).toMatchObject({ status: 409, json: { error: { code: 'already_decided' } } });

    // Bob is a person of the tenant; his identity comes from the issuer, not from Ada.
    expect(await call('POST', '/v1/users', keys.ada, { name: 'Bob', oidcSubject: 'bob-123', roles: ['approvals:write', 'tasks:read'] })).toMatchObject({ status: 201 });
    expect(await call('POST', '/v1/users', keys.ada, { name: 'Bob again', oidcSubject: 'bob-123', roles: ['tasks:read'] })).toMatchObject({ status: 409 });
    const bob = await idToken('bob-123');
    // ID tokens that prove nothing: another signer, another audience, expired, an unknown person.
    const stranger = (await generateKeyPair('RS256')).privateKey;
    expect(await call('POST', path, await idToken('bob-123', { key: stranger }), decision(refund))).toMatchObject({ status: 401 });
    expect(await call('POST', path, await idToken('bob-123', { audience: 'someone-else' }), decision(refund))).toMatchObject({ status: 401 });
    expect(await call('POST', path, await idToken('bob-123', { expiresIn: '-1m' }), decision(refund))).toMatchObject({ status: 401, json: { error: { message: 'invalid ID token: it has expired' } } });
    expect(await call('POST', path, await idToken('mallory'), decision(refund))).toMatchObject({ status: 403 });

    expect(await call('POST', path, bob, decision(refund))).toMatchObject({ status: 200, json: { status: 'executed' } });
    const status = await worker.client.workflow.getHandle(taskId).query(agentStatusQuery);
    expect(status.approvals.find((a) => a.approvalId === refund.approvalId)!.approvedBy).toHaveLength(2);
    await worker.client.workflow.getHandle(taskId).cancel();
  }, 60_000);

  it('refuses a Signal decision without an approval token, and records it, without wedging the task', async () => {
    const { taskId, email } = await demoTask('John Doe');
    const handle = worker.client.workflow.getHandle(taskId);
    const bare = { approvalId: email.approvalId, decision: 'approve', argumentsHash: email.argumentsHash };

    // The reproduction: `temporal workflow signal --name approvalDecision --input '{…}'` — plaintext, no key.
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    const plain = new Client({ connection, namespace: 'default' });
    await plain.workflow.getHandle(taskId).signal('approvalDecision', bare);
    await connection.close();
    // An encrypted Signal without a token, and one whose token was issued for another decision.
    await handle.signal(approvalDecisionSignal, bare as never);
    const bob = await call('POST', '/v1/users', keys.ada, { name: 'Bo', oidcSubject: 'bo-7', roles: ['approvals:write', 'tasks:read'] });
    expect(bob.status).toBe(201);
    const person = await idToken('bo-7');
    const rejectToken = await call('POST', `/v1/tasks/${taskId}/approvals/${email.approvalId}/token`, person, { decision: 'reject', argumentsHash: email.argumentsHash });
    expect(rejectToken.status).toBe(200);
    await handle.signal(approvalDecisionSignal, { ...bare, decision: 'approve', token: rejectToken.json.token } as never);

    let refused: Array<{ data: Record<string, unknown> }> = [];
    for (let i = 0; i < 100 && refused.length < 3; i++) {
      refused = (await handle.query(agentEventsQuery, 0)).filter((e) => e.type === 'approval_signal_refused');
      await new Promise((r) => setTimeout(r, 100));
    }
    // Each Signal is verified by its own activity, so the refusals land in the order those finish.
    const reasons = refused.map((e) => String(e.data.reason));
    expect(reasons).toHaveLength(3);
    expect(reasons.filter((r) => /^unencrypted payload/.test(r))).toHaveLength(1);
    expect(reasons.filter((r) => r.includes('needs an approval token'))).toHaveLength(1);
    expect(reasons).toContain('the approval token was issued for another decision');
    // Still running, still pending, nothing sent; the refusals are in the steps too.
    const status = await handle.query(agentStatusQuery);
    expect(status.phase).toBe('awaiting_approval');
    expect(status.pendingApprovals.map((a) => a.approvalId)).toContain(email.approvalId);
    expect(status.steps.filter((s) => s.name === 'approval_signal' && s.status === 'failed')).toHaveLength(3);
    expect((await services.db.query('SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1', [tenant])).rows[0].n).toBe(0);

    // A backend's key gets no token; a person gets one, and the Signal with it decides.
    const backend = await call('POST', '/v1/api-keys', keys.ada, { roles: ['approvals:write', 'tasks:read'], backend: true });
    expect(await call('POST', `/v1/tasks/${taskId}/approvals/${email.approvalId}/token`, backend.json.key, decision(email))).toMatchObject({ status: 403 });
    const issued = await call('POST', `/v1/tasks/${taskId}/approvals/${email.approvalId}/token`, person, decision(email));
    expect(issued).toMatchObject({ status: 200, json: { signal: { name: 'approvalDecision', workflowId: taskId, input: { ...bare, token: issued.json.token } } } });
    await handle.signal(approvalDecisionSignal, issued.json.signal.input);
    const deadline = Date.now() + 20_000;
    let executed;
    while (Date.now() < deadline) {
      executed = (await handle.query(agentStatusQuery)).approvals.find((a) => a.approvalId === email.approvalId);
      if (executed?.status === 'executed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(executed).toMatchObject({ status: 'executed', approvedBy: [bob.json.id] });
    expect((await services.db.query('SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1', [tenant])).rows[0].n).toBe(1);
    // The same token again is refused: the approval is no longer pending.
    await handle.signal(approvalDecisionSignal, issued.json.signal.input);
    await handle.cancel();
  }, 60_000);
});
