-- The exact cache (activities/cache/exact.ts): a response stored under the hash of its normalised
-- request, per tenant, shared within it ('' scope) or kept to one user (scope = the user's id).
-- Entries expire; past a tenant's size budget the least recently or least often used go.
CREATE TABLE cache_entries (
  tenant_id   text NOT NULL REFERENCES tenants (id),
  layer       text NOT NULL CHECK (layer IN ('model', 'retrieval', 'tool')),
  scope       text NOT NULL,
  key         text NOT NULL,
  value       jsonb NOT NULL,
  bytes       int NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  last_hit_at timestamptz NOT NULL DEFAULT now(),
  hits        int NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, layer, scope, key)
);
CREATE INDEX cache_entries_tenant_used_idx ON cache_entries (tenant_id, last_hit_at);

-- Every change to a collection's documents moves its corpus version on (addCorpusStatistics):
-- cached retrieval results are keyed by it, so an earlier version's are never served again.
ALTER TABLE collections ADD COLUMN corpus_version bigint NOT NULL DEFAULT 0;
