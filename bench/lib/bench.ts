// What a benchmark is: a function from a context to a report section. Apart from bench/run.ts,
// which loads every benchmark and so must not be imported by them.

export interface BenchContext {
  log(message: string): void;
}

export interface BenchResult {
  /** Section title, e.g. "(a) Ingestion throughput". */
  title: string;
  markdown: string;
  data: unknown;
}

export type Bench = (ctx: BenchContext) => Promise<BenchResult>;
