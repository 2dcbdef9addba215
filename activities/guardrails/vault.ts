// The PII vault: masked values behind typed, numbered placeholders (`[PHONE_NUMBER_1]`),
// encrypted in Postgres and scoped to one task. The model, the workflow history and the
// task's steps see placeholders; `unmask` restores them for a caller allowed to see them
// (the API, for keys with the pii:read role) and for a tool about to act on them.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { inTransaction, type Db } from '../../infra/db/pool.js';
import { PLACEHOLDER_PATTERN, type PiiClass, type PiiSpan } from './types.js';

/** AES-256 keys by id; new values are encrypted with the current one, any of them decrypts. */
export interface KeyRing {
  currentKeyId: string;
  keys: Map<string, Buffer>;
}

export { PLACEHOLDER_PATTERN };

interface VaultKeys {
  encryption: Buffer;
  mac: Buffer;
}

export interface MaskOutcome {
  text: string;
  /** The placeholders put into the text, in order of appearance (repeats included once). */
  placeholders: Array<{ placeholder: string; type: PiiClass }>;
}

export class PiiVault {
  private readonly derived = new Map<string, VaultKeys>();

  constructor(
    private readonly db: Db,
    private readonly keyRing: KeyRing,
  ) {}

  /**
   * Replace the given spans with placeholders. The same value gets the same placeholder
   * everywhere in the task (so "[EMAIL_ADDRESS_1]" means one address throughout a conversation).
   */
  async mask(ref: { tenantId: string; taskId: string }, text: string, spans: PiiSpan[]): Promise<MaskOutcome> {
    return (await this.maskMany(ref, [{ text, spans }]))[0]!;
  }

