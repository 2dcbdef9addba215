// A tenant's versioned document — the guardrail policy, the routing document: every change a new
// row with the next version number, the highest version in force, the built-in default (version
// 0) for a tenant without one. Reads are cached briefly (a change reaches other processes within
// the cache's lifetime; this process sees its own writes at once). A stored document was valid
// when written; one that no longer parses (a field since tightened) fails the tenant's task at
// once, with the short, non-retryable error `invalid` builds — never retried, never quoted whole.
import type { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import type { Db } from '../infra/db/pool.js';

export interface Versioned<T> {
  /** 0 is the built-in default. */
  version: number;
  document: T;
}

export interface VersionedDocumentsOptions<T> {
  /** The table: (tenant_id, version, document jsonb, created_by), primary key (tenant_id, version). */
  table: 'guardrail_policies' | 'routing_documents';
  schema: z.ZodType<T>;
  fallback: T;
  invalid: (tenantId: string, version: number, error: z.ZodError) => ApplicationFailure;
  ttlMs: number;
}

export class VersionedDocuments<T> {
  private readonly cache = new Map<string, { value: Versioned<T>; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly o: VersionedDocumentsOptions<T>,
  ) {}

  async current(tenantId: string): Promise<Versioned<T>> {
    const hit = this.cache.get(tenantId);
    if (hit && hit.until > Date.now()) return hit.value;
    const { rows } = await this.db.query<{ version: number; document: unknown }>(
      `SELECT version, document FROM ${this.o.table} WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1`,
      [tenantId],
    );
    const row = rows[0];
    let value: Versioned<T> = { version: 0, document: this.o.fallback };
    if (row) {
      // Parsing again fills defaults added since the document was written.
      const parsed = this.o.schema.safeParse(row.document);
      if (!parsed.success) throw this.o.invalid(tenantId, row.version, parsed.error);
      value = { version: row.version, document: parsed.data };
    }
    this.remember(tenantId, value);
    return value;
  }

  /** Store `input` (the caller validated it) as the next version; what is stored is what the caller sent. */
  async save(tenantId: string, input: unknown, createdBy: string): Promise<Versioned<T>> {
    const document = this.o.schema.parse(input);
    const { rows } = await this.db.query<{ version: number }>(
      `INSERT INTO ${this.o.table} (tenant_id, version, document, created_by)
       SELECT $1, coalesce(max(version), 0) + 1, $2, $3 FROM ${this.o.table} WHERE tenant_id = $1
       RETURNING version`,
      [tenantId, JSON.stringify(input), createdBy],
    );
    const value = { version: rows[0]!.version, document };
    this.remember(tenantId, value);
    return value;
  }

  private remember(tenantId: string, value: Versioned<T>): void {
    this.cache.set(tenantId, { value, until: Date.now() + this.o.ttlMs });
  }
}
