// What the gateway benchmark's parts share: the shape of a part's result, the one model they
// all call (the scripted server behind an OpenAI-compatible endpoint) and its registry entry.
import { testConfig } from '../../test/support/harness-config.js';
import type { Config } from '../../infra/config.js';
import type { BenchContext } from '../lib/bench.js';

/** One subsection of the gateway report: its markdown and the numbers behind it. */
export interface PartResult {
  markdown: string;
  data: unknown;
}

export type GatewayPart = (ctx: BenchContext) => Promise<PartResult>;

/** The registry name every part calls; the scripted server echoes it back. */
export const BENCH_MODEL = 'bench-model';

/** A configuration whose only remote model is the scripted server at `baseUrl`, at the given prices ($ per million tokens). */
export function gatewayBenchConfig(baseUrl: string, prices: { input: number; output: number } = { input: 0, output: 0 }): Config {
  return testConfig({
    OPENAI_BASE_URL: baseUrl,
    GATEHOUSE_CHAT_MODEL: BENCH_MODEL,
    GATEHOUSE_MODELS: JSON.stringify([{ name: BENCH_MODEL, inputPricePerMTok: prices.input, outputPricePerMTok: prices.output }]),
  });
}

/** "met", or how far off the target a measurement is, in the target's unit. */
export function verdict(met: boolean, missedBy: string): string {
  return met ? 'met' : `**missed** by ${missedBy}`;
}
