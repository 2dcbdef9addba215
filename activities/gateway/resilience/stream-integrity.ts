// A stream that breaks mid-answer is never a success. Before any text reached the caller the
// break is like any failed call: the next deployment answers in its place. Once text was handed
// to `onDelta` the caller holds part of an answer that no other deployment can continue, so the
// call fails loudly with its own error type: the activity fails, Temporal retries the answer
// step as a whole, and the guarded stream's next attempt starts with a reset that tells clients
// to drop what the broken one streamed (activities/guardrails/answer-stream.ts).
import { ApplicationFailure } from '@temporalio/common';
import type { Attempt } from '../types.js';

export const STREAM_BROKEN_AFTER_RELEASE = 'StreamBrokenAfterRelease';

/** Watches what a call hands the caller, so a failure can tell "nothing shown yet" from "part shown". */
export class ReleaseTracker {
  private releasedChars = 0;

  constructor(private readonly onDelta: ((text: string) => void) | undefined) {}

  /** The callback the provider gets: the caller's, counting what passes through it. */
  get forward(): ((text: string) => void) | undefined {
    const onDelta = this.onDelta;
    if (!onDelta) return undefined;
    return (text) => {
      this.releasedChars += text.length;
      onDelta(text);
    };
  }

  get released(): boolean {
    return this.releasedChars > 0;
  }

  get chars(): number {
    return this.releasedChars;
  }
}

/** Retryable: the answer step starts over, but no deployment of the chain may quietly finish it. */
export function streamBrokenAfterRelease(deployment: string, releasedChars: number, cause: string, attempts: Attempt[]): ApplicationFailure {
  return ApplicationFailure.retryable(
    `the stream from ${deployment} broke after ${releasedChars} characters reached the caller: ${cause}`,
    STREAM_BROKEN_AFTER_RELEASE,
    { attempts },
  );
}
