// runAgent's state, declared once: a new task's state, the compact state it carries across
// continue-as-new, and the run that starts from it.
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../activities/gateway/types.js';
import { carriedState, compactTranscript, restoreState } from '../../workflows/agent/state.js';
import type { AgentTaskInput, PendingApproval } from '../../workflows/messages.js';
import { OPTIONS, TENANT } from '../support/agent-rooms.js';

const INPUT: AgentTaskInput = { tenantId: TENANT, collection: 'docs', input: 'refund order 1001', conversation: [{ role: 'user', content: 'hi' }], options: OPTIONS };

function approval(n: number, status: PendingApproval['status']): PendingApproval {
  return { approvalId: `apr_${n}`, tool: 'issue_refund', arguments: {}, argumentsHash: 'h', preview: { summary: '', changes: {} }, rationale: '', provenance: [], requestedAt: '', expiresAt: '', requiredRole: 'approvals:write', approvalsNeeded: 1, approvedBy: [], status };
}

describe('the carried state', () => {
  it('starts a new task from its input', () => {
    const state = restoreState(INPUT);
    expect(state).toMatchObject({ approvals: [], nextApprovalNumber: 1, nextEventSeq: 1, budgets: OPTIONS.budgets, conversation: INPUT.conversation, finished: false, lastModel: 'none' });
    expect(state.conversation).not.toBe(INPUT.conversation); // the input stays as it came
  });

  it('carries what the next run needs, and the next run starts from exactly that', () => {
    const state = restoreState(INPUT);
    state.approvals.push(...Array.from({ length: 25 }, (_, i) => approval(i + 1, 'executed')), approval(26, 'pending'));
    state.nextApprovalNumber = 27;
    state.used.steps = 7;
    state.pendingMessages.push('and the second one?');
    state.evidence.push({ type: 'user_message', excerpt: 'not carried' });
    const carried = carriedState(state, 'refund order 1001');

    // Decided approvals are in the ledger: the last 20 go along; a pending one always does.
    expect(carried.approvals.map((a) => a.approvalId)).toEqual([...Array.from({ length: 20 }, (_, i) => `apr_${i + 6}`), 'apr_26']);
    expect(carried.used).not.toBe(state.used);
    const next = restoreState({ ...INPUT, carried });
    expect(next).toMatchObject({ nextApprovalNumber: 27, used: { steps: 7 }, pendingMessages: ['and the second one?'], evidence: [], plan: [] });
    expect(next.approvals.at(-1)).toMatchObject({ approvalId: 'apr_26', status: 'pending' });
  });

  it('shrinks earlier turns to their messages and keeps the current turn whole', () => {
    const transcript: ChatMessage[] = [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'query_sql', arguments: '{}' }] },
      { role: 'tool', toolCallId: 'c1', content: '[rows]' },
      { role: 'assistant', content: 'first answer' },
      { role: 'user', content: 'second' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c2', name: 'query_sql', arguments: '{}' }] },
      { role: 'tool', toolCallId: 'c2', content: '[rows]' },
    ];
    expect(compactTranscript(transcript)).toEqual([{ role: 'user', content: 'first' }, { role: 'assistant', content: 'first answer' }, ...transcript.slice(4)]);
  });
});
