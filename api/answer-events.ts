// The event stream of an answer task: the answer sentence by sentence as the guarded stream
// releases it (answer_stream), a reset when a failure policy asks again, a note when the
// checks held the rest back or a reviewer is needed, then the final answer and the end.
// Event ids are the stream's sequence numbers, so Last-Event-ID resumes where a client left.
import type { ServerResponse } from 'node:http';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { Db } from '../infra/db/pool.js';
import { answerStatusQuery, type AnswerResult } from '../workflows/messages.js';
import type { Principal } from './auth.js';
import type { PiiReveal } from './reveal.js';

const KIND_TO_EVENT = { sentence: 'answer_delta', reset: 'answer_reset', held: 'answer_held' } as const;

export async function streamAnswerEvents(opts: {
  db: Db;
  temporal: Client;
  reveal: PiiReveal;
  principal: Principal;
  taskId: string;
  since: number;
  res: ServerResponse;
  isOpen: () => boolean;
}): Promise<void> {
  const { db, res, taskId } = opts;
  const handle = opts.temporal.workflow.getHandle(taskId);
  let since = opts.since;
  let lastWrite = Date.now();
  let reviewAnnounced = false;
  let lastStatusCheck = 0;
  const send = (id: number | undefined, type: string, data: Record<string, unknown>) => {
    res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    lastWrite = Date.now();
  };

  while (opts.isOpen()) {
    const { rows } = await db.query<{ seq: number; attempt: number; kind: 'sentence' | 'reset' | 'held'; text: string }>(
      'SELECT seq, attempt, kind, text FROM answer_stream WHERE task_id = $1 AND seq > $2 ORDER BY seq LIMIT 500',
      [taskId, since],
    );
    for (const r of rows) {
      const data =
        r.kind === 'sentence'
          ? { text: await opts.reveal.forCaller(opts.principal, taskId, r.text), attempt: r.attempt }
          : r.kind === 'held'
            ? { check: r.text, attempt: r.attempt }
            : { attempt: r.attempt };
      send(r.seq, KIND_TO_EVENT[r.kind], data);
      since = r.seq;
    }
    if (rows.length === 500) continue;

    if (Date.now() - lastStatusCheck > 500) {
      lastStatusCheck = Date.now();
      const described = await handle.describe();
      if (described.status.name !== 'RUNNING') {
        // Every released sentence is in the table before the workflow can finish: read the rest first.
        const tail = await db.query<{ seq: number }>('SELECT max(seq) AS seq FROM answer_stream WHERE task_id = $1', [taskId]);
        if ((tail.rows[0]?.seq ?? 0) > since) continue;
        try {
          const result = (await handle.result()) as AnswerResult;
          const answer = await opts.reveal.forCaller(opts.principal, taskId, result.answer);
          send(since + 1, 'final_answer', { answer, citations: result.citations, guardrails: result.guardrails });
          send(since + 2, 'task_finished', { status: 'completed' });
        } catch (err) {
          const message = err instanceof WorkflowFailedError ? (err.cause?.message ?? err.message) : String(err);
          send(since + 1, 'task_finished', { status: described.status.name.toLowerCase(), error: message });
        }
        return;
      }
      if (!reviewAnnounced) {
        const status = await handle.query(answerStatusQuery).catch(() => undefined);
        if (status?.review) {
          reviewAnnounced = true;
          send(undefined, 'review_requested', { reason: status.review.reason, failures: status.review.failures, expiresAt: status.review.expiresAt });
        }
      }
    }
    if (Date.now() - lastWrite > 15_000) {
      res.write(': keep-alive\n\n');
      lastWrite = Date.now();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
