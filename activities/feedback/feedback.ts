// Feedback on answers: stored with what produced the answer (its model and prompt version, read
// from the usage ledger), counted into the metrics, summarised by prompt version or model, and
// turned into a routing preference (the answer's model against the reviewer reference player,
// as a review decision is). A comment is free text: its PII is masked by class before it is
// stored, and it is never logged.
import { REVIEWER_PLAYER, type Preference } from '../../contracts/preferences.js';
import { promptLabel, type PromptName, type PromptUse } from '../../contracts/prompts.js';
import { normalisedScore, verdictOf, type FeedbackSource, type FeedbackVerdict } from '../../contracts/feedback.js';
import type { Db } from '../../infra/db/pool.js';
import { label, metrics } from '../../infra/metrics.js';
import { maskPiiByClass } from '../guardrails/pii.js';

/** Which answer of a task was rated, and what wrote it. */
export interface AnswerProvenance {
  model?: string;
  prompt?: PromptUse;
}

export interface FeedbackRecord {
  id: string;
  taskId: string;
  turn: number;
  score: number;
  verdict: FeedbackVerdict;
  rating: { score?: number; thumbs?: 'up' | 'down' };
  comment?: string;
  source: FeedbackSource;
  model?: string;
  prompt?: PromptUse;
  createdAt: string;
}

/** The steps whose model call writes a task's answer: an answer task's generation, an agent's turn. */
const ANSWER_STEPS = ['generate', 'decide'];

/**
 * The model and prompt version of a task's latest answer, from the usage ledger (its own calls
 * and its sub-tasks': an answer routed to an agent is written by `<task>.agent`). A task uses one
 * version of each prompt throughout (the version is picked per task), so every answer of an
 * agent task shares it; the model is the one that answered last.
 */
export async function answerProvenance(db: Db, tenantId: string, taskId: string): Promise<AnswerProvenance> {
  const { rows } = await db.query<{ model: string; prompt_name: string | null; prompt_version: number | null }>(
    `SELECT model, prompt_name, prompt_version FROM model_usage
      WHERE tenant_id = $1 AND (task_id = $2 OR left(task_id, length($2) + 1) = $2 || '.') AND step = ANY($3) AND outcome IN ('ok', 'cache_hit')
      ORDER BY id DESC LIMIT 1`,
    [tenantId, taskId, ANSWER_STEPS],
  );
  const r = rows[0];
  if (!r) return {};
  return { model: r.model, ...(r.prompt_name && r.prompt_version ? { prompt: { name: r.prompt_name as PromptName, version: r.prompt_version } } : {}) };
}

export async function recordFeedback(
  db: Db,
  f: { tenantId: string; taskId: string; turn: number; rating: { score?: number; thumbs?: 'up' | 'down' }; comment?: string; source: FeedbackSource; createdBy?: string } & AnswerProvenance,
): Promise<FeedbackRecord> {
  const score = normalisedScore(f.rating);
  const comment = f.comment === undefined ? undefined : maskPiiByClass(f.comment);
  const { rows } = await db.query<{ id: string; created_at: Date }>(
    `INSERT INTO feedback (tenant_id, task_id, turn, score, rating, comment, source, model, prompt_name, prompt_version, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id::text, created_at`,
    [f.tenantId, f.taskId, f.turn, score, JSON.stringify(f.rating), comment ?? null, f.source, f.model ?? null, f.prompt?.name ?? null, f.prompt?.version ?? null, f.createdBy ?? null],
  );
  const verdict = verdictOf(score);
  const labels = { prompt_version: label(f.prompt && promptLabel(f.prompt)), model: label(f.model), tenant: f.tenantId };
  metrics.feedback.inc({ ...labels, verdict });
  metrics.feedbackScore.observe(labels, score);
  return {
    id: rows[0]!.id,
    taskId: f.taskId,
    turn: f.turn,
    score,
    verdict,
    rating: f.rating,
    ...(comment !== undefined ? { comment } : {}),
    source: f.source,
    ...(f.model ? { model: f.model } : {}),
    ...(f.prompt ? { prompt: f.prompt } : {}),
    createdAt: rows[0]!.created_at.toISOString(),
  };
}

