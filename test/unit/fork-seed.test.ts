// A what-if fork's activity stubs, without Temporal: which calls the record serves, how they are
// numbered, and that writes always run.
import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../../contracts/task.js';
import { beforeForkPoint, ForkSeeder } from '../../workflows/policy/fork-seed.js';

const step = (status: StepRecord['status']) => ({ status });

describe('beforeForkPoint', () => {
  it('counts a call in a running step as that step, one between steps as the next one', () => {
    expect(beforeForkPoint([step('completed'), step('running')], 2)).toBe(true); // inside step 1
    expect(beforeForkPoint([step('completed'), step('completed'), step('running')], 2)).toBe(false); // inside step 2
    expect(beforeForkPoint([step('completed'), step('skipped')], 2)).toBe(false); // before step 2 is recorded
    expect(beforeForkPoint([step('completed')], 2)).toBe(true);
    expect(beforeForkPoint([], 0)).toBe(false);
  });
});

describe('ForkSeeder', () => {
  it('serves calls before the fork point from the record by type and occurrence, and runs the rest and every write live', async () => {
    const steps: Array<{ status: StepRecord['status'] }> = [];
    const replayed: unknown[] = [];
    const seeder = new ForkSeeder({ forkId: 'fork_1', of: 'task_a', atStep: 2 }, 't1', () => steps, async (request, summary) => {
      replayed.push({ ...request, summary });
      return `recorded ${request.activityType} #${request.occurrence}`;
    });
    const live: string[] = [];
    const stub = seeder.wrap({
      retrieve: async (q: string) => (live.push(`retrieve ${q}`), 'live retrieve'),
      proposeAction: async () => (live.push('propose'), 'live propose'),
    });
    steps.push(step('running'));
    expect(await stub.retrieve('a')).toBe('recorded retrieve #1');
    expect(await stub.proposeAction()).toBe('live propose');
    steps[0]!.status = 'completed';
    steps.push(step('running'));
    expect(await stub.retrieve('b')).toBe('recorded retrieve #2');
    steps[1]!.status = 'completed';
    steps.push(step('running'));
    expect(await stub.retrieve('c')).toBe('live retrieve');
    expect(live).toEqual(['propose', 'retrieve c']);
    expect(replayed).toEqual([
      { tenantId: 't1', forkId: 'fork_1', activityType: 'retrieve', occurrence: 1, summary: 'recorded retrieve #1 (fork of task_a)' },
      { tenantId: 't1', forkId: 'fork_1', activityType: 'retrieve', occurrence: 2, summary: 'recorded retrieve #2 (fork of task_a)' },
    ]);
  });
});
