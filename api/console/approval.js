// One approval: what the action would do, its arguments and where each came from, who must
// decide it and by when — and the decision: approve, reject with a reason, or approve edited
// arguments (a new approval that shows the edit, which is then decided like any other).
import { api } from './api.js';
import { badge, el, json, replace, time } from './dom.js';
import { provenanceTable, riskOf } from './approval-parts.js';

/** A note to show on the next approval view (after an edit opened a new approval). */
let notice;

export async function renderApproval(main, { taskId, approvalId }, ctx) {
  replace(main, el('p', { class: 'muted', role: 'status', text: `Loading ${approvalId}…` }));
  let approval;
  try {
    approval = await loadApproval(taskId, approvalId);
  } catch (err) {
    if (err.status === 401) return ctx.signedOut();
    replace(main, el('p', { class: 'error', role: 'alert' }, `Could not load ${approvalId} of ${taskId}: ${err.message}`), el('p', {}, el('a', { href: '#/inbox', text: 'Back to the inbox' })));
    return;
  }
  if (!approval) {
    replace(main, el('p', { class: 'error', role: 'alert', text: `Task ${taskId} has no approval ${approvalId}.` }), el('p', {}, el('a', { href: '#/inbox', text: 'Back to the inbox' })));
    return;
  }
  const shown = notice;
  notice = undefined;
  const outcome = el('div', { class: 'outcome', role: 'status', 'aria-live': 'polite' }, shown ?? '');
  const pending = approval.status === 'pending';
  const title = el('h1', { id: 'approval-title', tabindex: '-1', text: approval.preview.summary });

  replace(
    main,
    el('p', { class: 'crumbs' }, el('a', { href: '#/inbox', text: 'Inbox' }), ' / ', el('a', { href: `#/tasks/${encodeURIComponent(taskId)}`, text: taskId }), ' / ', approvalId),
    el(
      'article',
      { class: 'approval', 'aria-labelledby': 'approval-title' },
      el('div', { class: 'heading' }, title, badge(approval.status)),
      outcome,
      el(
        'div',
        { class: 'columns' },
        el(
          'div',
          { class: 'column' },
          facts(taskId, approval),
          el('section', { 'aria-labelledby': 'changes-title' }, el('h2', { id: 'changes-title', text: 'What would change' }), el('pre', { class: 'json', tabindex: '0', 'aria-labelledby': 'changes-title', text: json(approval.preview.changes) })),
          el('section', { 'aria-labelledby': 'args-title' }, el('h2', { id: 'args-title', text: 'Arguments' }), el('pre', { class: 'json', tabindex: '0', 'aria-labelledby': 'args-title', text: json(approval.arguments) })),
        ),
        el('div', { class: 'column' }, provenanceTable(approval.provenance), pending ? decisionForms(taskId, approval, outcome, ctx) : decided(approval)),
      ),
    ),
  );
  title.focus();
}

async function loadApproval(taskId, approvalId) {
  try {
    const task = await api('GET', `/v1/tasks/${encodeURIComponent(taskId)}`);
    return (task.agent?.approvals ?? []).find((a) => a.approvalId === approvalId);
  } catch (err) {
    // A key that may read approvals but not tasks still sees the pending ones.
    if (err.status !== 403) throw err;
    const { approvals } = await api('GET', '/v1/approvals?status=pending&limit=500');
    return approvals.find((a) => a.taskId === taskId && a.approvalId === approvalId);
  }
}

function facts(taskId, a) {
  const row = (term, ...value) => [el('dt', { text: term }), el('dd', {}, ...value)];
  return el(
    'dl',
    { class: 'facts' },
    row('Tool', el('code', { text: a.tool })),
    row('Task', el('a', { href: `#/tasks/${encodeURIComponent(taskId)}`, text: `${taskId} (timeline)` })),
    row('Needs', riskOf(a).badges),
    row('Approved by', a.approvedBy?.length ? a.approvedBy.join(', ') : el('span', { class: 'muted', text: 'nobody yet' })),
    row('Requested', time(a.requestedAt)),
    row('Expires', time(a.expiresAt)),
    row('Arguments hash', el('code', { class: 'hash', text: a.argumentsHash })),
    row("Agent's rationale", el('span', { class: 'untrusted-text', text: a.rationale })),
  );
}

function decided(a) {
  return el('section', { class: 'card' }, el('h2', { text: 'Decided' }), el('p', {}, `This approval is ${a.status}.`, a.reason ? ` Reason: ${a.reason}` : ''));
}

