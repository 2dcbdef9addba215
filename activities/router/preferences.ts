// The preference router: which model to send a query to, learned from pairwise preferences.
// record() stores a judgement with the query's embedding; fit() clusters the tenant's queries
// (clusters.ts) and fits Bradley–Terry strengths per cluster (bradley-terry.ts), stored as a
// new version; choose() puts a query in its cluster and picks the cheapest candidate expected
// to do as well as the strongest one there.
//
// The prior is hierarchical: a pooled fit over all of the tenant's preferences (itself shrunk
// toward "all models equal" by one pseudo-comparison a pair), then each cluster's fit shrunk
// toward the pooled one (CLUSTER_PRIOR pseudo-comparisons a pair, split by the pooled
// prediction). A cluster with few preferences routes like the tenant as a whole; a pair no one
// compared in a cluster takes the pooled difference; a tenant with none routes to the strongest.
//
// "Doing as well as the strongest" is winProbability: P(m beats the strongest) under the
// cluster's fit, ties counted as half a win — m's expected score against the strongest (1 a
// win, ½ a tie). It is ½ for the strongest itself and for any model as good, so a threshold
// lives in [0, ½]: 0.45 means "expected to lose to the strongest at most 10 points more often
// than it wins". We use that rather than P(not beaten), which needs a tie model (Davidson's)
// with a parameter few preferences can pin down; the expected score is what the data measure.
import pgvector from 'pgvector';
import { REVIEWER_PLAYER, type Preference } from '../../contracts/preferences.js';
import type { Db } from '../../infra/db/pool.js';
import { toVectorParam } from '../../infra/db/pool.js';
import type { Logger } from '../../infra/logger.js';
import { maskPiiByClass } from '../guardrails/pii.js';
import { DEFAULT_GUARDRAIL_POLICY } from '../guardrails/policy.js';
import { PII_CLASSES } from '../guardrails/types.js';
import type { Embedder } from '../retrieval/embedder.js';
import { fitBradleyTerry, winProbability, type Comparison, type Strengths } from './bradley-terry.js';
import { defaultClusterCount, kMeans, nearestCentroid } from './clusters.js';

export { REVIEWER_PLAYER, type Preference };

/** Pseudo-comparisons per pair pulling a cluster's fit toward the pooled one. */
export const CLUSTER_PRIOR = 2;
/** Pseudo-comparisons per pair pulling the pooled fit toward "all equal". */
export const POOLED_PRIOR = 1;
/** A refit reads at most this many of the newest preferences. */
const MAX_FIT_PREFERENCES = 50_000;

/** What fit() stores (model_router_fits.model). */
export interface FittedRouter {
  embedder: string;
  players: string[];
  pooled: Strengths;
  clusters: Array<{ size: number; centroid: number[]; strengths: Strengths }>;
}

export interface RouterFit {
  version: number;
  preferences: number;
  createdAt: string;
  model: FittedRouter;
}

export interface RouteCandidate {
  model: string;
  /** A blended price per million tokens: only the order matters. */
  costPerMTok: number;
}

export interface ChooseInput {
  query: string;
  candidates: RouteCandidate[];
  /** Lowest winProbability a cheaper model needs, in [0, ½] (see the top of this file). */
  threshold: number;
  /** Shadow mode: compute and log the choice, but return the strongest as the model to call. */
  shadow?: boolean;
}

export interface RouteChoice {
  /** The model to call: the learned choice, or the strongest in shadow mode. */
  model: string;
  /** What the learned routing picks (equals `model` unless shadow). */
  chosen: string;
  /** The candidate with the highest strength in the query's cluster (the most expensive without a fit). */
  strongest: string;
  /** The query's cluster in the fit; null without one. */
  cluster: number | null;
  /** Per candidate the fit knows: P(it beats the strongest), ties as half. */
  winProbability: Record<string, number>;
  fitVersion: number | null;
  shadow: boolean;
  /** Why the choice is the fallback, when it is. */
  fallback?: 'no_fit' | 'no_known_candidate';
}

export class PreferenceRouterError extends Error {
  constructor(
    readonly code: 'no_preferences' | 'invalid_preference' | 'invalid_choice',
    message: string,
  ) {
    super(message);
  }
}

export interface PreferenceRouterOptions {
  /** Clusters for a tenant with n preferences (default: defaultClusterCount). */
  clusters?: (n: number) => number;
  /** How long a fitted model is cached in memory (default 5 s). */
  ttlMs?: number;
  log?: Logger;
}

