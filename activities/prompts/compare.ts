// A prompt's versions side by side on the same numbers, read from the usage ledger (every model
// call records the version it used) and the feedback table: tasks, calls, failures, latency
// percentiles, tokens, cost and feedback. A candidate taking a share of the traffic is compared
// with the active version over the same period and the same kinds of task.
import type { PromptName } from '../../contracts/prompts.js';
import type { Db } from '../../infra/db/pool.js';
import { feedbackForPrompt, type FeedbackTally } from '../feedback/feedback.js';

export interface PromptVersionNumbers {
  version: number;
  tasks: number;
  calls: number;
  /** Attempts that failed (rate limits, timeouts, malformed replies, …) over all attempts. */
  failureRate: number;
  latencyMs: { p50: number | null; p95: number | null };
  tokens: { input: number; output: number };
  costUsd: number;
  costPerTaskUsd: number | null;
  feedback: FeedbackTally | null;
}

export async function comparePromptVersions(db: Db, tenantId: string, name: PromptName, o: { sinceHours?: number } = {}): Promise<PromptVersionNumbers[]> {
  const { rows } = await db.query<{
    version: number; tasks: number; calls: number; failures: number; attempts: number; p50: number | null; p95: number | null;
    input_tokens: string; output_tokens: string; cost_usd: string;
  }>(
    `SELECT prompt_version AS version,
            count(DISTINCT split_part(task_id, '.', 1))::int AS tasks,
            count(*) FILTER (WHERE outcome IN ('ok', 'cache_hit'))::int AS calls,
            count(*) FILTER (WHERE outcome NOT IN ('ok', 'cache_hit'))::int AS failures,
            count(*)::int AS attempts,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE outcome = 'ok') AS p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE outcome = 'ok') AS p95,
            coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens, coalesce(sum(cost_usd), 0) AS cost_usd
       FROM model_usage
      WHERE tenant_id = $1 AND prompt_name = $2 AND ($3::double precision IS NULL OR at > now() - make_interval(secs => $3 * 3600))
      GROUP BY prompt_version ORDER BY prompt_version`,
    [tenantId, name, o.sinceHours ?? null],
  );
  const feedback = await feedbackForPrompt(db, tenantId, name);
  const versions = [...new Set([...rows.map((r) => r.version), ...feedback.keys()])].sort((a, b) => a - b);
  return versions.map((version) => {
    const r = rows.find((x) => x.version === version);
    const cost = Number(r?.cost_usd ?? 0);
    const tasks = r?.tasks ?? 0;
    return {
      version,
      tasks,
      calls: r?.calls ?? 0,
      failureRate: r?.attempts ? Math.round((r.failures / r.attempts) * 1e4) / 1e4 : 0,
      latencyMs: { p50: r?.p50 ?? null, p95: r?.p95 ?? null },
      tokens: { input: Number(r?.input_tokens ?? 0), output: Number(r?.output_tokens ?? 0) },
      costUsd: Math.round(cost * 1e8) / 1e8,
      costPerTaskUsd: tasks ? Math.round((cost / tasks) * 1e8) / 1e8 : null,
      feedback: feedback.get(version) ?? null,
    };
  });
}
