-- A tenant's routing document (activities/router/document.ts): intents with labeled examples
-- and where each one goes. Every change is a new version; the highest one applies, and every
-- task records the version and the route it took.
CREATE TABLE routing_documents (
  tenant_id  text NOT NULL REFERENCES tenants (id),
  version    int NOT NULL,
  document   jsonb NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, version)
);
