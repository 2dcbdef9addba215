// The smallest durable workflows: no activity, one, two — each activity returns at once. On
// the same server and worker setup they show what Temporal itself costs per step, the floor
// under any durable orchestration built on it.
import { proxyActivities } from '@temporalio/workflow';

const { echo } = proxyActivities<{ echo(n: number): Promise<number> }>({ startToCloseTimeout: '10 seconds' });

export async function bareNoActivity(): Promise<number> {
  return 0;
}

export async function bareOneActivity(): Promise<number> {
  return echo(1);
}

export async function bareTwoActivities(): Promise<number> {
  await echo(1);
  return echo(2);
}
