// The PII vault and guardrail policies against real Postgres: placeholders are typed,
// numbered and stable within a task; values are encrypted at rest, bound to their row, and
// decrypt after a key rotation; tasks never share placeholders; policies are validated and
// versioned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardrailPolicies, guardrailPolicySchema } from '../../activities/guardrails/policy.js';
import { detectPii } from '../../activities/guardrails/pii.js';
import { PiiVault } from '../../activities/guardrails/vault.js';
import type { Services } from '../../infra/services.js';
import { ensureTestTenant, testServices, uniqueId } from '../support/harness.js';

describe.each(['pglite', 'native'] as const)('guardrail storage on %s', (kind) => {
  let services: Services;
  const tenant = uniqueId('t');
  const ring = (current: string, ...ids: string[]) => ({ currentKeyId: current, keys: new Map(ids.map((id) => [id, Buffer.alloc(32, id.charCodeAt(1))])) });

  beforeAll(async () => {
    services = await testServices(kind);
    await ensureTestTenant(services, tenant);
  });
  afterAll(() => services?.close());

  it('masks with typed, numbered placeholders and restores them (round trip)', async () => {
    const vault = new PiiVault(services.db, ring('k1', 'k1'));
    const taskId = uniqueId('task');
    const text = 'Call me on +1 415 555 0132 or write to jane.roe@example.com; my backup is jane.roe@example.com, office +44 20 7946 0958.';
    const spans = detectPii(text);
    expect(spans.map((s) => s.type).sort()).toEqual(['EMAIL_ADDRESS', 'EMAIL_ADDRESS', 'PHONE_NUMBER', 'PHONE_NUMBER']);
    const masked = await vault.mask({ tenantId: tenant, taskId }, text, spans);
    expect(masked.text).toBe('Call me on [PHONE_NUMBER_1] or write to [EMAIL_ADDRESS_1]; my backup is [EMAIL_ADDRESS_1], office [PHONE_NUMBER_2].');
    expect(await vault.unmask(taskId, masked.text)).toBe(text);
    // The same value keeps its placeholder later in the task; a new one gets the next number.
    const later = await vault.mask({ tenantId: tenant, taskId }, 'Also bob@example.org, and again jane.roe@example.com.', detectPii('Also bob@example.org, and again jane.roe@example.com.'));
    expect(later.text).toBe('Also [EMAIL_ADDRESS_2], and again [EMAIL_ADDRESS_1].');
    // Deep values (tool arguments) are restored string by string.
    expect(await vault.unmask(taskId, { to: '[EMAIL_ADDRESS_2]', cc: ['[EMAIL_ADDRESS_1]'], n: 3 })).toEqual({ to: 'bob@example.org', cc: ['jane.roe@example.com'], n: 3 });
  });

  it('encrypts values at rest and never lets another task read them', async () => {
    const vault = new PiiVault(services.db, ring('k1', 'k1'));
    const taskId = uniqueId('task');
    const other = uniqueId('task');
    const value = `secret.${uniqueId('p')}@example.com`;
    await vault.mask({ tenantId: tenant, taskId }, `Mail ${value}`, detectPii(`Mail ${value}`));
    const { rows } = await services.db.query<{ ciphertext: Buffer; value_mac: string }>('SELECT ciphertext, value_mac FROM pii_vault WHERE task_id = $1', [taskId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.ciphertext.includes(Buffer.from(value))).toBe(false);
    expect(rows[0]!.value_mac).not.toContain(value);
    // Another task's placeholder of the same name does not resolve to this value.
    expect(await vault.unmask(other, 'Mail [EMAIL_ADDRESS_1]')).toBe('Mail [EMAIL_ADDRESS_1]');
    // A ciphertext moved to another task does not decrypt (it is bound to its row).
    await services.db.query(
      `INSERT INTO pii_vault (task_id, placeholder, tenant_id, pii_class, value_mac, key_id, ciphertext)
       SELECT $2, placeholder, tenant_id, pii_class, value_mac, key_id, ciphertext FROM pii_vault WHERE task_id = $1`,
      [taskId, other],
    );
    await expect(vault.unmask(other, '[EMAIL_ADDRESS_1]')).rejects.toThrow();
  });

  it('keeps decrypting after a key rotation, and names a missing key', async () => {
    const taskId = uniqueId('task');
    const before = new PiiVault(services.db, ring('k1', 'k1'));
    await before.mask({ tenantId: tenant, taskId }, 'ip 10.20.30.40', detectPii('ip 10.20.30.40'));
    const rotated = new PiiVault(services.db, ring('k2', 'k2', 'k1'));
    await rotated.mask({ tenantId: tenant, taskId }, 'ip 192.168.7.9', detectPii('ip 192.168.7.9'));
    expect(await rotated.unmask(taskId, '[IP_ADDRESS_1] [IP_ADDRESS_2]')).toBe('10.20.30.40 192.168.7.9');
    const { rows } = await services.db.query<{ key_id: string }>('SELECT key_id FROM pii_vault WHERE task_id = $1 ORDER BY placeholder', [taskId]);
    expect(rows.map((r) => r.key_id)).toEqual(['k1', 'k2']);
    const forgotten = new PiiVault(services.db, ring('k2', 'k2'));
    await expect(forgotten.unmask(taskId, '[IP_ADDRESS_1]')).rejects.toThrow(/key "k1"/);
  });

  it('validates and versions policies', async () => {
    const policies = new GuardrailPolicies(services.db, 0);
    const t = uniqueId('t');
    await ensureTestTenant(services, t);
    expect((await policies.current(t)).version).toBe(0);
    const v1 = await policies.save(t, { pii: { input: { PERSON: 'mask' } } }, 'test');
    const v2 = await policies.save(t, { scope: { blockedTopics: [{ topic: 'medical', phrases: ['diagnose'] }] } }, 'test');
    expect([v1.version, v2.version]).toEqual([1, 2]);
    const current = await policies.current(t);
    expect(current.version).toBe(2);
    expect(current.policy.scope.blockedTopics[0]!.topic).toBe('medical');
    expect(current.policy.pii.input.PERSON).toBe('allow'); // a new version replaces, it does not merge
    const bad = guardrailPolicySchema.safeParse({ pii: { input: { EMAIL_ADDRESS: 'hide' } } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['pii', 'input', 'EMAIL_ADDRESS']);
    expect(guardrailPolicySchema.safeParse({ unknownSection: {} }).success).toBe(false);
  });
});
