-- People: approvals are decided by people, not by keys. A user is a person of one tenant,
-- with roles; they sign in with an OpenID Connect ID token (issuer + subject) or use an API key
-- bound to them. Keys without a user are for backends, which never decide approvals.

CREATE TABLE users (
  id            text PRIMARY KEY,
  tenant_id     text NOT NULL REFERENCES tenants (id),
  name          text NOT NULL,
  email         text,
  oidc_issuer   text,
  oidc_subject  text,
  roles         text[] NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  disabled_at   timestamptz,
  UNIQUE (oidc_issuer, oidc_subject)
);
CREATE INDEX users_tenant_idx ON users (tenant_id);

ALTER TABLE api_keys ADD COLUMN user_id text REFERENCES users (id);
