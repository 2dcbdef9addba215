import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { DefaultFailureConverter, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config.js';
import { ENCRYPTED_ENCODING, EncryptionCodec, FAILURE_CONVERTER_PATH, gatehouseDataConverter, KEY_ID_METADATA, PayloadCodecError, REFUSED_PAYLOAD_FIELD, TENANT_METADATA, type KeyRing } from '../../infra/payload-codec.js';
import { WorkflowTenants } from '../../infra/workflow-tenants.js';
import { keyFilePath, loadKeyRing } from '../../infra/payload-keys.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const ring = (current: string, keys: Record<string, Buffer>): KeyRing => ({ currentKeyId: current, keys: new Map(Object.entries(keys)) });
const text = (p: Payload, key: string) => new TextDecoder().decode(p.metadata![key]);
const plain = (value: unknown) => defaultPayloadConverter.toPayload(value);

describe('EncryptionCodec', () => {
  it('round-trips payloads and leaves no plaintext in the encoded bytes', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1 }));
    const original = [plain({ email: 'ada@example.com', phone: '+1 555 0100' }), plain('x'), plain(undefined)];
    const encoded = await codec.encode(original);
    for (const p of encoded) {
      expect(text(p, 'encoding')).toBe(ENCRYPTED_ENCODING);
      expect(text(p, KEY_ID_METADATA)).toBe('k1');
      expect(Object.keys(p.metadata!)).toEqual(['encoding', KEY_ID_METADATA]);
    }
    expect(Buffer.from(encoded[0]!.data!).toString('latin1')).not.toContain('ada@example.com');
    const decoded = await codec.decode(encoded);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([{ email: 'ada@example.com', phone: '+1 555 0100' }, 'x', undefined]);
    // A fresh IV each time: the same value never encrypts to the same bytes.
    const [again] = await codec.encode([original[1]!]);
    expect(Buffer.from(again!.data!).equals(Buffer.from(encoded[1]!.data!))).toBe(false);
  });

  it('keeps decrypting with old keys after rotation, and encrypts with the new one', async () => {
    const before = new EncryptionCodec(ring('k1', { k1 }));
    const [old] = await before.encode([plain('written before rotation')]);
    const after = new EncryptionCodec(ring('k2', { k2, k1 }));
    const [fresh] = await after.encode([plain('written after')]);
    expect(text(fresh!, KEY_ID_METADATA)).toBe('k2');
    expect((await after.decode([old!, fresh!])).map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(['written before rotation', 'written after']);
  });

  it('rejects tampered ciphertext, a relabelled key id, and unknown key ids with clear errors', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1, k2 }));
    const [p] = await codec.encode([plain('secret')]);
    const flipped = Buffer.from(p!.data!);
    flipped[20]! ^= 1;
    await expect(codec.decode([{ ...p, data: flipped }])).rejects.toThrow(/key "k1"\) failed authentication/);
    // The key id is authenticated data: moving a payload under another key's id fails too.
    const relabelled = { ...p, metadata: { ...p!.metadata, [KEY_ID_METADATA]: new TextEncoder().encode('k2') } };
    await expect(codec.decode([relabelled])).rejects.toThrow(PayloadCodecError);
    await expect(codec.decode([{ ...p, data: flipped.subarray(0, 10) }])).rejects.toThrow(/truncated/);
    const stranger = new EncryptionCodec(ring('k9', { k9: randomBytes(32) }));
    const [foreign] = await stranger.encode([plain('x')]);
    await expect(codec.decode([foreign!])).rejects.toThrow(/unknown key id "k9" \(key ring: k1, k2\)/);
  });

  it('refuses inbound plaintext as a value no handler accepts, instead of failing the workflow task', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1 }));
    const forged = [plain({ approvalId: 'apr_2', decision: 'approve' }), { metadata: {}, data: new Uint8Array([1]) }];
    const decoded = (await codec.decode(forged)).map((p) => defaultPayloadConverter.fromPayload<Record<string, string>>(p));
    for (const value of decoded) expect(value).toEqual({ [REFUSED_PAYLOAD_FIELD]: expect.stringMatching(/^unencrypted payload/) });
    // Only a replay of histories recorded before the codec reads plaintext as it is.
    const replaying = new EncryptionCodec(ring('k1', { k1 }), { acceptPlaintext: true });
    expect(await replaying.decode(forged)).toEqual(forged);
  });

  it("labels payloads with their workflow's tenant, authenticated with the ciphertext", async () => {
    const tenants = new WorkflowTenants();
    tenants.remember('task_abc', 'acme');
    const codec = new EncryptionCodec(ring('k1', { k1 }), { tenants });
    // A plan's sub-task and an operator's undo belong to their task's tenant.
    const contexts = ['task_abc', 'task_abc.sub_1', 'compensate.task_abc.apr_1'].map((workflowId) => ({ type: 'workflow' as const, namespace: 'default', workflowId }));
    for (const context of contexts) {
      const [p] = await codec.encode([plain('secret')], context);
      expect(text(p!, TENANT_METADATA)).toBe('acme');
      expect(codec.decodeFor([p!], { tenantId: 'acme' }).map((d) => defaultPayloadConverter.fromPayload(d))).toEqual(['secret']);
      expect(() => codec.decodeFor([p!], { tenantId: 'globex' })).toThrow('the payload belongs to another tenant');
      expect(codec.decodeFor([p!], 'all')).toHaveLength(1);
      const relabelled = { ...p, metadata: { ...p!.metadata, [TENANT_METADATA]: new TextEncoder().encode('globex') } };
      expect(() => codec.decodeFor([relabelled], { tenantId: 'globex' })).toThrow(/failed authentication/);
    }
    // A workflow Gatehouse did not start (no task row): no tenant, for operators only.
    const [orphan] = await codec.encode([plain('x')], { type: 'workflow', namespace: 'default', workflowId: 'adhoc-1' });
    expect(orphan!.metadata![TENANT_METADATA]).toBeUndefined();
    expect(() => codec.decodeFor([orphan!], { tenantId: 'acme' })).toThrow(/no tenant/);
    expect(await codec.decode([orphan!])).toHaveLength(1);
  });

  it('gives clients and workers the codec and an encoding failure converter', () => {
    const dc = gatehouseDataConverter(ring('k1', { k1 }));
    expect(dc.payloadCodecs[0]).toBeInstanceOf(EncryptionCodec);
    expect(dc.failureConverterPath).toBe(FAILURE_CONVERTER_PATH);
    // The path is loaded with require() by the SDK: check it loads so, and encodes attributes.
    const { failureConverter } = createRequire(import.meta.url)(FAILURE_CONVERTER_PATH) as { failureConverter: DefaultFailureConverter };
    expect(failureConverter).toBeInstanceOf(DefaultFailureConverter);
    const failure = failureConverter.errorToFailure(new Error('card 4111 1111 1111 1111'), defaultPayloadConverter);
    expect(failure.message).toBe('Encoded failure');
    expect(failure.stackTrace).toBe('');
    expect(failure.encodedAttributes).toBeTruthy();
  });

  it('measures encode + decode time per payload', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1 }));
    const payloads = Array.from({ length: 2000 }, (_, i) => plain({ i, text: 'x'.repeat(1024) }));
    await codec.decode(await codec.encode(payloads.slice(0, 100))); // warm-up
    const t0 = performance.now();
    const encoded = await codec.encode(payloads);
    const t1 = performance.now();
    await codec.decode(encoded);
    const t2 = performance.now();
    const perPayload = { encodeUs: ((t1 - t0) * 1000) / payloads.length, decodeUs: ((t2 - t1) * 1000) / payloads.length };
    console.log(`[payload codec] 1 KiB JSON payload: encode ${perPayload.encodeUs.toFixed(1)} µs, decode ${perPayload.decodeUs.toFixed(1)} µs`);
    expect(perPayload.encodeUs).toBeLessThan(1000);
  });
});

