// The offline `local` model's agent: a small RULE-BASED planner, not a language model. It
// understands a few request shapes of the demo domain — a customer's orders ("When did John
// Doe last buy something?"), refunds and confirmation emails ("Refund Emily Doe's last order
// and email her a confirmation") — and answers anything else from the documents. It speaks
// the same protocol a tool-calling model does (tool calls, then a final answer), so the
// workflow, the approval gate and the ledger run exactly as they would with a real model.
import { entities } from '../../text.js';
import type { OfflineAgentState } from '../types.js';
import { answerExtractively } from './answer.js';
import type { EmbedTexts } from './types.js';

export interface OfflineStep {
  content?: string;
  toolCalls?: Array<{ name: string; arguments: Record<string, unknown> }>;
}

type Observation = OfflineAgentState['observations'][number];
type Row = Record<string, unknown>;

const NOT_NAMES = /^(Refund|Email|E-mail|Send|Update|Change|Set|Tell|Show|List|Find|Give|Inkwell|Jet|LX|Care|Plus)$/;

/** The first person-like name (two or more capitalised words) in a text. */
export function personIn(text: string): string | undefined {
  for (const e of entities(text)) {
    const words = e.split(/\s+/).filter((w) => !NOT_NAMES.test(w)).map((w) => w.replace(/'s$/, ''));
    if (words.length >= 2 && words.every((w) => /^[A-Z][a-z'-]+$/.test(w))) return words.join(' ');
  }
  return undefined;
}

function call(name: string, args: Record<string, unknown>): OfflineStep {
  return { toolCalls: [{ name, arguments: args }] };
}

function rowsOf(o: Observation | undefined): Row[] {
  const rows = (o?.content as { rows?: unknown } | undefined)?.rows;
  return Array.isArray(rows) ? (rows as Row[]) : [];
}

function money(v: unknown): string {
  return `$${Number(v).toFixed(2)}`;
}

function describeRows(rows: Row[]): string {
  if (rows.length === 0) return 'no matching rows';
  const line = (r: Row) => Object.entries(r).map(([k, v]) => `${k.replaceAll('_', ' ')}: ${v instanceof Date ? v.toISOString() : String(v)}`).join(', ');
  if (rows.length === 1) return line(rows[0]!);
  return `${rows.length} rows — ${rows.slice(0, 10).map(line).join('; ')}${rows.length > 10 ? '; …' : ''}`;
}

function outcomeLine(o: Observation): string {
  if (o.ok) return `Done — ${o.tool}: ${summaryOf(o)}.`;
  const c = o.content as { rejected?: boolean; expired?: boolean; reason?: string; error?: string } | undefined;
  if (c?.rejected) return `Not done — ${o.tool} was rejected by the approver${c.reason ? `: ${c.reason}` : ''}.`;
  if (c?.expired) return `Not done — the approval for ${o.tool} expired.`;
  return `Not done — ${o.tool} failed: ${c?.error ?? 'unknown error'}.`;
}

function summaryOf(o: Observation): string {
  const c = o.content as Row;
  if (o.tool === 'issue_refund') return `refund #${c.refundId} of ${money(c.amountUsd)} on order ${c.orderId}`;
  if (o.tool === 'send_email') return `email to ${c.to} queued`;
  return JSON.stringify(c).slice(0, 200);
}

export async function planNextStepWithRules(state: OfflineAgentState, embed?: EmbedTexts): Promise<OfflineStep> {
  const task = state.task;
  const can = (tool: string) => state.tools.includes(tool);
  const seen = (tool: string) => state.observations.filter((o) => o.tool === tool);
  const wantsRefund = /\brefund/i.test(task) && can('issue_refund');
  const wantsEmail = /\b(e-?mail|send (?:her|him|them) )/i.test(task) && can('send_email');
  const aboutOrders = /\b(orders?|bought|buy|purchas\w*|spent|spend|customers?)\b/i.test(task);

  // Plan mode's final turn: the sub-tasks did the work; put their answers together.
  if (state.subtaskResults?.length && !wantsRefund && !wantsEmail) {
    return { content: state.subtaskResults.map((r) => `${r.title}: ${r.result}`).join('\n') };
  }

  let person = personIn(task);
  const answer = seen('ask_user').at(-1);
  if (!person && answer?.ok) person = personIn(String((answer.content as { reply?: unknown })?.reply ?? answer.content));

  const needsData = wantsRefund || wantsEmail || aboutOrders;
  if (needsData && can('query_sql')) {
    if (!person && (wantsRefund || wantsEmail)) {
      if (can('ask_user') && seen('ask_user').length === 0) return call('ask_user', { question: 'Which customer is this for? Please give their full name.' });
      return { content: "I can't tell which customer this is for. Please name them." };
    }
    const queries = seen('query_sql');
    const lastQuery = queries.at(-1);
    if (!lastQuery?.ok) {
      if (queries.length >= 2) return { content: `I could not look this up: ${JSON.stringify(lastQuery?.content).slice(0, 300)}` };
      const question = wantsRefund || wantsEmail ? `What was ${person}'s last order?` : task;
      return call('query_sql', { question });
    }
    const rows = rowsOf(lastQuery);
    if (!(wantsRefund || wantsEmail)) return { content: `${task.replace(/\?$/, '')}: ${describeRows(rows)}.` };
    const order = rows[0];
    if (!order) return { content: `I found no orders for ${person}, so there is nothing to refund or confirm.` };
    const orderId = Number(order.order_id ?? order.id);
    const amount = Number(order.amount_usd ?? order.amount);

    const refunds = seen('issue_refund');
    const emails = seen('send_email');
    // Both actions at once, so the approver sees the refund and its confirmation side by side.
    const proposals: NonNullable<OfflineStep['toolCalls']> = [];
    if (wantsRefund && refunds.length === 0) {
      proposals.push({ name: 'issue_refund', arguments: { orderId, amountUsd: amount, reason: `Customer request: ${task}`.slice(0, 500) } });
    }
    const to = String(order.email ?? order.customer_email ?? '');
    if (wantsEmail && emails.length === 0 && to) {
      const name = String(order.customer ?? order.name ?? person);
      const product = order.product ? ` (${String(order.product)})` : '';
      const subject = wantsRefund ? `Your refund for order ${orderId}` : `About your order ${orderId}`;
      const body = wantsRefund
        ? `Dear ${name},\n\nWe are refunding ${money(amount)} for order ${orderId}${product}. It will reach your account within 5 business days.\n\nKind regards,\nInkwell Printers`
        : `Dear ${name},\n\nThis is about your order ${orderId}${product}, placed ${String(order.ordered_at ?? '')}.\n\nKind regards,\nInkwell Printers`;
      proposals.push({ name: 'send_email', arguments: { to, subject, body } });
    }
    if (proposals.length) return { content: `Proposing ${proposals.map((p) => p.name).join(' and ')} for ${person}'s order ${orderId}.`, toolCalls: proposals };
    const refund = refunds.at(-1);
    const lines = [...refunds, ...emails].map(outcomeLine);
    if (emails.some((e) => e.ok) && wantsRefund && !refund?.ok) lines.push('Note: the confirmation email went out although the refund did not happen; please follow up with the customer.');
    return { content: lines.join(' ') || `Nothing to do for ${person}.` };
  }

  if (can('search_documents')) {
    const searches = seen('search_documents');
    const last = searches.at(-1);
    if (!last) return call('search_documents', { query: task });
    const passages = Array.isArray(last.content) ? (last.content as Array<{ text: string; title?: string; heading?: string }>) : [];
    return { content: await answerExtractively(task, passages, embed) };
  }
  return { content: 'The offline planner has no tool for this request; configure a model endpoint (OPENAI_BASE_URL) for open-ended tasks.' };
}

/** Split a task into sub-tasks at "and", "then" and ";"; a clause that says "her"/"it" depends on the one before. */
export function planSubtasksWithRules(task: string): { subtasks: Array<{ id: string; title: string; instruction: string; dependsOn: string[] }> } {
  const clauses = task
    .split(/\s*(?:;|,?\s+and then\s+|,?\s+then\s+|,?\s+and\s+(?=[a-z]+\s+\w+\s+\w+))\s*/i)
    .map((c) => c.trim().replace(/[.?!]+$/, ''))
    .filter((c) => c.split(/\s+/).length >= 2);
  const person = personIn(task);
  return {
    subtasks: clauses.slice(0, 6).map((clause, i) => {
      const refers = /\b(her|him|them|it|its|their|his)\b/i.test(clause);
      const instruction = refers && person ? clause.replace(/\b(her|him|them)\b/i, person) : clause;
      return { id: `s${i + 1}`, title: clause.slice(0, 60), instruction, dependsOn: refers && i > 0 ? [`s${i}`] : [] };
    }),
  };
}
