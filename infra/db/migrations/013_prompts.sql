-- Versioned prompts (activities/prompts/). Version 1 of every prompt is the text in code; a
-- tenant's stored versions start at 2. prompt_deployments says which version is in force per
-- tenant and prompt: the active one, and optionally a candidate taking a share (0–100 %) of the
-- tasks, picked by a hash of the task id so every attempt of a task uses the same one. A
-- version's status (active, candidate, inactive) is read from that row, never stored twice.
CREATE TABLE prompt_versions (
  tenant_id   text NOT NULL REFERENCES tenants (id),
  name        text NOT NULL,
  version     int NOT NULL CHECK (version >= 2),
  template    text NOT NULL,
  description text,
  created_by  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name, version)
);

CREATE TABLE prompt_deployments (
  tenant_id         text NOT NULL REFERENCES tenants (id),
  name              text NOT NULL,
  active_version    int NOT NULL,
  candidate_version int,
  candidate_share   double precision NOT NULL DEFAULT 0 CHECK (candidate_share >= 0 AND candidate_share <= 100),
  updated_by        text,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name),
  CHECK (candidate_version IS NULL OR candidate_version <> active_version)
);

-- A task's pinned versions (its options' promptVersions), written by the API with the task:
-- the activities read them from here, so no workflow carries them to each activity.
ALTER TABLE tasks ADD COLUMN prompt_versions jsonb;

-- Which prompt version each model call used: the comparisons read the ledger.
ALTER TABLE model_usage ADD COLUMN prompt_name text, ADD COLUMN prompt_version int;
CREATE INDEX model_usage_prompt_idx ON model_usage (tenant_id, prompt_name, prompt_version) WHERE prompt_name IS NOT NULL;
