// Versioned prompts without a database: the built-in versions render to the exact text the code
// always sent (so prompt caches and recorded histories see no change), templates are checked
// against their prompt's variables, and the traffic split is deterministic per task and close
// to its share.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AGENT_SYSTEM_PROMPT } from '../../activities/agent/decide.js';
import { buildAnswerMessages } from '../../activities/answering.js';
import { BUILTIN_PROMPTS } from '../../activities/prompts/catalog.js';
import { takesCandidate, trafficPoint } from '../../activities/prompts/pick.js';
import { builtinPrompt, renderPrompt } from '../../activities/prompts/store.js';
import { renderTemplate, templateProblems, variablesOf } from '../../activities/prompts/template.js';
import { buildSqlPrompt } from '../../activities/tools/query-sql.js';
import { feedbackPreference } from '../../activities/feedback/feedback.js';
import { normalisedScore, verdictOf } from '../../contracts/feedback.js';
import { PROMPT_NAMES } from '../../contracts/prompts.js';

describe('the prompt catalog', () => {
  it('has a built-in version of every named prompt, whose template uses exactly its declared variables', () => {
    expect(Object.keys(BUILTIN_PROMPTS).sort()).toEqual([...PROMPT_NAMES].sort());
    for (const name of PROMPT_NAMES) expect(templateProblems(BUILTIN_PROMPTS[name].template, BUILTIN_PROMPTS[name].variables), name).toEqual([]);
  });

  it('renders version 1 to the text the code sent before prompts were versioned', () => {
    expect(AGENT_SYSTEM_PROMPT.startsWith("You are Gatehouse's agent.")).toBe(true);
    const system = buildAnswerMessages('q', [])[0]!.content;
    expect(system).toMatch(/^You answer questions using only the numbered passages provided\./);
    expect(system).toContain('repeat them as they are.\n');
    const sql = buildSqlPrompt('How many customers?', [{ name: 'customers', description: 'people', columns: [{ name: 'id', type: 'int' }], primaryKey: ['id'], foreignKeys: [] } as never], 50)[0]!.content;
    expect(sql).toContain('at most 50 rows are returned.');
    expect(sql).toMatch(/\nTables:\ncustomers/);
    // The plan prompt as it was written inline before it had a name.
    expect(renderPrompt(builtinPrompt('plan.split'), { maxSubtasks: 6 })).toBe(
      'You plan work for an agent with the tools listed. Split the task into at most 6 sub-tasks that can each be researched on their own. Reply as JSON {"subtasks": [{"id": "s1", "title": "...", "instruction": "...", "dependsOn": []}]}; dependsOn lists ids whose results a sub-task needs.',
    );
  });
});

describe('prompt templates', () => {
  it('names a missing required variable and an unknown one', () => {
    const vars = BUILTIN_PROMPTS['sql.system'].variables;
    expect(templateProblems('Write SQL. At most {{maxRows}} rows.', vars)).toEqual([expect.stringContaining('must use the variable {{tables}}')]);
    expect(templateProblems('{{tables}} {{ question }}', vars)).toEqual([expect.stringContaining('uses {{question}}, which this prompt does not have')]);
    expect(templateProblems('Be brief.', BUILTIN_PROMPTS['answer.system'].variables)).toEqual([]);
  });

  it('fills variables and leaves everything else as written', () => {
    expect(variablesOf('a {{x}} b {{ y }} {{x}} {"json": 1}')).toEqual(['x', 'y']);
    expect(renderTemplate('a {{x}} b {{ y }} {"json": {}}', { x: 1, y: 'two' })).toBe('a 1 b two {"json": {}}');
  });
});

describe('the traffic split', () => {
  it('gives a task (and its sub-tasks) the same point every time, and each prompt its own split', () => {
    const id = `task_${randomUUID().replaceAll('-', '')}`;
    expect(trafficPoint(id, 'answer.system')).toBe(trafficPoint(id, 'answer.system'));
    expect(trafficPoint(`${id}.agent`, 'agent.system')).toBe(trafficPoint(id, 'agent.system'));
    const ids = Array.from({ length: 200 }, () => `task_${randomUUID().replaceAll('-', '')}`);
    const same = ids.filter((t) => takesCandidate(t, 'answer.system', 50) === takesCandidate(t, 'agent.system', 50)).length;
    expect(same).toBeGreaterThan(60);
    expect(same).toBeLessThan(140);
  });

  it('sends close to the share to the candidate, none at 0 and all at 100', () => {
    const ids = Array.from({ length: 4000 }, () => `task_${randomUUID().replaceAll('-', '')}`);
    for (const share of [10, 30, 50]) {
      const taken = ids.filter((t) => takesCandidate(t, 'answer.system', share)).length / ids.length;
      // 4,000 draws: the standard error is at most 0.8 points; 3 points is ~4 of them.
      expect(Math.abs(taken * 100 - share), `share ${share}`).toBeLessThan(3);
    }
    expect(ids.some((t) => takesCandidate(t, 'answer.system', 0))).toBe(false);
    expect(ids.every((t) => takesCandidate(t, 'answer.system', 100))).toBe(true);
  });
});

describe('feedback', () => {
  it('normalises scores and thumbs to [0, 1] and reads a verdict from them', () => {
    expect([1, 2, 3, 4, 5].map((score) => normalisedScore({ score }))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect([normalisedScore({ thumbs: 'up' }), normalisedScore({ thumbs: 'down' })]).toEqual([1, 0]);
    expect([0, 0.25, 0.5, 0.75, 1].map(verdictOf)).toEqual(['negative', 'negative', 'neutral', 'positive', 'positive']);
  });

  it('is a preference against the reviewer reference player: a tie when positive, a loss when negative, nothing when neutral', () => {
    const base = { model: 'primary', query: 'q', taskId: 't' };
    expect(feedbackPreference({ ...base, score: 1 })).toEqual({ query: 'q', winner: 'primary', loser: 'human', tie: true, source: 'feedback', taskId: 't' });
    expect(feedbackPreference({ ...base, score: 0 })).toEqual({ query: 'q', winner: 'human', loser: 'primary', source: 'feedback', taskId: 't' });
    expect(feedbackPreference({ ...base, score: 0.5 })).toBeUndefined();
  });
});