  /** `mask` for many texts in one transaction (a tool's rows, a conversation). */
  async maskMany(ref: { tenantId: string; taskId: string }, items: Array<{ text: string; spans: PiiSpan[] }>): Promise<MaskOutcome[]> {
    if (items.every((i) => i.spans.length === 0)) return items.map((i) => ({ text: i.text, placeholders: [] }));
    const keys = this.keysFor(this.keyRing.currentKeyId);
    const macOf = (s: PiiSpan) => createHmac('sha256', keys.mac).update(`${s.type}\u0000${s.text}`).digest('base64url');
    const wanted = new Map<string, PiiSpan>();
    for (const item of items) for (const s of item.spans) wanted.set(macOf(s), s);

    const placeholderOf = await inTransaction(this.db, async (tx) => {
      // Numbering is per task and class: one writer at a time per task.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`pii_vault:${ref.taskId}`]);
      const { rows } = await tx.query<{ placeholder: string; value_mac: string; pii_class: string }>(
        'SELECT placeholder, value_mac, pii_class FROM pii_vault WHERE task_id = $1',
        [ref.taskId],
      );
      const known = new Map(rows.map((r) => [r.value_mac, r.placeholder]));
      const counts = new Map<string, number>();
      for (const r of rows) counts.set(r.pii_class, (counts.get(r.pii_class) ?? 0) + 1);
      for (const [mac, span] of wanted) {
        if (known.has(mac)) continue;
        const n = (counts.get(span.type) ?? 0) + 1;
        counts.set(span.type, n);
        const placeholder = `[${span.type}_${n}]`;
        await tx.query(
          `INSERT INTO pii_vault (task_id, placeholder, tenant_id, pii_class, value_mac, key_id, ciphertext) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [ref.taskId, placeholder, ref.tenantId, span.type, mac, this.keyRing.currentKeyId, encrypt(keys.encryption, span.text, aad(ref.taskId, placeholder))],
        );
        known.set(mac, placeholder);
      }
      return known;
    });

    return items.map(({ text, spans }) => {
      let out = '';
      let at = 0;
      const placeholders: MaskOutcome['placeholders'] = [];
      for (const s of [...spans].sort((a, b) => a.start - b.start)) {
        if (s.start < at) continue; // overlapping spans: the first one wins
        const placeholder = placeholderOf.get(macOf(s))!;
        out += text.slice(at, s.start) + placeholder;
        at = s.end;
        if (!placeholders.some((p) => p.placeholder === placeholder)) placeholders.push({ placeholder, type: s.type });
      }
      return { text: out + text.slice(at), placeholders };
    });
  }

  /** The values behind the placeholders that occur in `texts`, decrypted. */
  async lookup(taskId: string, texts: string[]): Promise<Map<string, string>> {
    const names = new Set<string>();
    for (const t of texts) for (const m of t.matchAll(PLACEHOLDER_PATTERN)) names.add(m[0]);
    if (names.size === 0) return new Map();
    const { rows } = await this.db.query<{ placeholder: string; key_id: string; ciphertext: Buffer }>(
      'SELECT placeholder, key_id, ciphertext FROM pii_vault WHERE task_id = $1 AND placeholder = ANY($2)',
      [taskId, [...names]],
    );
    return new Map(rows.map((r) => [r.placeholder, decrypt(this.keysFor(r.key_id).encryption, r.ciphertext, aad(taskId, r.placeholder))]));
  }

  /**
   * Give task `to` the placeholders of task `from`, each value sealed again for its new task (a
   * ciphertext is bound to its task): a what-if fork reads what its original masked.
   */
  async copyTask(ref: { tenantId: string; from: string; to: string }): Promise<number> {
    const { rows } = await this.db.query<{ placeholder: string; pii_class: string; value_mac: string; key_id: string; ciphertext: Buffer }>(
      'SELECT placeholder, pii_class, value_mac, key_id, ciphertext FROM pii_vault WHERE task_id = $1 AND tenant_id = $2',
      [ref.from, ref.tenantId],
    );
    for (const r of rows) {
      const value = decrypt(this.keysFor(r.key_id).encryption, r.ciphertext, aad(ref.from, r.placeholder));
      await this.db.query(
        'INSERT INTO pii_vault (task_id, placeholder, tenant_id, pii_class, value_mac, key_id, ciphertext) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING',
        [ref.to, r.placeholder, ref.tenantId, r.pii_class, r.value_mac, r.key_id, encrypt(this.keysFor(r.key_id).encryption, value, aad(ref.to, r.placeholder))],
      );
    }
    return rows.length;
  }

  /** Restore every placeholder of this task in a string, or in every string of a JSON value. */
  async unmask<T>(taskId: string, value: T): Promise<T> {
    const strings: string[] = [];
    collectStrings(value, strings);
    const values = await this.lookup(taskId, strings);
    if (values.size === 0) return value;
    return replaceStrings(value, (s) => s.replace(PLACEHOLDER_PATTERN, (m) => values.get(m) ?? m)) as T;
  }

  private keysFor(keyId: string): VaultKeys {
    let keys = this.derived.get(keyId);
    if (!keys) {
      const master = this.keyRing.keys.get(keyId);
      if (!master) throw new Error(`the PII vault has a value encrypted with key "${keyId}", which is not in the key ring`);
      // Own subkeys, so the vault never uses the payload codec's key directly.
      const derive = (info: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
      keys = { encryption: derive('gatehouse pii vault encryption'), mac: derive('gatehouse pii vault mac') };
      this.derived.set(keyId, keys);
    }
    return keys;
  }
}

/** Binds a ciphertext to its row: a value moved to another task or placeholder will not decrypt. */
function aad(taskId: string, placeholder: string): Buffer {
  return Buffer.from(`${taskId}\u0000${placeholder}`);
}

function encrypt(key: Buffer, plaintext: string, associated: Buffer): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(associated);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function decrypt(key: Buffer, sealed: Buffer, associated: Buffer): string {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAAD(associated);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]).toString('utf8');
}

/** Every string of a JSON value, in a stable order (see `replaceStrings`). */
export function collectStrings(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) collectStrings(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) collectStrings(v, out);
}

export function replaceStrings(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((v) => replaceStrings(v, fn));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceStrings(v, fn)]));
  }
  return value;
}
