-- Gatehouse schema, version 1.
-- {{EMBEDDING_DIMENSIONS}} is filled in by the migrator from config and recorded in `settings`,
-- so a later start with a different dimension is refused instead of corrupting the index.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE tenants (
  id         text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- API keys are stored as SHA-256 hashes; the key itself is shown once, at creation.
-- Keys are 32 random bytes, so a fast hash is enough (no dictionary to attack).
CREATE TABLE api_keys (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants (id),
  key_hash     text NOT NULL UNIQUE,
  name         text NOT NULL DEFAULT '',
  roles        text[] NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);

-- A collection is a tenant's named set of documents. Its row also carries the two
-- corpus statistics BM25 needs (N and the total length), kept current by ingestion.
CREATE TABLE collections (
  id           serial PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants (id),
  name         text NOT NULL,
  chunk_count  bigint NOT NULL DEFAULT 0,
  total_terms  bigint NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name)
);

CREATE TABLE documents (
  collection_id int NOT NULL REFERENCES collections (id),
  id            text NOT NULL,
  title         text,
  source        text,
  metadata      jsonb NOT NULL DEFAULT '{}',
  text          text NOT NULL,
  content_hash  text NOT NULL,
  version       int NOT NULL DEFAULT 1,
  chunk_count   int NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (collection_id, id)
);

CREATE TABLE chunks (
  id            bigserial PRIMARY KEY,
  tenant_id     text NOT NULL,
  collection_id int NOT NULL,
  document_id   text NOT NULL,
  ordinal       int NOT NULL,
  heading       text NOT NULL DEFAULT '',
  text          text NOT NULL,
  token_count   int NOT NULL,
  term_count    int NOT NULL,                 -- BM25 document length: lexeme occurrences in tsv
  tsv           tsvector NOT NULL,
  embedding     vector({{EMBEDDING_DIMENSIONS}}) NOT NULL,
  metadata      jsonb NOT NULL DEFAULT '{}',
  FOREIGN KEY (collection_id, document_id) REFERENCES documents (collection_id, id) ON DELETE CASCADE,
  UNIQUE (collection_id, document_id, ordinal)
);
CREATE INDEX chunks_tsv_idx ON chunks USING gin (tsv);
CREATE INDEX chunks_embedding_idx ON chunks USING hnsw (embedding vector_cosine_ops);
CREATE INDEX chunks_metadata_idx ON chunks USING gin (metadata jsonb_path_ops);

-- The inverted index BM25 reads: one posting per (collection, lexeme, chunk) with the
-- term frequency and the chunk's length, so scoring never touches the chunks table.
CREATE TABLE chunk_terms (
  collection_id int NOT NULL,
  term          text NOT NULL,
  chunk_id      bigint NOT NULL,
  tf            int NOT NULL,
  dl            int NOT NULL,
  PRIMARY KEY (collection_id, term, chunk_id)
);

-- Document frequency per lexeme, for IDF.
CREATE TABLE term_stats (
  collection_id int NOT NULL,
  term          text NOT NULL,
  df            int NOT NULL,
  PRIMARY KEY (collection_id, term)
);

-- Raw documents of an ingestion, stored before its workflow starts so that workflow
-- history carries ids, never bulk text. Rows are trimmed when the ingestion finishes.
CREATE TABLE ingestions (
  id             text PRIMARY KEY,
  tenant_id      text NOT NULL REFERENCES tenants (id),
  collection_id  int NOT NULL REFERENCES collections (id),
  document_count int NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ingestion_items (
  ingestion_id  text NOT NULL REFERENCES ingestions (id) ON DELETE CASCADE,
  ordinal       int NOT NULL,
  document_id   text NOT NULL,
  title         text,
  source        text,
  metadata      jsonb NOT NULL DEFAULT '{}',
  text          text,                         -- nulled once processed
  content_hash  text NOT NULL,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'indexed', 'unchanged', 'failed')),
  chunk_count   int NOT NULL DEFAULT 0,
  error         text,
  PRIMARY KEY (ingestion_id, ordinal)
);

-- Every task started through the API, with its owner; the workflow id is the task id.
CREATE TABLE tasks (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES tenants (id),
  type            text NOT NULL,
  idempotency_key text,
  request_hash    text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX tasks_tenant_created_idx ON tasks (tenant_id, created_at DESC);

-- One row per model call attempt: what it cost and how long it took.
CREATE TABLE model_usage (
  id             bigserial PRIMARY KEY,
  at             timestamptz NOT NULL DEFAULT now(),
  tenant_id      text,
  task_id        text,
  step           text,
  model          text NOT NULL,
  provider       text NOT NULL,
  input_tokens   int NOT NULL DEFAULT 0,
  output_tokens  int NOT NULL DEFAULT 0,
  cost_usd       numeric(14, 8) NOT NULL DEFAULT 0,
  latency_ms     int NOT NULL,
  outcome        text NOT NULL,
  error          text
);
CREATE INDEX model_usage_tenant_at_idx ON model_usage (tenant_id, at);
CREATE INDEX model_usage_task_idx ON model_usage (task_id);