export class PreferenceRouter {
  private readonly cache = new Map<string, { fit: RouterFit | null; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly embedder: Embedder,
    private readonly opts: PreferenceRouterOptions = {},
  ) {}

  /**
   * Store one judgement, with its query's embedding so a refit needn't embed again. The query
   * is kept with its PII replaced by class placeholders, as a reviewed task's already is.
   */
  async record(tenantId: string, p: Preference & { createdBy?: string }): Promise<{ id: string }> {
    if (!p.winner || !p.loser || p.winner === p.loser) throw new PreferenceRouterError('invalid_preference', 'winner and loser must be two different models');
    if (p.weight !== undefined && !(p.weight > 0)) throw new PreferenceRouterError('invalid_preference', 'weight must be positive');
    const query = maskPii(p.query);
    const [vector] = await this.embedder.embed([query], 'query');
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO model_preferences (tenant_id, query, embedding, winner, loser, tie, source, task_id, weight, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id::text`,
      [tenantId, query, toVectorParam(vector!), p.winner, p.loser, p.tie ?? false, p.source, p.taskId ?? null, p.weight ?? 1, p.createdBy ?? null],
    );
    return { id: rows[0]!.id };
  }

  /** Cluster the tenant's preferences, fit strengths per cluster, store the result as a new version. */
  async fit(tenantId: string, opts: { k?: number; createdBy?: string } = {}): Promise<RouterFit> {
    const { rows } = await this.db.query<{ embedding: string; winner: string; loser: string; tie: boolean; weight: number }>(
      `SELECT embedding::text AS embedding, winner, loser, tie, weight FROM (
         SELECT * FROM model_preferences WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2
       ) newest ORDER BY id`,
      [tenantId, MAX_FIT_PREFERENCES],
    );
    if (!rows.length) throw new PreferenceRouterError('no_preferences', 'no preferences recorded yet: record some before fitting');
    const model = fitRouter(
      rows.map((r) => ({ vector: pgvector.fromSql(r.embedding) as number[], winner: r.winner, loser: r.loser, tie: r.tie, weight: r.weight })),
      { k: opts.k ?? (this.opts.clusters ?? defaultClusterCount)(rows.length), embedder: this.embedder.id },
    );
    const { rows: saved } = await this.db.query<{ version: number; created_at: Date }>(
      `INSERT INTO model_router_fits (tenant_id, version, model, preferences, created_by)
       SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4 FROM model_router_fits WHERE tenant_id = $1
       RETURNING version, created_at`,
      [tenantId, JSON.stringify(model), rows.length, opts.createdBy ?? null],
    );
    const fit: RouterFit = { version: saved[0]!.version, preferences: rows.length, createdAt: saved[0]!.created_at.toISOString(), model };
    this.cache.set(tenantId, { fit, until: Date.now() + (this.opts.ttlMs ?? 5_000) });
    this.opts.log?.info({ tenantId, version: fit.version, preferences: rows.length, clusters: model.clusters.map((c) => c.size) }, 'preference router fitted');
    return fit;
  }

  /**
   * The newest fit, cached briefly: choose() runs on every routed query. Another process's
   * refit is seen within the cache's lifetime; this process sees its own at once.
   */
  async current(tenantId: string): Promise<RouterFit | null> {
    const hit = this.cache.get(tenantId);
    if (hit && hit.until > Date.now()) return hit.fit;
    const { rows } = await this.db.query<{ version: number; preferences: number; created_at: Date; model: FittedRouter }>(
      'SELECT version, preferences, created_at, model FROM model_router_fits WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1',
      [tenantId],
    );
    const row = rows[0];
    // A fit made with another embedder cannot place this one's vectors (the migrator refuses
    // a changed embedder, but a fit is cheap to redo and a wrong cluster is silent).
    const fit = row && row.model.embedder === this.embedder.id ? { version: row.version, preferences: row.preferences, createdAt: row.created_at.toISOString(), model: row.model } : null;
    this.cache.set(tenantId, { fit, until: Date.now() + (this.opts.ttlMs ?? 5_000) });
    return fit;
  }

  async choose(tenantId: string, input: ChooseInput): Promise<RouteChoice> {
    const fit = await this.current(tenantId);
    const vector = fit ? (await this.embedder.embed([input.query], 'query'))[0]! : undefined;
    const choice = chooseModel(fit, vector, input);
    if (choice.shadow) {
      this.opts.log?.info({ tenantId, chosen: choice.chosen, strongest: choice.strongest, cluster: choice.cluster, fitVersion: choice.fitVersion, winProbability: choice.winProbability }, 'preference router (shadow): would have chosen');
    }
    return choice;
  }
}

// What the default input policy masks or blocks (identifiers, contact details, credentials);
// names and addresses pass, as they do into a task. A routing preference needs the kind of
// question, never the values in it.
const MASKED_CLASSES = PII_CLASSES.filter((c) => DEFAULT_GUARDRAIL_POLICY.pii.input[c] !== 'allow');

const maskPii = (text: string) => maskPiiByClass(text, MASKED_CLASSES);

/** The preference a reviewer's decision on a model's answer amounts to (contracts/preferences.ts's REVIEWER_PLAYER). */
export function reviewPreference(o: { decision: 'approve' | 'edit'; model: string; query: string; taskId: string }): Preference {
  return o.decision === 'approve'
    ? { query: o.query, winner: o.model, loser: REVIEWER_PLAYER, tie: true, source: 'review', taskId: o.taskId }
    : { query: o.query, winner: REVIEWER_PLAYER, loser: o.model, source: 'review', taskId: o.taskId };
}

/** fit() without the database: clusters and strengths from embedded comparisons. */
export function fitRouter(prefs: Array<Comparison & { vector: ArrayLike<number> }>, o: { k: number; embedder: string; seed?: number }): FittedRouter {
  const players = [...new Set(prefs.flatMap((p) => [p.winner, p.loser]))].sort();
  const pooled = fitBradleyTerry(players, prefs, { prior: POOLED_PRIOR });
  const clustering = kMeans(
    prefs.map((p) => p.vector),
    { k: o.k, seed: o.seed },
  );
  const clusters = clustering.centroids.map((centroid, c) => ({
    size: clustering.sizes[c]!,
    // Six decimals are far below the distances that separate clusters, and halve the row.
    centroid: Array.from(centroid, (x) => Math.round(x * 1e6) / 1e6),
    strengths: fitBradleyTerry(
      players,
      prefs.filter((_, i) => clustering.assignments[i] === c),
      { prior: CLUSTER_PRIOR, priorP: (a, b) => winProbability(pooled, a, b) },
    ),
  }));
  return { embedder: o.embedder, players, pooled, clusters };
}

/** choose() without the database: the route for one embedded query under a fit (or none). */
export function chooseModel(fit: RouterFit | null, vector: ArrayLike<number> | undefined, input: ChooseInput): RouteChoice {
  if (!input.candidates.length) throw new PreferenceRouterError('invalid_choice', 'candidates: at least one model');
  if (!(input.threshold >= 0 && input.threshold <= 0.5)) throw new PreferenceRouterError('invalid_choice', 'threshold: between 0 and 0.5 (P(beats the strongest), ties as half)');
  const shadow = input.shadow ?? false;
  // Cheapest first; at one price, the name decides, so the order never depends on the input's.
  const byCost = [...input.candidates].sort((a, b) => a.costPerMTok - b.costPerMTok || a.model.localeCompare(b.model));
  const dearest = byCost[byCost.length - 1]!.model;
  const fallback = (reason: RouteChoice['fallback'], cluster: number | null): RouteChoice => ({
    model: dearest,
    chosen: dearest,
    strongest: dearest,
    cluster,
    winProbability: {},
    fitVersion: fit?.version ?? null,
    shadow,
    fallback: reason,
  });
  if (!fit || !vector || !fit.model.clusters.length) return fallback('no_fit', null);
  const cluster = nearestCentroid(
    fit.model.clusters.map((c) => c.centroid),
    vector,
  );
  const strengths = fit.model.clusters[cluster]!.strengths;
  // Only models the preferences ever named can be predicted; the others are not routed to.
  const known = byCost.filter((c) => strengths[c.model] !== undefined);
  if (!known.length) return fallback('no_known_candidate', cluster);
  // The strongest: highest strength; at equal strength, the dearer (the safe side).
  const strongest = known.reduce((best, c) => (strengths[c.model]! >= strengths[best.model]! ? c : best)).model;
  const p = Object.fromEntries(known.map((c) => [c.model, winProbability(strengths, c.model, strongest)]));
  // The strongest scores exactly ½ against itself, so some candidate always qualifies.
  const chosen = known.find((c) => p[c.model]! >= input.threshold)?.model ?? strongest;
  return { model: shadow ? strongest : chosen, chosen, strongest, cluster, winProbability: p, fitVersion: fit.version, shadow };
}
