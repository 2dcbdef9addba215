-- What the caches save, in the usage ledger: a call served from Gatehouse's own cache is a row
-- with no tokens and no cost whose saved_usd is what the original call cost; prompt_prefix is the
-- hash of a call's stable prefix (system prompt and tool schemas), so the provider's prompt-cache
-- hit ratio can be reported per prefix.
ALTER TABLE model_usage
  ADD COLUMN saved_usd numeric(14, 8) NOT NULL DEFAULT 0,
  ADD COLUMN prompt_prefix text;
CREATE INDEX model_usage_prompt_prefix_idx ON model_usage (tenant_id, prompt_prefix) WHERE prompt_prefix IS NOT NULL;
