// What a tool's kind means to runAgent: a read runs at once, a write waits for approval, an
// ask waits for the user — and ask_user as recorded histories know it (kind 'read') is an ask.
import { describe, expect, it } from 'vitest';
import { isAsk, isRead, isWrite, ToolCatalog } from '../../workflows/agent/tool-catalog.js';

describe('tool kinds', () => {
  it('classifies every call exactly once', () => {
    const calls = [
      { name: 'search_documents', kind: 'read' },
      { name: 'ask_user', kind: 'ask' },
      { name: 'ask_user', kind: 'read' }, // recorded before tools declared 'ask'
      { name: 'confirm_with_customer', kind: 'ask' },
      { name: 'issue_refund', kind: 'write' },
    ];
    expect(calls.map((c) => [isRead(c), isAsk(c), isWrite(c)].map(Number).join(''))).toEqual(['100', '010', '010', '010', '001']);
  });

  it('gives a plan only the tools that read', async () => {
    const kinds = [
      { name: 'search_documents', kind: 'read' },
      { name: 'query_sql', kind: 'read' },
      { name: 'ask_user', kind: 'read' },
      { name: 'send_email', kind: 'write' },
    ];
    const catalog = new ToolCatalog({ listTools: async () => kinds }, { tools: ['search_documents', 'ask_user', 'send_email'] });
    const allowed = await catalog.allowed();
    expect(allowed).toEqual(['search_documents', 'ask_user', 'send_email']);
    expect(catalog.readOnly(allowed)).toEqual(['search_documents']);
  });
});
