// The order in which a model's deployments are tried: the first is the one that gets the call,
// the others are where it goes if that one fails. Per model, by the registry's `balance`:
// weighted (a random draw by weight, without replacement), least_latency (the lowest recent
// latency first; a deployment not yet measured counts as fastest, so it gets measured) or
// least_busy (the fewest calls in flight first). Ties keep the registry's order.
import type { BalanceStrategy } from '../../../infra/config.js';

export interface DeploymentLoad {
  weight: number;
  inFlight: number;
  /** Recent latency (a moving average), undefined until a call ended. */
  latencyMs: number | undefined;
}

export function balanceOrder<D extends DeploymentLoad>(strategy: BalanceStrategy, deployments: D[], random: () => number = Math.random): D[] {
  if (deployments.length < 2) return deployments;
  switch (strategy) {
    case 'weighted':
      return weightedOrder(deployments, random);
    case 'least_latency':
      return stableSort(deployments, (d) => d.latencyMs ?? 0);
    case 'least_busy':
      return stableSort(deployments, (d) => d.inFlight);
  }
}

function weightedOrder<D extends DeploymentLoad>(deployments: D[], random: () => number): D[] {
  const left = [...deployments];
  const order: D[] = [];
  while (left.length) {
    let draw = random() * left.reduce((sum, d) => sum + d.weight, 0);
    let index = left.findIndex((d) => (draw -= d.weight) < 0);
    if (index < 0) index = left.length - 1;
    order.push(...left.splice(index, 1));
  }
  return order;
}

function stableSort<D>(items: D[], key: (item: D) => number): D[] {
  return items.map((item, index) => ({ item, index, key: key(item) })).sort((a, b) => a.key - b.key || a.index - b.index).map((x) => x.item);
}

/** A latency moving average that follows a deployment's recent calls without forgetting at once. */
export function nextLatency(previous: number | undefined, latest: number): number {
  const RECENT_WEIGHT = 0.3;
  return previous === undefined ? latest : previous * (1 - RECENT_WEIGHT) + latest * RECENT_WEIGHT;
}
