-- What-if forks: a task started again from one of its steps with some changes (another model,
-- prompt versions, a new input, other retrieval options). The fork is a task of its own (a
-- `tasks` row, its own workflow); this records where it came from.
CREATE TABLE task_forks (
  id               text PRIMARY KEY,
  tenant_id        text NOT NULL REFERENCES tenants (id),
  original_task_id text NOT NULL,
  fork_task_id     text NOT NULL UNIQUE,
  at_step          int NOT NULL CHECK (at_step >= 0),
  -- The changes as asked, the new input's text left out (`"input": true` says it changed).
  changes          jsonb NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_forks_original_idx ON task_forks (tenant_id, original_task_id, created_at DESC);

-- The original's recorded activity results a fork's steps before its fork point are served
-- from: each call's result payload exactly as it is in the original's history — still
-- encrypted by the payload codec, so nothing here is plaintext.
CREATE TABLE fork_recorded_calls (
  fork_id       text NOT NULL REFERENCES task_forks (id) ON DELETE CASCADE,
  activity_type text NOT NULL,
  occurrence    int NOT NULL,
  -- The temporal.api.common.v1.Payload, protobuf-encoded; NULL when the call failed.
  payload       bytea,
  failure_type  text,
  PRIMARY KEY (fork_id, activity_type, occurrence)
);
