// Nothing sensitive in Temporal's history: every payload (workflow and activity inputs and
// results, signals, updates, queries, memos, failure messages) leaves our processes encrypted
// with AES-256-GCM. The cluster, its database and anyone with UI access see ciphertext; the
// codec endpoint (api/routes/codec.ts) decrypts for the UI: a tenant's people see their own
// tenant's payloads, the deployment's operators every tenant's.
//
// Each payload carries its tenant (the workflow's, found from the workflow id the SDK hands the
// codec), authenticated with the ciphertext: relabelling a payload as another tenant's fails to
// decrypt. Inbound plaintext is refused: a worker never acts on a payload that did not come
// from a holder of the key (a Signal sent with a bare `temporal workflow signal`, say).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { defaultPayloadConverter, type DataConverter, type Payload, type PayloadCodec, type SerializationContext } from '@temporalio/common';
// CommonJS whose named exports Node's ESM loader cannot see: import the module object.
import proto from '@temporalio/proto';
import type { PayloadKeyRing } from './config.js';
import type { WorkflowTenants } from './workflow-tenants.js';

export type KeyRing = PayloadKeyRing;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const TENANT_METADATA = 'encryption-tenant';
/**
 * What a refused inbound payload decodes to, instead of failing the workflow task (which would
 * retry forever and wedge the run): a value no handler accepts, so the message is refused and
 * recorded by the code that reads it, and the workflow goes on.
 */
export const REFUSED_PAYLOAD_FIELD = 'gatehouseRefusedPayload';

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

export interface EncryptionCodecOptions {
  /** Maps a payload's workflow to its tenant; without it payloads are tenantless (operators only). */
  tenants?: WorkflowTenants;
  /**
   * Decode plaintext payloads as they are. Only for reading histories recorded without the
   * codec (the replay tests); a worker or client that runs Gatehouse never does.
   */
  acceptPlaintext?: boolean;
}

/** Who may read a payload at the codec endpoint: one tenant, or every tenant (operators). */
export type DecodeScope = { tenantId: string } | 'all';

export class EncryptionCodec implements PayloadCodec {
  constructor(
    private readonly ring: KeyRing,
    private readonly opts: EncryptionCodecOptions = {},
  ) {
    if (!ring.keys.has(ring.currentKeyId)) throw new PayloadCodecError(`current key "${ring.currentKeyId}" is not in the key ring`);
  }

  async encode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    const tenantId = await this.opts.tenants?.tenantOf(context?.workflowId);
    return payloads.map((p) => this.encrypt(p, tenantId));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (isEncrypted(p)) return this.decrypt(p);
      return this.opts.acceptPlaintext ? p : refusedPayload('unencrypted payload: only a holder of the payload key may send messages to Gatehouse workflows');
    });
  }

  /** The codec endpoint's decode: refuses a payload outside the caller's scope; plaintext shown as it is. */
  decodeFor(payloads: Payload[], scope: DecodeScope): Payload[] {
    return payloads.map((p) => {
      if (!isEncrypted(p)) return p;
      const tenantId = metadataText(p, TENANT_METADATA);
      if (scope !== 'all' && tenantId !== scope.tenantId) {
        throw new PayloadCodecError(tenantId ? 'the payload belongs to another tenant' : "the payload belongs to no tenant (the deployment's operators only)");
      }
      return this.decrypt(p);
    });
  }

  encrypt(payload: Payload, tenantId?: string): Payload {
    const keyId = this.ring.currentKeyId;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.ring.keys.get(keyId)!, iv);
    // The key id and the tenant are authenticated too: relabelling either fails to decrypt.
    cipher.setAAD(additionalData(keyId, tenantId));
    const plain = ProtoPayload.encode(payload).finish();
    const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    const metadata: Record<string, Uint8Array> = { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(keyId) };
    if (tenantId) metadata[TENANT_METADATA] = utf8.encode(tenantId);
    return { metadata, data };
  }

  decrypt(payload: Payload): Payload {
    const keyId = metadataText(payload, KEY_ID_METADATA);
    if (keyId === undefined) throw new PayloadCodecError(`encrypted payload without "${KEY_ID_METADATA}" metadata`);
    const key = this.ring.keys.get(keyId);
    if (!key) {
      throw new PayloadCodecError(
        `payload encrypted with unknown key id "${keyId.slice(0, 64)}" (key ring: ${[...this.ring.keys.keys()].join(', ')}); add it to PAYLOAD_ENCRYPTION_KEYS`,
      );
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadCodecError(`encrypted payload (key "${keyId}") is truncated`);
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(additionalData(keyId, metadataText(payload, TENANT_METADATA)));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadCodecError(`payload (key "${keyId}") failed authentication: tampered with, relabelled, or encrypted with a different key of that id`);
    }
    return ProtoPayload.decode(plain);
  }
}

function isEncrypted(payload: Payload): boolean {
  return metadataText(payload, 'encoding') === ENCRYPTED_ENCODING;
}

function metadataText(payload: Payload, key: string): string | undefined {
  const raw = payload.metadata?.[key];
  return raw ? text.decode(raw) : undefined;
}

/** Tenantless payloads (and those written before tenants) authenticate the key id alone. */
function additionalData(keyId: string, tenantId: string | undefined): Uint8Array {
  return utf8.encode(tenantId ? `${keyId}\u0000tenant=${tenantId}` : keyId);
}

function refusedPayload(reason: string): Payload {
  return defaultPayloadConverter.toPayload({ [REFUSED_PAYLOAD_FIELD]: reason });
}

/**
 * What every client and worker gets as `dataConverter`. One object serves both: the SDK's
 * DataConverter takes the failure converter by path (workers bundle it into the workflow
 * sandbox, where workflow errors are converted; clients and workers require() it).
 */
export function gatehouseDataConverter(ring: KeyRing, opts: EncryptionCodecOptions = {}): DataConverter & { payloadCodecs: [EncryptionCodec] } {
  return { payloadCodecs: [new EncryptionCodec(ring, opts)], failureConverterPath: FAILURE_CONVERTER_PATH };
}
