// A tenant's prompt versions, and the one a model call uses. Version 1 is the built-in text
// (catalog.ts); stored versions (2, 3, …) are created by an admin and put in force by activating
// them: as the active version, or as a candidate taking a share of the tasks (pick.ts). A task
// that pins a version (its options' promptVersions, kept in its tasks row) gets that one.
//
// Reads are cached briefly per process (a routed call happens on every step): an activation is
// seen by other workers within DEPLOYMENT_TTL_MS, a task's pins never change.
import { ApplicationFailure } from '@temporalio/common';
import { BUILTIN_PROMPT_VERSION, PROMPT_NAMES, type PromptName, type PromptUse } from '../../contracts/prompts.js';
import type { Db } from '../../infra/db/pool.js';
import { rootTaskId } from '../gateway/limits/admission.js';
import { BUILTIN_PROMPTS } from './catalog.js';
import { takesCandidate } from './pick.js';
import { renderTemplate, templateProblems } from './template.js';

/** A prompt as one call uses it: which version, and its template. */
export interface ResolvedPrompt extends PromptUse {
  template: string;
}

/** Where a call comes from: its tenant and task pick the version. */
export interface PromptScope {
  tenantId?: string;
  taskId?: string;
}

export interface PromptDeployment {
  activeVersion: number;
  candidateVersion?: number;
  candidateShare: number;
}

export interface PromptVersionRow {
  version: number;
  template: string;
  description?: string;
  createdBy?: string;
  createdAt?: string;
  status: 'active' | 'candidate' | 'inactive';
  /** A candidate's share of the tasks, in percent. */
  share?: number;
  builtin: boolean;
}

