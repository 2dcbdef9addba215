// Temporal's own cost for an agent loop's shape: per step one "model" activity and one
// "tool" activity (or local activity), both returning at once, then a final "model" call —
// the durable floor under any agent loop built on Temporal, with no model, no tool and no
// Gatehouse code in it.
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

interface BareAgentActivities {
  bareModel(step: number): Promise<number>;
  bareTool(step: number): Promise<number>;
}

const remote = proxyActivities<BareAgentActivities>({ startToCloseTimeout: '10 seconds' });
const local = proxyLocalActivities<BareAgentActivities>({ startToCloseTimeout: '10 seconds' });

/** `steps` × (model activity, tool activity), then the final model activity. */
export async function bareAgentLoop(steps: number): Promise<number> {
  for (let i = 0; i < steps; i++) {
    await remote.bareModel(i);
    await remote.bareTool(i);
  }
  await remote.bareModel(steps);
  return steps;
}

/** The same, with the tool as a local activity (no round trip through the server of its own). */
export async function bareAgentLoopLocalTool(steps: number): Promise<number> {
  for (let i = 0; i < steps; i++) {
    await remote.bareModel(i);
    await local.bareTool(i);
  }
  await remote.bareModel(steps);
  return steps;
}

/**
 * Both as local activities: a run of local activities completes inside one workflow task
 * (heartbeated), so the server sees the results only when it ends — the fewest round trips,
 * at the price of re-running calls a dead worker had finished but not yet reported.
 */
export async function bareAgentLoopAllLocal(steps: number): Promise<number> {
  for (let i = 0; i < steps; i++) {
    await local.bareModel(i);
    await local.bareTool(i);
  }
  await local.bareModel(steps);
  return steps;
}
