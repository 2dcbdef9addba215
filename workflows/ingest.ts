// ingestDocuments: index the documents an API call staged, in batches, a few at a time.
// History carries the ingestion id and batch ranges, never document text.
import { proxyActivities, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { summaries, withSummary } from './policy/summaries.js';
import { ingestProgressQuery, type IngestInput, type IngestProgress, type IngestResult } from './messages.js';

const indexing = proxyActivities<Activities>({
  // A batch embeds up to a few hundred chunks; a local model on two cores needs its time.
  startToCloseTimeout: '10 minutes',
  // It heartbeats every 2 s: a worker that dies mid-batch is noticed within this, and the
  // batch is retried elsewhere (it is idempotent).
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

const bookkeeping = proxyActivities<Activities>({
  // VACUUM of a large collection's tables takes seconds to minutes.
  startToCloseTimeout: '15 minutes',
  retry: { maximumAttempts: 10 },
});

export async function ingestDocuments(input: IngestInput): Promise<IngestResult> {
  const ranges: Array<{ from: number; to: number }> = [];
  for (let from = 0; from < input.documentCount; from += input.batchSize) {
    ranges.push({ from, to: Math.min(from + input.batchSize, input.documentCount) });
  }
  const progress: IngestProgress = {
    documents: input.documentCount,
    processed: 0,
    indexed: 0,
    unchanged: 0,
    failed: 0,
    chunks: 0,
    batches: { total: ranges.length, done: 0 },
    embedMs: 0,
  };
  setHandler(ingestProgressQuery, () => progress);
  // What the Temporal UI shows of the run so far (a query, not history).
  const showProgress = () => setCurrentDetails(`indexed ${progress.batches.done} of ${progress.batches.total} batches: ${progress.indexed} documents indexed, ${progress.unchanged} unchanged, ${progress.failed} failed, ${progress.chunks} chunks`);
  showProgress();

  // A fixed number of lanes, each taking the next range: bounded parallelism, no busy loop.
  let next = 0;
  const lane = async () => {
    while (next < ranges.length) {
      const range = ranges[next++]!;
      const outcome = await withSummary(indexing.indexIngestionBatch, summaries.indexBatch(range.from, range.to, input.documentCount), { ingestionId: input.ingestionId, ...range });
      progress.processed += outcome.documents;
      progress.indexed += outcome.indexed;
      progress.unchanged += outcome.unchanged;
      progress.failed += outcome.failed;
      progress.chunks += outcome.chunks;
      progress.embedMs += Math.round(outcome.embedMs);
      progress.batches.done += 1;
      showProgress();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(input.parallelBatches, ranges.length)) }, lane));

  const summary = await withSummary(bookkeeping.finishIngestion, summaries.finishIngestion(input.documentCount), { ingestionId: input.ingestionId });
  setCurrentDetails(`done: ${progress.indexed} documents indexed, ${progress.chunks} chunks`);
  return { ...summary, embedMs: progress.embedMs };
}
