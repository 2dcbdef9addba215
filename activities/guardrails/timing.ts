// Timing a check where it runs: every guardrail decision carries its own latency (ms, 2 decimals).
export function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** Run a synchronous check and return its result with the milliseconds it took. */
export function timed<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const result = fn();
  return [result, roundMs(performance.now() - t0)];
}
