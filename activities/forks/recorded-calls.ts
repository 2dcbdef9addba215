// The original task's recorded activity calls, which a what-if fork's steps before its fork
// point are served from (workflows/policy/fork-seed.ts). The API reads them out of the
// original's history when it forks (`recordedCalls`, `storeRecordedCalls`); the fork's
// workflow asks for each one by activity type and occurrence (`replayRecordedCall`).
//
// A result is kept exactly as the history holds it — a payload the codec encrypted for the
// original's tenant — and decrypted only in the activity that hands it to the fork, which the
// worker encrypts again for the fork: no recorded value is ever stored in plain text.
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
// CommonJS whose named exports Node's ESM loader cannot see: import the module object.
import proto from '@temporalio/proto';
import type { Db } from '../../infra/db/pool.js';
import { EncryptionCodec } from '../../infra/payload-codec.js';
import type { RecordedCallRequest } from '../../contracts/task.js';
import type { ActivityDeps } from '../deps.js';

type History = proto.temporal.api.history.v1.IHistory;
const ProtoPayload = proto.temporal.api.common.v1.Payload;

/** The marker core writes for a local activity; its `data` detail is plain JSON of this shape. */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

export interface RecordedCall {
  activityType: string;
  /** 1 for the first call of this type. */
  occurrence: number;
  /** The call's order in the workflow (activities and local activities share one sequence). */
  seq: number;
  /** The result payload as recorded (encrypted by the codec); absent for a call that failed or returned nothing. */
  result?: Payload;
  /** The application failure type of a call that failed (its message stays in the history, encrypted). */
  failureType?: string;
  failed: boolean;
}

/**
 * Every activity and local activity call that finished in a history, in the order the workflow
 * made them, numbered per type. Calls still running (or timed out, or canceled) are left out:
 * they have no result a fork could be served.
 */
export function recordedCalls(history: History): RecordedCall[] {
  const scheduled = new Map<string, { seq: number; activityType: string }>();
  const calls: Omit<RecordedCall, 'occurrence'>[] = [];
  for (const event of history.events ?? []) {
    const s = event.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(event.eventId), { seq: Number(s.activityId), activityType: s.activityType?.name ?? '' });
    const done = event.activityTaskCompletedEventAttributes;
    if (done) {
      const call = scheduled.get(String(done.scheduledEventId));
      if (call) calls.push({ ...call, result: done.result?.payloads?.[0] ?? undefined, failed: false });
    }
    const failed = event.activityTaskFailedEventAttributes;
    if (failed) {
      const call = scheduled.get(String(failed.scheduledEventId));
      if (call) calls.push({ ...call, failed: true, failureType: failureType(failed.failure) });
    }
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName === LOCAL_ACTIVITY_MARKER) {
      const data = marker.details?.data?.payloads?.[0]?.data;
      if (!data) continue;
      const meta = JSON.parse(Buffer.from(data).toString('utf8')) as { seq: number; activity_type: string };
      const result = marker.details?.result?.payloads?.[0];
      calls.push({ seq: meta.seq, activityType: meta.activity_type, result: result ?? undefined, failed: Boolean(marker.failure), failureType: marker.failure ? failureType(marker.failure) : undefined });
    }
  }
  const seen = new Map<string, number>();
  return calls
    .sort((a, b) => a.seq - b.seq)
    .map((c) => {
      const occurrence = (seen.get(c.activityType) ?? 0) + 1;
      seen.set(c.activityType, occurrence);
      return { ...c, occurrence };
    });
}

function failureType(failure: proto.temporal.api.failure.v1.IFailure | null | undefined): string | undefined {
  // An activity's failure wraps the activity's own (ActivityFailure → ApplicationFailure).
  for (let f = failure; f; f = f.cause) if (f.applicationFailureInfo?.type) return f.applicationFailureInfo.type;
  return undefined;
}

/** Store a fork's recorded calls, in the transaction that records the fork. */
export async function storeRecordedCalls(tx: Pick<Db, 'query'>, forkId: string, calls: RecordedCall[]): Promise<void> {
  for (const c of calls) {
    await tx.query('INSERT INTO fork_recorded_calls (fork_id, activity_type, occurrence, payload, failure_type) VALUES ($1, $2, $3, $4, $5)', [
      forkId,
      c.activityType,
      c.occurrence,
      c.result ? Buffer.from(ProtoPayload.encode(c.result).finish()) : null,
      c.failed ? (c.failureType ?? 'RecordedCallFailed') : null,
    ]);
  }
}

/**
 * What the original got from one call, for the fork: the value it returned, or its failure
 * again (non-retryable: the record will not change). A call the record does not hold means the
 * fork did not make the calls the original made — the code changed since, or the fork point
 * is past something that was not a call — and fails the fork plainly.
 */
export async function replayRecordedCall(deps: Pick<ActivityDeps, 'db' | 'keyRing'>, request: RecordedCallRequest): Promise<unknown> {
  const { rows } = await deps.db.query<{ payload: Buffer | null; failure_type: string | null }>(
    `SELECT c.payload, c.failure_type FROM fork_recorded_calls c JOIN task_forks f ON f.id = c.fork_id
      WHERE c.fork_id = $1 AND f.tenant_id = $2 AND c.activity_type = $3 AND c.occurrence = $4`,
    [request.forkId, request.tenantId, request.activityType, request.occurrence],
  );
  const row = rows[0];
  if (!row) {
    throw ApplicationFailure.nonRetryable(`the original made no call #${request.occurrence} of ${request.activityType} before the fork point`, 'ForkDiverged');
  }
  if (row.failure_type) throw ApplicationFailure.nonRetryable(`${request.activityType} failed in the original (recorded)`, row.failure_type);
  if (!row.payload) return undefined;
  const [plain] = await new EncryptionCodec(deps.keyRing).decode([ProtoPayload.decode(row.payload)]);
  return defaultPayloadConverter.fromPayload(plain!);
}

export function createForkActivities(deps: ActivityDeps) {
  return {
    /** A fork's call before its fork point: the original's recorded result (a local activity). */
    async replayRecordedCall(request: RecordedCallRequest): Promise<unknown> {
      return replayRecordedCall(deps, request);
    },
  };
}