function decisionForms(taskId, approval, outcome, ctx) {
  const path = `/v1/tasks/${encodeURIComponent(taskId)}/approvals/${encodeURIComponent(approval.approvalId)}`;
  const buttons = [];
  const busy = (on) => buttons.forEach((b) => (b.disabled = on));

  async function decide(body, doing) {
    busy(true);
    replace(outcome, doing);
    try {
      const r = await api('POST', path, { argumentsHash: approval.argumentsHash, ...body });
      return r;
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      replace(outcome, el('p', { class: 'error', role: 'alert' }, err.message));
      busy(false);
      return undefined;
    }
  }

  // Approve as shown.
  const approveButton = el('button', { type: 'submit', class: 'primary', 'data-shortcut': 'a' }, 'Approve');
  buttons.push(approveButton);
  const approveForm = el(
    'form',
    {
      class: 'card decide',
      'aria-labelledby': 'approve-title',
      onsubmit: async (e) => {
        e.preventDefault();
        const r = await decide({ decision: 'approve' }, 'Approving: the action runs once it is approved…');
        if (!r) return;
        ctx.announce(`${approval.approvalId} ${r.status.replaceAll('_', ' ')}`);
        notice = r.status === 'executed' ? `Approved and executed. Result: ${json(r.result)}` : `Approved: ${r.status.replaceAll('_', ' ')}.`;
        ctx.go(location.hash);
      },
    },
    el('h2', { id: 'approve-title', text: 'Approve' }),
    el('p', { class: 'muted small' }, `You approve exactly what is shown (arguments hash ${approval.argumentsHash.slice(0, 12)}…).`),
    approveButton,
  );

  // Reject with a reason: the agent is told it.
  const reason = el('input', { id: 'reject-reason', name: 'reason', required: true, maxlength: 2000, autocomplete: 'off', 'data-shortcut': 'r', 'aria-describedby': 'reject-help' });
  const rejectButton = el('button', { type: 'submit', class: 'danger' }, 'Reject');
  buttons.push(rejectButton);
  const rejectForm = el(
    'form',
    {
      class: 'card decide',
      'aria-labelledby': 'reject-title',
      onsubmit: async (e) => {
        e.preventDefault();
        const text = reason.value.trim();
        if (!text) return reason.focus();
        const r = await decide({ decision: 'reject', reason: text }, 'Rejecting…');
        if (!r) return;
        ctx.announce(`${approval.approvalId} rejected`);
        notice = `Rejected: ${text}`;
        ctx.go(location.hash);
      },
    },
    el('h2', { id: 'reject-title', text: 'Reject' }),
    el('label', { for: 'reject-reason', text: 'Reason (the agent is told)' }),
    el('div', { class: 'inline' }, reason, rejectButton),
    el('p', { id: 'reject-help', class: 'muted small', text: 'Enter rejects.' }),
  );

  // Approve edited arguments: validated here as JSON, then by the tool's schema in the workflow.
  const original = json(approval.arguments);
  const editor = el('textarea', { id: 'edit-arguments', name: 'arguments', rows: 9, spellcheck: 'false', 'data-shortcut': 'e', 'aria-describedby': 'edit-help edit-error' });
  editor.value = original;
  const editError = el('p', { id: 'edit-error', class: 'error', role: 'alert' });
  const editButton = el('button', { type: 'submit' }, 'Approve edited arguments');
  buttons.push(editButton);
  const parsed = () => {
    let value;
    try {
      value = JSON.parse(editor.value);
    } catch (err) {
      return { error: `Not valid JSON: ${err.message}` };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: 'The arguments must be a JSON object ({ … }).' };
    if (json(value) === original) return { error: 'Unchanged: edit the arguments, or use Approve above.' };
    return { value };
  };
  const validate = () => {
    const { error } = parsed();
    editError.textContent = error ?? '';
    if (error) editor.setAttribute('aria-invalid', 'true');
    else editor.removeAttribute('aria-invalid');
    return !error;
  };
  editor.addEventListener('input', () => validate());
  editor.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      editForm.requestSubmit();
    }
  });
  const editForm = el(
    'form',
    {
      class: 'card decide',
      'aria-labelledby': 'edit-title',
      onsubmit: async (e) => {
        e.preventDefault();
        if (!validate()) return editor.focus();
        const r = await decide({ decision: 'approve', arguments: parsed().value }, 'Sending the edit…');
        if (!r) {
          // The workflow's own check (the tool's schema) names the argument: shown by the editor.
          editError.textContent = outcome.textContent;
          editor.setAttribute('aria-invalid', 'true');
          editor.focus();
          return;
        }
        if (r.newApprovalId) {
          notice = `${approval.approvalId} was superseded by ${r.newApprovalId}, which shows your edit: review it and approve it.`;
          ctx.announce(notice);
          ctx.go(`#/approvals/${encodeURIComponent(taskId)}/${encodeURIComponent(r.newApprovalId)}`);
        } else {
          notice = `Edit sent: ${r.status}.`;
          ctx.go(location.hash);
        }
      },
    },
    el('h2', { id: 'edit-title', text: 'Approve edited arguments' }),
    el('label', { for: 'edit-arguments', text: 'Arguments (JSON)' }),
    editor,
    editError,
    el('p', { id: 'edit-help', class: 'muted small', text: 'Ctrl+Enter sends. The edit opens a new approval showing it, to approve again.' }),
    editButton,
  );
  return el('section', { class: 'decisions', 'aria-label': 'Decision' }, approveForm, rejectForm, editForm);
}