export class PromptVersionError extends Error {
  constructor(
    readonly code: 'invalid_template' | 'unknown_version',
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const DEPLOYMENT_TTL_MS = 5_000;
const UNIQUE_VIOLATION = '23505';
const PIN_CACHE_SIZE = 1_000;

export const builtinPrompt = (name: PromptName): ResolvedPrompt => ({ name, version: BUILTIN_PROMPT_VERSION, template: BUILTIN_PROMPTS[name].template });

/** What a call records of its prompt: the name and version, not the text. */
export const promptUse = (p: ResolvedPrompt): PromptUse => ({ name: p.name, version: p.version });

/** A resolved prompt with its variables filled in. */
export function renderPrompt(prompt: ResolvedPrompt, values?: Record<string, string | number>): string {
  return renderTemplate(prompt.template, values);
}

/** Where a call's prompt comes from: the store, or (no database) the built-in texts. */
export interface PromptSource {
  resolve(name: PromptName, scope: PromptScope): Promise<ResolvedPrompt>;
}

export const BUILTIN_PROMPT_SOURCE: PromptSource = { resolve: async (name) => builtinPrompt(name) };

/** The prompt for a call through a gateway that may carry no store (a test's fake, the API's narrow view). */
export function resolvePrompt(from: { prompts?: PromptSource } | undefined, name: PromptName, scope: PromptScope): Promise<ResolvedPrompt> {
  return (from?.prompts ?? BUILTIN_PROMPT_SOURCE).resolve(name, scope);
}

// One cache per process, not per store: the API's activation is seen at once by the worker's
// gateway in the same process (`npm start`); other processes see it within DEPLOYMENT_TTL_MS.
const deploymentCache = new Map<string, { deployment: PromptDeployment | null; until: number }>();
const pinCache = new Map<string, Record<string, number>>();
const templateCache = new Map<string, string>();

export class PromptStore implements PromptSource {
  private readonly deployments = deploymentCache;
  private readonly pins = pinCache;
  private readonly templates = templateCache;

  constructor(private readonly db: Db) {}

  /**
   * The version this call uses: the task's pin, else the candidate when the task falls in its
   * share, else the active version, else the built-in one. A pin to a version that does not
   * exist is refused (the API checks pins when the task starts; a deleted tenant would get here).
   */
  async resolve(name: PromptName, scope: PromptScope): Promise<ResolvedPrompt> {
    if (!scope.tenantId) return builtinPrompt(name);
    const pinned = scope.taskId ? (await this.pinsOf(scope.taskId))[name] : undefined;
    if (pinned !== undefined) return this.version(scope.tenantId, name, pinned);
    const deployment = await this.deployment(scope.tenantId, name);
    if (!deployment) return builtinPrompt(name);
    const candidate = deployment.candidateVersion !== undefined && scope.taskId && takesCandidate(scope.taskId, name, deployment.candidateShare);
    return this.version(scope.tenantId, name, candidate ? deployment.candidateVersion! : deployment.activeVersion);
  }

  private async version(tenantId: string, name: PromptName, version: number): Promise<ResolvedPrompt> {
    if (version === BUILTIN_PROMPT_VERSION) return builtinPrompt(name);
    const key = `${tenantId}\u0000${name}\u0000${version}`;
    let template = this.templates.get(key);
    if (template === undefined) {
      const { rows } = await this.db.query<{ template: string }>('SELECT template FROM prompt_versions WHERE tenant_id = $1 AND name = $2 AND version = $3', [tenantId, name, version]);
      if (!rows[0]) throw ApplicationFailure.nonRetryable(`prompt ${name} has no version ${version}`, 'UnknownPromptVersion');
      template = rows[0].template;
      // A version never changes once stored: kept for the process's life.
      this.templates.set(key, template);
    }
    return { name, version, template };
  }

  private async pinsOf(taskId: string): Promise<Record<string, number>> {
    const root = rootTaskId(taskId);
    const known = this.pins.get(root);
    if (known) return known;
    const { rows } = await this.db.query<{ prompt_versions: Record<string, number> | null }>('SELECT prompt_versions FROM tasks WHERE id = $1', [root]);
    const pins = rows[0]?.prompt_versions ?? {};
    if (this.pins.size >= PIN_CACHE_SIZE) this.pins.delete(this.pins.keys().next().value!);
    this.pins.set(root, pins);
    return pins;
  }

  async deployment(tenantId: string, name: PromptName): Promise<PromptDeployment | null> {
    const key = `${tenantId}\u0000${name}`;
    const hit = this.deployments.get(key);
    if (hit && hit.until > Date.now()) return hit.deployment;
    const { rows } = await this.db.query<{ active_version: number; candidate_version: number | null; candidate_share: number }>(
      'SELECT active_version, candidate_version, candidate_share FROM prompt_deployments WHERE tenant_id = $1 AND name = $2',
      [tenantId, name],
    );
    const row = rows[0];
    const deployment = row ? { activeVersion: row.active_version, candidateVersion: row.candidate_version ?? undefined, candidateShare: row.candidate_share } : null;
    this.deployments.set(key, { deployment, until: Date.now() + DEPLOYMENT_TTL_MS });
    return deployment;
  }

  // --- what the API calls -------------------------------------------------------------------

  /** Every prompt with the version in force for the tenant. */
  async list(tenantId: string): Promise<Array<{ name: PromptName; description: string; variables: string[]; versions: number } & PromptDeployment>> {
    const { rows: deployed } = await this.db.query<{ name: string; active_version: number; candidate_version: number | null; candidate_share: number }>(
      'SELECT name, active_version, candidate_version, candidate_share FROM prompt_deployments WHERE tenant_id = $1',
      [tenantId],
    );
    const { rows: counts } = await this.db.query<{ name: string; n: number }>('SELECT name, count(*)::int AS n FROM prompt_versions WHERE tenant_id = $1 GROUP BY name', [tenantId]);
    return PROMPT_NAMES.map((name) => {
      const d = deployed.find((r) => r.name === name);
      return {
        name,
        description: BUILTIN_PROMPTS[name].description,
        variables: Object.keys(BUILTIN_PROMPTS[name].variables),
        versions: 1 + (counts.find((c) => c.name === name)?.n ?? 0),
        activeVersion: d?.active_version ?? BUILTIN_PROMPT_VERSION,
        ...(d?.candidate_version ? { candidateVersion: d.candidate_version } : {}),
        candidateShare: d?.candidate_version ? d.candidate_share : 0,
      };
    });
  }

  async versions(tenantId: string, name: PromptName): Promise<PromptVersionRow[]> {
    const { rows } = await this.db.query<{ version: number; template: string; description: string | null; created_by: string | null; created_at: Date }>(
      'SELECT version, template, description, created_by, created_at FROM prompt_versions WHERE tenant_id = $1 AND name = $2 ORDER BY version',
      [tenantId, name],
    );
    this.deployments.delete(`${tenantId}\u0000${name}`);
    const d = await this.deployment(tenantId, name);
    const statusOf = (version: number): Pick<PromptVersionRow, 'status' | 'share'> =>
      d?.candidateVersion === version
        ? { status: 'candidate', share: d.candidateShare }
        : (d?.activeVersion ?? BUILTIN_PROMPT_VERSION) === version
          ? { status: 'active', ...(d?.candidateVersion !== undefined ? { share: 100 - d.candidateShare } : {}) }
          : { status: 'inactive' };
    const builtin = BUILTIN_PROMPTS[name];
    return [
      { version: BUILTIN_PROMPT_VERSION, template: builtin.template, description: builtin.description, builtin: true, ...statusOf(BUILTIN_PROMPT_VERSION) },
      ...rows.map((r) => ({
        version: r.version,
        template: r.template,
        ...(r.description ? { description: r.description } : {}),
        ...(r.created_by ? { createdBy: r.created_by } : {}),
        createdAt: r.created_at.toISOString(),
        builtin: false,
        ...statusOf(r.version),
      })),
    ];
  }

  /** A new version (the next number), its template checked against the prompt's variables. Not in force until activated. */
  async create(tenantId: string, name: PromptName, o: { template: string; description?: string; createdBy?: string }): Promise<{ version: number }> {
    const problems = templateProblems(o.template, BUILTIN_PROMPTS[name].variables);
    if (problems.length) throw new PromptVersionError('invalid_template', 'template', `body.template: ${problems.join('; ')}`);
    // Two admins creating at once may pick the same next number: the primary key refuses the
    // second, which takes the number after.
    for (let attempt = 1; ; attempt++) {
      try {
        const { rows } = await this.db.query<{ version: number }>(
          `INSERT INTO prompt_versions (tenant_id, name, version, template, description, created_by)
           SELECT $1, $2, coalesce(max(version), 1) + 1, $3, $4, $5 FROM prompt_versions WHERE tenant_id = $1 AND name = $2
           RETURNING version`,
          [tenantId, name, o.template, o.description ?? null, o.createdBy ?? null],
        );
        return { version: rows[0]!.version };
      } catch (err) {
        if ((err as { code?: string }).code !== UNIQUE_VIOLATION || attempt === 3) throw err;
      }
    }
  }

  /**
   * Put a version in force. With share 100 (the default) it becomes the active version and any
   * candidate is dropped; below 100 it becomes the candidate taking that share of the tasks, the
   * active version keeping the rest.
   */
  async activate(tenantId: string, name: PromptName, o: { version: number; share?: number; updatedBy?: string }): Promise<PromptDeployment> {
    if (o.version !== BUILTIN_PROMPT_VERSION) {
      const { rowCount } = await this.db.query('SELECT 1 FROM prompt_versions WHERE tenant_id = $1 AND name = $2 AND version = $3', [tenantId, name, o.version]);
      if (!rowCount) throw new PromptVersionError('unknown_version', 'version', `body.version: prompt ${name} has no version ${o.version}`);
    }
    const share = o.share ?? 100;
    const current = (await this.deployment(tenantId, name)) ?? { activeVersion: BUILTIN_PROMPT_VERSION, candidateShare: 0 };
    const next: PromptDeployment =
      share >= 100 || o.version === current.activeVersion
        ? { activeVersion: o.version, candidateShare: 0 }
        : { activeVersion: current.activeVersion, candidateVersion: o.version, candidateShare: share };
    await this.db.query(
      `INSERT INTO prompt_deployments (tenant_id, name, active_version, candidate_version, candidate_share, updated_by, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, now())
       ON CONFLICT (tenant_id, name) DO UPDATE SET active_version = excluded.active_version, candidate_version = excluded.candidate_version,
         candidate_share = excluded.candidate_share, updated_by = excluded.updated_by, updated_at = now()`,
      [tenantId, name, next.activeVersion, next.candidateVersion ?? null, next.candidateShare, o.updatedBy ?? null],
    );
    this.deployments.set(`${tenantId}\u0000${name}`, { deployment: next, until: Date.now() + DEPLOYMENT_TTL_MS });
    return next;
  }

  /** Pins a task may carry: each a known prompt and a version the tenant has. The first problem, naming its field. */
  async pinProblem(tenantId: string, pins: Record<string, number>, field: string): Promise<string | undefined> {
    for (const [name, version] of Object.entries(pins)) {
      if (!(PROMPT_NAMES as readonly string[]).includes(name)) return `${field}.${name}: no prompt is named "${name}"`;
      if (version === BUILTIN_PROMPT_VERSION) continue;
      const { rowCount } = await this.db.query('SELECT 1 FROM prompt_versions WHERE tenant_id = $1 AND name = $2 AND version = $3', [tenantId, name, version]);
      if (!rowCount) return `${field}.${name}: prompt ${name} has no version ${version}`;
    }
    return undefined;
  }
}