export async function listFeedback(db: Db, tenantId: string, taskId: string): Promise<FeedbackRecord[]> {
  const { rows } = await db.query<{
    id: string; task_id: string; turn: number; score: number; rating: FeedbackRecord['rating']; comment: string | null; source: FeedbackSource;
    model: string | null; prompt_name: string | null; prompt_version: number | null; created_at: Date;
  }>(
    `SELECT id::text, task_id, turn, score, rating, comment, source, model, prompt_name, prompt_version, created_at
       FROM feedback WHERE tenant_id = $1 AND task_id = $2 ORDER BY id`,
    [tenantId, taskId],
  );
  return rows.map((r) => ({
    id: r.id,
    taskId: r.task_id,
    turn: r.turn,
    score: r.score,
    verdict: verdictOf(r.score),
    rating: r.rating,
    ...(r.comment !== null ? { comment: r.comment } : {}),
    source: r.source,
    ...(r.model ? { model: r.model } : {}),
    ...(r.prompt_name && r.prompt_version ? { prompt: { name: r.prompt_name as PromptName, version: r.prompt_version } } : {}),
    createdAt: r.created_at.toISOString(),
  }));
}

/** One group of a summary: how many ratings, their mean score, and how they split. */
export interface FeedbackTally {
  count: number;
  meanScore: number;
  positive: number;
  neutral: number;
  negative: number;
}

const TALLY = `count(*)::int AS count, avg(score) AS mean_score,
  count(*) FILTER (WHERE score >= 0.75)::int AS positive, count(*) FILTER (WHERE score > 0.25 AND score < 0.75)::int AS neutral,
  count(*) FILTER (WHERE score <= 0.25)::int AS negative`;

type TallyRow = { count: number; mean_score: number; positive: number; neutral: number; negative: number };
const tally = (r: TallyRow): FeedbackTally => ({ count: r.count, meanScore: Math.round(Number(r.mean_score) * 1e4) / 1e4, positive: r.positive, neutral: r.neutral, negative: r.negative });

/**
 * A tenant's feedback by the prompt version that wrote each answer (the answer prompt of its
 * task type: answer.system, agent.system): what `npm run eval` and GET /v1/feedback/summary
 * report. Answers no versioned prompt wrote (none recorded) are the group with no prompt.
 */
export async function feedbackByPromptVersion(db: Db, tenantId: string): Promise<Array<{ prompt: string | null; version: number | null; label: string | null } & FeedbackTally>> {
  const { rows } = await db.query<TallyRow & { prompt_name: string | null; prompt_version: number | null }>(
    `SELECT prompt_name, prompt_version, ${TALLY} FROM feedback WHERE tenant_id = $1 GROUP BY prompt_name, prompt_version ORDER BY prompt_name NULLS LAST, prompt_version`,
    [tenantId],
  );
  return rows.map((r) => ({
    prompt: r.prompt_name,
    version: r.prompt_version,
    label: r.prompt_name && r.prompt_version ? promptLabel({ name: r.prompt_name as PromptName, version: r.prompt_version }) : null,
    ...tally(r),
  }));
}

/** A tenant's feedback by the model that wrote each answer. */
export async function feedbackByModel(db: Db, tenantId: string): Promise<Array<{ model: string | null } & FeedbackTally>> {
  const { rows } = await db.query<TallyRow & { model: string | null }>(`SELECT model, ${TALLY} FROM feedback WHERE tenant_id = $1 GROUP BY model ORDER BY model NULLS LAST`, [tenantId]);
  return rows.map((r) => ({ model: r.model, ...tally(r) }));
}

/** Feedback on one prompt's versions: what the prompt comparison shows beside the ledger's numbers. */
export async function feedbackForPrompt(db: Db, tenantId: string, name: PromptName): Promise<Map<number, FeedbackTally>> {
  const { rows } = await db.query<TallyRow & { prompt_version: number }>(
    `SELECT prompt_version, ${TALLY} FROM feedback WHERE tenant_id = $1 AND prompt_name = $2 GROUP BY prompt_version`,
    [tenantId, name],
  );
  return new Map(rows.map((r) => [r.prompt_version, tally(r)]));
}

/**
 * A rating as a preference for the learned router, the way a review decision is one: a positive
 * rating ties the answer's model with the reviewer reference player (as an approval does), a
 * negative one is a loss to it (as an edit is); a neutral one says nothing about the model.
 */
export function feedbackPreference(o: { model: string; query: string; score: number; taskId: string }): Preference | undefined {
  const verdict = verdictOf(o.score);
  if (verdict === 'neutral') return undefined;
  return verdict === 'positive'
    ? { query: o.query, winner: o.model, loser: REVIEWER_PLAYER, tie: true, source: 'feedback', taskId: o.taskId }
    : { query: o.query, winner: REVIEWER_PLAYER, loser: o.model, source: 'feedback', taskId: o.taskId };
}
