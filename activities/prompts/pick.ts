// Which version a task gets while a candidate takes a share of the traffic: a hash of the task's
// root id and the prompt's name, as a point in [0, 100). Deterministic, so every attempt, retry
// and replay of a task — and its sub-tasks, which share its root — uses the same version; the
// name in the hash makes two prompts' splits independent of each other.
import { createHash } from 'node:crypto';
import { rootTaskId } from '../gateway/limits/admission.js';

/** The task's point in [0, 100), in steps of 0.01. */
export function trafficPoint(taskId: string, name: string): number {
  const digest = createHash('sha256').update(`${rootTaskId(taskId)}\u0000${name}`).digest();
  return (digest.readUInt32BE(0) % 10_000) / 100;
}

/** Whether the task falls in the candidate's share (a percentage, 0–100). */
export function takesCandidate(taskId: string, name: string, share: number): boolean {
  return trafficPoint(taskId, name) < share;
}
