-- The gateway's access control, budgets and rate limits. Rules are rows an admin sets per
-- tenant; what they count lives in counters that every API process and worker updates with
-- one atomic statement each (the gateway's limits/ module), so limits hold across replicas.

-- Keys may name the application they are for: an allow-list can apply to all its keys.
ALTER TABLE api_keys ADD COLUMN application text;

-- Who started a task: the gateway resolves the caller of every model call the task makes
-- (its sub-tasks included) from this row, not from anything the workflow carries.
ALTER TABLE tasks ADD COLUMN key_id text, ADD COLUMN user_id text, ADD COLUMN application text;

-- Whose call each model_usage line was: GET /v1/usage groups by key.
ALTER TABLE model_usage ADD COLUMN key_id text;
CREATE INDEX model_usage_tenant_key_at_idx ON model_usage (tenant_id, key_id, at);

-- Model allow-lists. A call may use a model only if every list that applies to its caller
-- (the tenant's, its application's, its person's, its key's) names it; no list, no limit.
CREATE TABLE model_access (
  tenant_id   text NOT NULL REFERENCES tenants (id),
  scope       text NOT NULL CHECK (scope IN ('tenant', 'application', 'user', 'key')),
  subject     text NOT NULL,
  models      text[] NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, scope, subject)
);

-- Budgets, nested: a call must fit every budget that applies to it. subject is '' for the
-- tenant, a key, user or task id, or '*' for each one of the scope without a row of its own.
CREATE TABLE budgets (
  tenant_id     text NOT NULL REFERENCES tenants (id),
  scope         text NOT NULL CHECK (scope IN ('tenant', 'key', 'user', 'task')),
  subject       text NOT NULL,
  period        text NOT NULL CHECK (period IN ('day', 'month', 'total')),
  limit_usd     numeric(14, 6) CHECK (limit_usd >= 0),
  limit_tokens  bigint CHECK (limit_tokens >= 0),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, scope, subject, period),
  CHECK (limit_usd IS NOT NULL OR limit_tokens IS NOT NULL)
);

-- What each budget's window has spent and holds reserved. subject is the real key, user or
-- task id (never '*'); window_start is the period's start ('epoch' for a total budget).
CREATE TABLE budget_spend (
  tenant_id        text NOT NULL,
  scope            text NOT NULL,
  subject          text NOT NULL,
  period           text NOT NULL,
  window_start     timestamptz NOT NULL,
  spent_usd        numeric(18, 8) NOT NULL DEFAULT 0,
  spent_tokens     bigint NOT NULL DEFAULT 0,
  reserved_usd     numeric(18, 8) NOT NULL DEFAULT 0,
  reserved_tokens  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, scope, subject, period, window_start)
);

-- Requests and tokens per minute. subject as for budgets; for scope 'model', a model name.
CREATE TABLE rate_limits (
  tenant_id   text NOT NULL REFERENCES tenants (id),
  scope       text NOT NULL CHECK (scope IN ('tenant', 'key', 'model')),
  subject     text NOT NULL,
  rpm         int CHECK (rpm >= 0),
  tpm         bigint CHECK (tpm >= 0),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, scope, subject),
  CHECK (rpm IS NOT NULL OR tpm IS NOT NULL)
);

-- One fixed minute window per rate limit and subject, counted by the database's clock.
CREATE TABLE rate_windows (
  tenant_id     text NOT NULL,
  scope         text NOT NULL,
  subject       text NOT NULL,
  window_start  timestamptz NOT NULL,
  requests      int NOT NULL DEFAULT 0,
  tokens        bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, scope, subject, window_start)
);

-- One row per model call admitted against a budget or rate limit, keyed by the call's
-- attempt key (workflow id / activity id / attempt / call index, or a request id): reserving
-- or settling the same key again changes nothing. counters lists what it was counted in.
CREATE TABLE gateway_reservations (
  id               text PRIMARY KEY,
  tenant_id        text NOT NULL,
  -- An activity's earlier attempts, released when a later one starts: workflow id / activity id.
  activity_key     text,
  attempt          int,
  counters         jsonb NOT NULL,
  reserved_usd     numeric(18, 8) NOT NULL,
  reserved_tokens  bigint NOT NULL,
  spent_usd        numeric(18, 8),
  spent_tokens     bigint,
  state            text NOT NULL CHECK (state IN ('reserved', 'settled', 'released')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  settled_at       timestamptz
);
CREATE INDEX gateway_reservations_activity_idx ON gateway_reservations (activity_key, attempt) WHERE state = 'reserved';
CREATE INDEX gateway_reservations_stale_idx ON gateway_reservations (created_at) WHERE state = 'reserved';
