-- The prompt cache's share of a call's input: input_tokens counts every input token, cached
-- ones included (whatever the provider); these say how many were read from the provider's
-- cache and how many written to it, priced at their own rates in cost_usd.
ALTER TABLE model_usage
  ADD COLUMN cached_read_tokens int NOT NULL DEFAULT 0,
  ADD COLUMN cache_write_tokens int NOT NULL DEFAULT 0;
