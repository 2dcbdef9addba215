// The agent's activities: the tool list, the model's turn, planning, read tools, and write
// actions (proposed, executed once, compensated) with their approvals. Every one of them
// crosses the PII vault's boundary: real values inside the activity, placeholders outside.
import type { PendingApproval } from '../../contracts/approvals.js';
import { countCacheOutcome } from '../../infra/metrics.js';
import type { ActivityDeps } from '../deps.js';
import { logGuardChecks } from '../guardrails/check-log.js';
import { guardToolOutput } from '../guardrails/tool-output.js';
import type { GuardCheck } from '../guardrails/types.js';
import type { VaultBoundary, VaultScope } from '../guardrails/vault-boundary.js';
import { heartbeating } from '../heartbeat.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { ToolServices } from '../tools/types.js';
import { compensateAction, executeAction, proposeAction, type ExecuteInput, type ExecuteOutput, type Proposal, type ProposeInput, type ProposeOutput } from './actions.js';
import { indexApproval } from './approval-index.js';
import { verifyApprovalSignal, type VerifySignalInput, type VerifySignalOutput } from './approval-signal.js';
import { decideNextStep, type DecideInput, type DecideOutput } from './decide.js';
import { planTask, type PlanInput, type PlanOutput } from './plan.js';
import { runReadTool, type RunToolInput, type RunToolOutput } from './run-tool.js';
import { ToolResultCache, type ToolCacheOutcome } from '../cache/tools.js';
import { inGuardSpan } from '../guardrails/guard-spans.js';
import { inAgentSpan, inToolSpan } from './spans.js';

/** What an agent's tool activities need to guard: the policy, and whose vault (a plan's sub-tasks share their parent's). */
type Guarded = Pick<VaultScope, 'policy' | 'vaultTaskId'>;

