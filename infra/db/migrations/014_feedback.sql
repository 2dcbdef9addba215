-- Feedback on answers (POST /v1/tasks/{id}/feedback): one row per rating, with the model and the
-- prompt version that produced the answer, the score normalised to [0, 1] and the comment with
-- its PII masked (class placeholders). A feedback is also a preference for the learned router
-- (source 'feedback': the answer's model against the reference player `human`).
CREATE TABLE feedback (
  id             bigserial PRIMARY KEY,
  tenant_id      text NOT NULL REFERENCES tenants (id),
  task_id        text NOT NULL,
  turn           int NOT NULL CHECK (turn >= 1),
  score          double precision NOT NULL CHECK (score >= 0 AND score <= 1),
  rating         jsonb NOT NULL,
  comment        text,
  source         text NOT NULL CHECK (source IN ('end_user', 'backend')),
  model          text,
  prompt_name    text,
  prompt_version int,
  created_by     text,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feedback_task_idx ON feedback (tenant_id, task_id, id);
CREATE INDEX feedback_prompt_idx ON feedback (tenant_id, prompt_name, prompt_version);

ALTER TABLE model_preferences DROP CONSTRAINT model_preferences_source_check;
ALTER TABLE model_preferences ADD CONSTRAINT model_preferences_source_check CHECK (source IN ('review', 'ab', 'judge', 'feedback'));
