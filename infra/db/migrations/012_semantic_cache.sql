-- The semantic cache (activities/cache/semantic.ts): an answer kept under its question's
-- embedding, found by the nearest question of the same tenant, route, scope ('' shared within
-- the tenant, else a user's id) and context (what else the answer depends on: collection and its
-- corpus version, guardrail policy version, model, options — hashed into context_key). An entry
-- of an earlier corpus version is never found again and is deleted when the version moves on.
CREATE TABLE semantic_cache_entries (
  id             bigserial PRIMARY KEY,
  tenant_id      text NOT NULL REFERENCES tenants (id),
  route          text NOT NULL,
  scope          text NOT NULL,
  context_key    text NOT NULL,
  collection     text,
  corpus_version bigint,
  -- The question as the workflow holds it: PII masked.
  query          text NOT NULL,
  embedder       text NOT NULL,
  embedding      vector({{EMBEDDING_DIMENSIONS}}) NOT NULL,
  value          jsonb NOT NULL,
  bytes          int NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  last_hit_at    timestamptz NOT NULL DEFAULT now(),
  hits           int NOT NULL DEFAULT 0
);
CREATE INDEX semantic_cache_embedding_idx ON semantic_cache_entries USING hnsw (embedding vector_cosine_ops);
-- One entry per question at an address: the same question answered again replaces its entry.
CREATE UNIQUE INDEX semantic_cache_question_idx ON semantic_cache_entries (tenant_id, route, scope, context_key, md5(query));
CREATE INDEX semantic_cache_collection_idx ON semantic_cache_entries (tenant_id, collection, corpus_version);
CREATE INDEX semantic_cache_used_idx ON semantic_cache_entries (tenant_id, last_hit_at);
