-- Routing learned from preferences (activities/router/preferences.ts). Each row is one
-- pairwise judgement of two models' answers to a query — a reviewer's approval or edit, a
-- user's A/B choice, a judge model's verdict — with the query's embedding, so a refit
-- re-clusters without re-embedding. The query keeps no identifiers: a reviewed task's is
-- masked already (vault placeholders), the others get class placeholders ([EMAIL_ADDRESS]).
CREATE TABLE model_preferences (
  id          bigserial PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants (id),
  query       text NOT NULL,
  embedding   vector({{EMBEDDING_DIMENSIONS}}) NOT NULL,
  winner      text NOT NULL,
  loser       text NOT NULL CHECK (loser <> winner),
  tie         boolean NOT NULL DEFAULT false,
  source      text NOT NULL CHECK (source IN ('review', 'ab', 'judge')),
  task_id     text,
  weight      double precision NOT NULL DEFAULT 1 CHECK (weight > 0),
  created_by  text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_preferences_tenant_idx ON model_preferences (tenant_id, id);

-- Every fit is a new version: clusters (centroids), strengths per cluster and pooled, and how
-- many preferences it saw. choose() reads the newest; older versions say what routed when.
CREATE TABLE model_router_fits (
  tenant_id    text NOT NULL REFERENCES tenants (id),
  version      int NOT NULL,
  model        jsonb NOT NULL,
  preferences  int NOT NULL,
  created_by   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, version)
);