export function createAgentActivities(deps: ActivityDeps, shared: { registry: ToolRegistry; boundary: VaultBoundary }) {
  const { registry, boundary } = shared;
  const { mode, topK, candidates, rrfK, efSearch } = deps.config.retrieval;
  const toolServices: ToolServices = {
    db: deps.db,
    caps: deps.caps,
    embedder: deps.embedder,
    gateway: deps.gateway,
    log: deps.log,
    retrieval: { mode, topK, candidates, rrfK, efSearch },
    cache: deps.cache,
  };
  const toolCache = deps.cache?.settings.layers.tool ? new ToolResultCache(deps.db, deps.cache, deps.log) : undefined;
  // runReadTool's work, inside its execute_tool span.
  async function readTool(input: RunToolInput & Guarded): Promise<RunToolOutput & { checks?: GuardCheck[] }> {
    const tool = registry.get(input.tool);
    const plan = toolCache && tool ? toolCache.plan(tool, registry.definitionHash(input.tool)!, input) : undefined;
    const keep = plan && 'address' in plan ? plan : undefined;
    const started = performance.now();
    const hit = keep && (await toolCache!.lookup(keep.address, input.callId));
    let out: RunToolOutput;
    let mark: string | undefined;
    if (hit) {
      out = { ok: true, content: hit.content, summary: hit.summary, provenance: hit.provenance, latencyMs: Math.round(performance.now() - started) };
    } else {
      mark = keep && (await toolCache!.writeMark(input.tenantId));
      const args = await boundary.unmask(input, input.arguments);
      out = await heartbeating((signal) => runReadTool(toolServices, registry, { ...input, arguments: args }, signal));
    }
    let guarded: RunToolOutput & { checks?: GuardCheck[] } = out;
    if (out.ok && input.policy) {
      const policy = input.policy.policy;
      const content = out.content;
      const g = await inGuardSpan(
        'tool_output',
        { tenantId: input.tenantId, taskId: input.taskId, tool: input.tool },
        () => guardToolOutput(deps.db, boundary.vault, policy, { ...input, vaultTaskId: boundary.vaultTaskId(input), content, provenance: out.provenance, toolNames: registry.names() }),
        (o) => ({ checks: o.checks }),
      );
      logGuardChecks(deps.log, `tool output ${input.tool}`, input.tenantId, input.taskId, g.checks);
      guarded = { ...out, content: g.content, provenance: g.provenance, checks: g.checks };
    }
    if (!plan) return guarded;
    const cache: ToolCacheOutcome = hit
      ? { layer: 'tool', outcome: 'hit', ageSeconds: hit.ageSeconds, savedUsd: hit.savedUsd }
      : 'outcome' in plan
        ? plan.outcome
        : await toolCache!.store(plan, mark!, { ...guarded, costUsd: guarded.ok ? guarded.usage?.costUsd : undefined });
    countCacheOutcome('tool', cache.outcome, input.tenantId);
    return { ...guarded, cache };
  }

  return {
    /** Every tool this worker can run, with its kind (the default tool set of an agent task). */
    async listTools(): Promise<Array<{ name: string; kind: string }>> {
      return registry.names().map((name) => ({ name, kind: registry.get(name)!.kind }));
    },

    /** The model's next move: a final answer, or tool calls checked against the registry. */
    async decideNextStep(input: DecideInput & Guarded): Promise<DecideOutput> {
      return inAgentSpan(input, () => heartbeating((signal) => decideNextStep(deps.gateway, registry, input, signal, boundary.masking(input))));
    },

    async planTask(input: PlanInput): Promise<PlanOutput> {
      return heartbeating((signal) => planTask(deps.gateway, input, signal));
    },

    /**
     * A read tool. Its arguments get the real values behind placeholders; its output is
     * screened for injected instructions and masked before it reaches the model. A tool that
     * declares a result cache is asked of the tool layer first (cache/tools.ts); a hit is
     * screened again, under the task's policy, like a fresh output.
     */
    async runReadTool(input: RunToolInput & Guarded): Promise<RunToolOutput & { checks?: GuardCheck[] }> {
      return inToolSpan(input, 'read', () => readTool(input));
    },

    /** A write action's dry run, arguments hash, approval policy and provenance (on the real values). */
    async proposeAction(input: ProposeInput & Guarded): Promise<Exclude<ProposeOutput, Proposal> | (Omit<Proposal, 'arguments'> & { maskedArguments: Record<string, unknown> })> {
      const [args, evidence] = await Promise.all([boundary.unmask(input, input.arguments), boundary.unmask(input, input.evidence)]);
      const proposed = await proposeAction(toolServices, registry, { ...input, arguments: args, evidence });
      if (!proposed.ok) return proposed;
      // What goes back to the workflow (the parsed arguments, a preview, provenance, a recorded
      // result) is masked like any tool output; the API shows approvers the real values.
      // (An approver's edit arrives with real values: the workflow keeps them masked too.)
      // One vault transaction for all of it.
      const { arguments: parsed, ...out } = proposed;
      const masked = await boundary.mask(input, { preview: out.preview, provenance: out.provenance, maskedArguments: parsed, result: out.alreadyExecuted?.result });
      const alreadyExecuted = out.alreadyExecuted && { ...out.alreadyExecuted, result: masked.result };
      return { ...out, preview: masked.preview, provenance: masked.provenance, alreadyExecuted, maskedArguments: masked.maskedArguments };
    },

    /** An approved write action, exactly once (the action ledger), on the real values. */
    async executeAction(input: ExecuteInput & Guarded): Promise<ExecuteOutput> {
      const args = await boundary.unmask(input, input.arguments);
      const out = await inToolSpan({ ...input, callId: input.approvalId }, 'write', () => heartbeating(() => executeAction(toolServices, registry, { ...input, arguments: args })));
      // The ledger keeps the real result; the model (and history) get it masked.
      return out.ok ? { ...out, result: await boundary.mask(input, out.result) } : out;
    },

    async compensateAction(input: { tenantId: string; taskId: string; approvalId: string }) {
      return compensateAction(toolServices, registry, input);
    },

    /** A decision that came as a Signal: valid only with an approval token for exactly it. */
    async verifyApprovalSignal(input: VerifySignalInput): Promise<VerifySignalOutput> {
      return verifyApprovalSignal(deps.keyRing, input);
    },

    /** Mirror an approval's state into the approvals table the API lists. */
    async indexApproval(input: { tenantId: string; taskId: string; approval: PendingApproval }): Promise<void> {
      await indexApproval(deps.db, input);
    },
  };
}
