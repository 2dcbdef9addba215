// Versioned prompts over HTTP: list every prompt with the version in force and its versions
// (tasks:read), compare the versions on the usage ledger's numbers and feedback (usage:read),
// create a version and activate one — as the active version, or as a candidate taking a share of
// the tasks (admin). A task's recorded versions: GET /v1/tasks/{id}/prompt-versions. Everything is
// scoped to the caller's tenant.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { comparePromptVersions } from '../../activities/prompts/compare.js';
import { PromptStore, PromptVersionError } from '../../activities/prompts/store.js';
import type { PromptName } from '../../contracts/prompts.js';
import { requireRole } from '../auth.js';
import {
  errorBody,
  promptActivateRequest,
  promptCompareQuery,
  promptComparison,
  promptDeployment,
  promptList,
  promptParams,
  promptVersionCreated,
  promptVersionList,
  promptVersionRequest,
  taskIdParams,
  taskPromptVersions,
} from '../contracts.js';
import { ApiError } from '../errors.js';
import { ownedTask } from '../owned-task.js';
import { principalOf, type ApiDeps } from '../route-deps.js';

const refusals = { 400: errorBody, 401: errorBody, 403: errorBody };

function asApiError(err: unknown): never {
  // The shape of a validation error (api/error-reply.ts): the field first in the message and in details.
  if (err instanceof PromptVersionError) throw new ApiError(400, 'invalid_request', err.message, { issues: [{ field: `body.${err.field}`, message: err.message.replace(/^body\.\w+: /, '') }], reason: err.code });
  throw err;
}

export const promptRoutes = (deps: ApiDeps): FastifyPluginAsyncZod => async (app) => {
  const store = new PromptStore(deps.db);

  app.get('/v1/prompts', { schema: { tags: ['prompts'], summary: 'Every prompt, with the version in force for this tenant', response: { 200: promptList, ...refusals } } }, async (req) => {
    const principal = principalOf(req);
    requireRole(principal, 'tasks:read');
    return { prompts: await store.list(principal.tenantId) };
  });

  app.get(
    '/v1/prompts/:name/versions',
    { schema: { tags: ['prompts'], summary: "A prompt's versions (1 is the built-in text) and which is active or a candidate", params: promptParams, response: { 200: promptVersionList, ...refusals } } },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:read');
      return { name: req.params.name, versions: await store.versions(principal.tenantId, req.params.name) };
    },
  );

  app.post(
    '/v1/prompts/:name/versions',
    {
      schema: {
        tags: ['prompts'],
        summary: 'Store a new version of a prompt (not in force until activated)',
        description: "The template's {{variables}} must be the prompt's own, the required ones included (GET /v1/prompts lists them).",
        params: promptParams,
        body: promptVersionRequest,
        response: { 201: promptVersionCreated, ...refusals },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      requireRole(principal, 'admin');
      const created = await store.create(principal.tenantId, req.params.name, { ...req.body, createdBy: principal.keyId }).catch(asApiError);
      req.log.info({ prompt: req.params.name, version: created.version }, 'prompt version created');
      return reply.code(201).send({ name: req.params.name, version: created.version });
    },
  );

  app.post(
    '/v1/prompts/:name/activate',
    {
      schema: {
        tags: ['prompts'],
        summary: 'Put a version in force: active (share 100, the default), or a candidate taking `share` percent of the tasks',
        params: promptParams,
        body: promptActivateRequest,
        response: { 200: promptDeployment, ...refusals },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'admin');
      const d = await store.activate(principal.tenantId, req.params.name, { ...req.body, updatedBy: principal.keyId }).catch(asApiError);
      req.log.info({ prompt: req.params.name, ...d }, 'prompt version activated');
      return { name: req.params.name, ...d };
    },
  );

  app.get(
    '/v1/prompts/:name/compare',
    {
      schema: {
        tags: ['prompts'],
        summary: "A prompt's versions on the same numbers: tasks, calls, failure rate, latency p50/p95, tokens, cost, feedback",
        params: promptParams,
        querystring: promptCompareQuery,
        response: { 200: promptComparison, ...refusals },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'usage:read');
      return { name: req.params.name, versions: await comparePromptVersions(deps.db, principal.tenantId, req.params.name, req.query) };
    },
  );

  app.get(
    '/v1/tasks/:taskId/prompt-versions',
    {
      schema: {
        tags: ['prompts'],
        summary: 'The prompt versions a task (and its sub-tasks) used, from its model calls',
        params: taskIdParams,
        response: { 200: taskPromptVersions, ...refusals, 404: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:read');
      await ownedTask(deps.db, principal, req.params.taskId);
      const { rows } = await deps.db.query<{ prompt_name: PromptName; prompt_version: number; steps: string[]; calls: number }>(
        `SELECT prompt_name, prompt_version, array_agg(DISTINCT step ORDER BY step) AS steps, count(*)::int AS calls FROM model_usage
          WHERE tenant_id = $1 AND (task_id = $2 OR left(task_id, length($2) + 1) = $2 || '.') AND prompt_name IS NOT NULL
          GROUP BY prompt_name, prompt_version ORDER BY prompt_name, prompt_version`,
        [principal.tenantId, req.params.taskId],
      );
      return { taskId: req.params.taskId, prompts: rows.map((r) => ({ name: r.prompt_name, version: r.prompt_version, steps: r.steps, calls: r.calls })) };
    },
  );
};
