-- Agents: the action ledger (exactly-once write actions), the approvals index the API lists
-- across tasks, and the outbox that send_email writes to.

-- One row per write action, keyed by (workflow id, approval id). The executor's own write
-- happens in the same transaction as `status = 'completed'`, so a retried activity, a
-- killed worker or an operator's reset finds the row and returns the recorded result
-- instead of acting twice.
CREATE TABLE action_ledger (
  idempotency_key text PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES tenants (id),
  task_id         text NOT NULL,
  approval_id     text NOT NULL,
  tool            text NOT NULL,
  arguments       jsonb NOT NULL,
  arguments_hash  text NOT NULL,
  status          text NOT NULL CHECK (status IN ('completed', 'compensated')),
  result          jsonb NOT NULL,
  approved_by     text[] NOT NULL DEFAULT '{}',
  executed_at     timestamptz NOT NULL DEFAULT now(),
  compensation    jsonb,
  compensated_at  timestamptz
);
CREATE INDEX action_ledger_task_idx ON action_ledger (task_id);

-- The workflow is the source of truth for an approval; this is its index, so a human can
-- list what waits for them across every task without querying each workflow.
CREATE TABLE approvals (
  task_id        text NOT NULL,
  approval_id    text NOT NULL,
  tenant_id      text NOT NULL REFERENCES tenants (id),
  tool           text NOT NULL,
  arguments      jsonb NOT NULL,
  arguments_hash text NOT NULL,
  preview        jsonb NOT NULL,
  rationale      text NOT NULL DEFAULT '',
  provenance     jsonb NOT NULL DEFAULT '[]',
  required_role  text NOT NULL,
  approvals_needed int NOT NULL DEFAULT 1,
  status         text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'superseded', 'executed', 'failed')),
  decided_by     text[] NOT NULL DEFAULT '{}',
  reason         text,
  requested_at   timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL,
  decided_at     timestamptz,
  PRIMARY KEY (task_id, approval_id)
);
CREATE INDEX approvals_pending_idx ON approvals (tenant_id, requested_at) WHERE status = 'pending';

-- Emails wait here for delivery (an SMTP adapter when configured; otherwise they stay here,
-- visible, which is what the demo shows).
CREATE TABLE outbox (
  id              bigserial PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES tenants (id),
  idempotency_key text NOT NULL UNIQUE,
  to_address      text NOT NULL,
  subject         text NOT NULL,
  body            text NOT NULL,
  status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  sent_at         timestamptz
);

-- Approval policies per tenant and tool; tools without a row use the defaults in
-- activities/agent/policy.ts (writes: always ask one approver; high-risk: two).
CREATE TABLE approval_policies (
  tenant_id        text NOT NULL REFERENCES tenants (id),
  tool             text NOT NULL,
  mode             text NOT NULL CHECK (mode IN ('never', 'always', 'threshold')),
  threshold_field  text,                      -- threshold: ask only when arguments[field] > threshold
  threshold        numeric,
  approvals_needed int NOT NULL DEFAULT 1 CHECK (approvals_needed IN (1, 2)),
  required_role    text NOT NULL DEFAULT 'approvals:write',
  PRIMARY KEY (tenant_id, tool),
  CHECK (mode <> 'threshold' OR (threshold_field IS NOT NULL AND threshold IS NOT NULL))
);