describe('loadKeyRing', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const tempDir = async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-keys-'));
    dirs.push(d);
    return d;
  };

  it('generates one key in the embedded mode, keeps it (0600), and reuses it on restart', async () => {
    const dir = await tempDir();
    const config = loadConfig({ GATEHOUSE_DATA_DIR: dir });
    const first = await loadKeyRing(config);
    expect(first.keys.get(first.currentKeyId)).toHaveLength(32);
    expect((await stat(keyFilePath(config))).mode & 0o777).toBe(0o600);
    const second = await loadKeyRing(config);
    expect(second).toEqual(first);
    // Configured keys take over encryption; the generated one still decrypts what it wrote.
    const configured = await loadKeyRing(loadConfig({ GATEHOUSE_DATA_DIR: dir, PAYLOAD_ENCRYPTION_KEYS: `ops:${k2.toString('base64')}` }));
    expect(configured.currentKeyId).toBe('ops');
    expect([...configured.keys.keys()]).toEqual(['ops', first.currentKeyId]);
    expect(await readFile(keyFilePath(config), 'utf8')).toContain(first.currentKeyId);
  });

  it('uses only the configured keys with an external cluster', async () => {
    const dir = await tempDir();
    const c = loadConfig({ GATEHOUSE_DATA_DIR: dir, TEMPORAL_ADDRESS: 'temporal:7233', PAYLOAD_ENCRYPTION_KEYS: `a:${k1.toString('base64')}` });
    expect([...(await loadKeyRing(c)).keys.keys()]).toEqual(['a']);
  });
});
