-- Guardrails: the PII vault, per-tenant guardrail policies (versioned), quarantined
-- untrusted content, and the guarded answer stream.

-- Reversible PII placeholders, scoped to one task. The value is encrypted (AES-256-GCM,
-- key derived from the payload key ring, `key_id` names the key for rotation); `value_mac`
-- (an HMAC of class and value) lets the same value get the same placeholder again within
-- the task without decrypting every row.
CREATE TABLE pii_vault (
  task_id     text NOT NULL,
  placeholder text NOT NULL,
  tenant_id   text NOT NULL REFERENCES tenants (id),
  pii_class   text NOT NULL,
  value_mac   text NOT NULL,
  key_id      text NOT NULL,
  ciphertext  bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (task_id, placeholder),
  UNIQUE (task_id, value_mac)
);

-- A tenant's guardrail policy: every change is a new version; the highest one applies.
CREATE TABLE guardrail_policies (
  tenant_id  text NOT NULL REFERENCES tenants (id),
  version    int NOT NULL,
  document   jsonb NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, version)
);

-- Untrusted text (a retrieved chunk, a tool's output) held back from the model because it
-- looked like an injection: kept for a human to look at, never shown to the model.
CREATE TABLE guardrail_quarantine (
  id          bigserial PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants (id),
  task_id     text NOT NULL,
  source      text NOT NULL,
  source_ref  text,
  signals     text[] NOT NULL,
  score       real NOT NULL,
  excerpt     text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX guardrail_quarantine_tenant_idx ON guardrail_quarantine (tenant_id, created_at DESC);

-- The answer as it is released to the event stream: sentence by sentence, each only after
-- the output checks passed on it; `attempt` changes when a failure policy asks again.
CREATE TABLE answer_stream (
  task_id  text NOT NULL,
  seq      int NOT NULL,
  attempt  int NOT NULL,
  kind     text NOT NULL CHECK (kind IN ('sentence', 'held', 'reset')),
  text     text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (task_id, seq)
);
