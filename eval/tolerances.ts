// How far a metric may move the wrong way before `npm run eval` calls it a regression: one
// tolerance per kind of metric, and every metric declares its kind. Every suite is seeded and
// reads no clock, so the same code on the same machine gives the same numbers; what is left is
// said here, kind by kind.

export type MetricKind = 'exact' | 'embedding' | 'ann' | 'feedback';

export interface Tolerance {
  /** The largest move in the wrong direction that still passes, absolute (metrics are rates in [0, 1]). */
  absolute: number;
  why: string;
}

export const TOLERANCES: Record<MetricKind, Tolerance> = {
  exact: {
    absolute: 0,
    why:
      'Pure code over fixed or seeded labeled data (PII and injection detectors, keyword rules, text matching): ' +
      'the same code gives the same number, bit for bit, so any move is a change in behaviour.',
  },
  embedding: {
    absolute: 0,
    why:
      'Depends on all-MiniLM-L6-v2 vectors (ONNX Runtime on the CPU, one thread count per machine): identical run to run ' +
      'on one machine (three runs identical). Another CPU may round the last bits differently, which could only move an ' +
      'item sitting exactly on a threshold: the gate stays at 0, so such a move is looked at, not absorbed.',
  },
  ann: {
    absolute: 0.01,
    why:
      "Goes through pgvector's HNSW index, whose graph is built with Postgres' unseeded random (each element's level), " +
      'so an approximate neighbour could come and go between runs of the same code. Three runs gave identical numbers; ' +
      'this absorbs a neighbour trading places on one SOTU question, while one fact missed on 20 demo questions (0.017) ' +
      'or a retuned RRF k already moves these by more.',
  },
  feedback: {
    absolute: 0.1,
    why:
      "People's ratings of a deployment's answers, read from its database (suites/feedback.ts): a sample, not a fixed set. " +
      'With the 30 ratings a version needs to be gated, the mean of scores in [0, 1] has a standard error up to ~0.09, ' +
      'so a drop of more than 0.1 is worth a look and a smaller one is not yet evidence.',
  },
};
