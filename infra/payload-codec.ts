// Nothing sensitive in Temporal's history: every payload (workflow and activity inputs and
// results, signals, updates, queries, memos, failure messages) leaves our processes encrypted
// with AES-256-GCM. The cluster, its database and anyone with UI access see ciphertext; the
// codec endpoint (api/routes/codec.ts) decrypts for the UI, for operators only.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
// CommonJS whose named exports Node's ESM loader cannot see: import the module object.
import proto from '@temporalio/proto';
import type { PayloadKeyRing } from './config.js';

export type KeyRing = PayloadKeyRing;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const ProtoPayload = proto.temporal.api.common.v1.Payload;
const utf8 = new TextEncoder();
const text = new TextDecoder();

/**
 * The module exporting `failureConverter` (DefaultFailureConverter with encodeCommonAttributes),
 * for bundleWorkflowCode's failureConverterPath when a test or benchmark pre-builds the bundle.
 */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

/** A payload that cannot be decrypted: unknown key id, tampered or truncated ciphertext. */
export class PayloadCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadCodecError';
  }
}

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly ring: KeyRing) {
    if (!ring.keys.has(ring.currentKeyId)) throw new PayloadCodecError(`current key "${ring.currentKeyId}" is not in the key ring`);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encrypt(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.decrypt(p));
  }

  encrypt(payload: Payload): Payload {
    const keyId = this.ring.currentKeyId;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.ring.keys.get(keyId)!, iv);
    // The key id is authenticated too: relabelling a payload with another id fails to decrypt.
    cipher.setAAD(utf8.encode(keyId));
    const plain = ProtoPayload.encode(payload).finish();
    const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return { metadata: { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(keyId) }, data };
  }

  decrypt(payload: Payload): Payload {
    const encoding = payload.metadata?.encoding;
    // Histories written before the codec (and the replay test's recordings) are plain: pass through.
    if (!encoding || text.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
    const rawId = payload.metadata?.[KEY_ID_METADATA];
    if (!rawId) throw new PayloadCodecError(`encrypted payload without "${KEY_ID_METADATA}" metadata`);
    const keyId = text.decode(rawId);
    const key = this.ring.keys.get(keyId);
    if (!key) {
      throw new PayloadCodecError(
        `payload encrypted with unknown key id "${keyId.slice(0, 64)}" (key ring: ${[...this.ring.keys.keys()].join(', ')}); add it to PAYLOAD_ENCRYPTION_KEYS`,
      );
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadCodecError(`encrypted payload (key "${keyId}") is truncated`);
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(utf8.encode(keyId));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadCodecError(`payload (key "${keyId}") failed authentication: tampered with, or encrypted with a different key of that id`);
    }
    return ProtoPayload.decode(plain);
  }
}

/**
 * What every client and worker gets as `dataConverter`. One object serves both: the SDK's
 * DataConverter takes the failure converter by path (workers bundle it into the workflow
 * sandbox, where workflow errors are converted; clients and workers require() it).
 */
export function gatehouseDataConverter(ring: KeyRing): DataConverter & { payloadCodecs: [EncryptionCodec] } {
  return { payloadCodecs: [new EncryptionCodec(ring)], failureConverterPath: FAILURE_CONVERTER_PATH };
}
