// A task's timeline: its steps (latency, model, tokens, cost, guardrail verdicts), its approvals
// and what people decided, its answer, and its live event stream beside them. Each event that
// changes what the status shows (a step finished, an approval asked or decided, the end) reloads
// the status, so the timeline follows the task while the page is open.
import { api, streamEvents } from './api.js';
import { badge, el, json, replace, time } from './dom.js';

export async function renderTimeline(main, { taskId }, ctx) {
  const summary = el('div', { class: 'task-summary' });
  const steps = el('div');
  const approvals = el('div');
  const answer = el('div');
  const events = el('ol', { class: 'events', 'aria-label': 'Events' });
  const streamState = el('p', { class: 'muted small', role: 'status' }, 'Connecting to the event stream…');
  const title = el('h1', { id: 'task-title', tabindex: '-1' }, 'Task ', el('code', { text: taskId }));
  replace(
    main,
    el('p', { class: 'crumbs' }, el('a', { href: '#/inbox', text: 'Inbox' }), ' / task timeline'),
    el('div', { class: 'heading' }, title),
    summary,
    el(
      'div',
      { class: 'columns timeline' },
      el(
        'div',
        { class: 'column wide' },
        el('section', { 'aria-labelledby': 'steps-title' }, el('h2', { id: 'steps-title', text: 'Steps' }), steps),
        el('section', { 'aria-labelledby': 'approvals-title' }, el('h2', { id: 'approvals-title', text: 'Approvals' }), approvals),
        answer,
      ),
      el('aside', { class: 'column', 'aria-labelledby': 'events-title' }, el('h2', { id: 'events-title', text: 'Live events' }), streamState, el('div', { class: 'events-box', role: 'log', 'aria-live': 'off', tabindex: '0', 'aria-labelledby': 'events-title' }, events)),
    ),
  );
  title.focus();

  let stopped = false;
  async function load() {
    let task;
    try {
      task = await api('GET', `/v1/tasks/${encodeURIComponent(taskId)}`);
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      replace(summary, el('p', { class: 'error', role: 'alert' }, `Could not load task ${taskId}: ${err.message}`));
      return;
    }
    if (stopped) return;
    // A reload must not take the focus away from a link the reader is on.
    const focusedHref = main.contains(document.activeElement) ? document.activeElement.getAttribute('href') : null;
    replace(summary, taskFacts(task));
    replace(steps, task.steps.length ? el('div', { class: 'scroll-x' }, stepTable(task.steps)) : el('p', { class: 'muted', text: 'No steps yet.' }));
    const all = task.agent?.approvals ?? [];
    replace(approvals, all.length ? approvalTable(taskId, all) : el('p', { class: 'muted', text: task.type === 'agent' ? 'No approvals asked.' : 'Answer tasks ask for no approvals.' }));
    replace(answer, answerSection(task, taskId));
    if (focusedHref) main.querySelector(`[href="${CSS.escape(focusedHref)}"]`)?.focus();
  }
  await load();

  // Reload the status at most every 400 ms while events arrive.
  let reloadTimer;
  const reloadSoon = () => {
    if (reloadTimer) return;
    reloadTimer = setTimeout(() => {
      reloadTimer = undefined;
      void load();
    }, 400);
  };
  const abort = new AbortController();
  let count = 0;
  let lastId = 0;
  let finished = false;
  let failed;
  const onEvent = (e) => {
    // The API reports a stream it cannot go on with as an `error` event (no id), then ends it.
    if (e.event === 'error') {
      failed = e.data?.message ?? 'the stream failed';
      return;
    }
    count += 1;
    if (typeof e.id === 'number') lastId = e.id;
    if (e.event === 'task_finished') finished = true;
    replace(streamState, `Live: ${count} event${count === 1 ? '' : 's'}`);
    events.append(eventItem(e));
    events.parentElement.scrollTop = events.parentElement.scrollHeight;
    if (e.event !== 'step_started' && e.event !== 'answer_delta') reloadSoon();
    if (e.event === 'approval_requested') ctx.announce(`New approval: ${e.data.approvalId} ${e.data.tool}`);
  };
  // The stream ends with the task; one cut short (a restart, the network) resumes after the last event.
  void (async () => {
    for (let attempt = 0; !stopped && !finished && attempt < 20; attempt++) {
      try {
        await streamEvents(taskId, { since: lastId, signal: abort.signal, onEvent });
        if (finished || stopped || failed) break;
      } catch (err) {
        if (stopped || err.name === 'AbortError') return;
        if (err.status === 401 || err.status === 403 || err.status === 404) {
          replace(streamState, el('span', { class: 'error' }, `Event stream: ${err.message}`));
          return;
        }
      }
      replace(streamState, `Reconnecting to the event stream after event ${lastId}…`);
      await new Promise((r) => setTimeout(r, 2_000));
    }
    if (stopped) return;
    replace(streamState, failed ? el('span', { class: 'error' }, `Event stream: ${failed}`) : `The stream ended: ${count} event${count === 1 ? '' : 's'}.`);
  })();

  return () => {
    stopped = true;
    abort.abort();
    clearTimeout(reloadTimer);
  };
}

function taskFacts(task) {
  const u = task.usage ?? {};
  const used = task.agent?.used;
  return el(
    'dl',
    { class: 'facts inline-facts' },
    el('dt', { text: 'Type' }),
    el('dd', { text: task.type }),
    el('dt', { text: 'Status' }),
    el('dd', {}, badge(task.status)),
    el('dt', { text: 'Started' }),
    el('dd', {}, time(task.createdAt)),
    task.closedAt ? [el('dt', { text: 'Closed' }), el('dd', {}, time(task.closedAt))] : null,
    el('dt', { text: 'Tokens' }),
    el('dd', { text: `${u.inputTokens ?? 0} in · ${u.outputTokens ?? 0} out${u.cachedReadTokens ? ` · ${u.cachedReadTokens} cached` : ''}` }),
    el('dt', { text: 'Cost' }),
    el('dd', { text: usd(u.costUsd) }),
    used ? [el('dt', { text: 'Budget used' }), el('dd', { text: `${used.steps}/${task.agent.budgets.maxSteps} steps · ${used.toolCalls} tool calls · ${used.wallSeconds}s` })] : null,
  );
}

function usd(n) {
  return n ? `$${n.toFixed(n < 0.01 ? 6 : 4)}` : '$0';
}

/** Each guardrail check a step ran, as "check: verdict" badges (a step's detail.checks or detail.guardrails). */
function verdicts(step) {
  const checks = [...(step.detail?.checks ?? []), ...(step.detail?.guardrails ?? [])].filter((c) => c && typeof c.check === 'string');
  if (!checks.length) return null;
  return el('span', { class: 'verdicts' }, checks.map((c) => badge(`${c.check}: ${c.verdict}`, c.verdict)));
}

/** What a step did, in a few words: its summary, the tools it called, its action or remedy. */
function what(step) {
  const d = step.detail ?? {};
  const parts = [];
  if (typeof d.summary === 'string') parts.push(d.summary);
  if (Array.isArray(d.calls)) parts.push(d.calls.length ? `calls ${d.calls.map((c) => c.tool).join(', ')}` : 'answers');
  if (typeof d.action === 'string') parts.push(d.action + (d.reason ? ` (${d.reason})` : ''));
  if (typeof d.remedy === 'string') parts.push(`remedy: ${d.remedy}`);
  if (typeof d.decision === 'string') parts.push(`review: ${d.decision}`);
  if (typeof d.approvalId === 'string') parts.push(d.approvalId);
  if (typeof d.target === 'string') parts.push(`route: ${d.target}${d.intent ? ` (${d.intent})` : ''}`);
  if (typeof d.passed === 'boolean') parts.push(d.passed ? 'passed' : `failed: ${(d.failures ?? []).join(', ')}`);
  return parts.join(' · ');
}

function stepTable(steps) {
  const first = Date.parse(steps[0].startedAt);
  return el(
    'table',
    { class: 'grid steps' },
    el('caption', { class: 'visually-hidden', text: 'Steps in the order they started' }),
    el('thead', {}, el('tr', {}, ['#', 'Step', 'Status', 'At', 'Latency', 'Model, tokens in/out', 'Cost', 'Guardrails', 'What'].map((h) => el('th', { scope: 'col', text: h })))),
    el(
      'tbody',
      {},
      steps.map((s, i) =>
        el(
          'tr',
          { class: s.status === 'failed' ? 'flagged' : undefined },
          el('td', { class: 'num', text: i + 1 }),
          el('th', { scope: 'row' }, el('code', { text: s.name })),
          el('td', {}, badge(s.status)),
          el('td', { class: 'num', title: s.startedAt, text: `+${((Date.parse(s.startedAt) - first) / 1000).toFixed(2)}s` }),
          el('td', { class: 'num', text: s.latencyMs === undefined ? '—' : `${Math.round(s.latencyMs)} ms` }),
          el('td', { class: 'num' }, s.model ? el('span', { class: 'muted', text: `${s.model} ` }) : null, s.usage ? `${s.usage.inputTokens}/${s.usage.outputTokens}` : '—'),
          el('td', { class: 'num', text: s.usage ? usd(s.usage.costUsd) : '—' }),
          el('td', { class: 'guardrails' }, verdicts(s) ?? el('span', { class: 'muted', text: '—' })),
          el('td', { class: 'small' }, el('span', { class: 'untrusted-text', text: what(s) }), s.error ? el('div', { class: 'error', text: s.error }) : null),
        ),
      ),
    ),
  );
}

function approvalTable(taskId, approvals) {
  return el(
    'table',
    { class: 'grid' },
    el('caption', { class: 'visually-hidden', text: "The task's approvals" }),
    el('thead', {}, el('tr', {}, ['Approval', 'Action', 'Status', 'Approved by', 'Reason', 'Requested'].map((h) => el('th', { scope: 'col', text: h })))),
    el(
      'tbody',
      {},
      approvals.map((a) =>
        el(
          'tr',
          {},
          el('th', { scope: 'row' }, el('a', { href: `#/approvals/${encodeURIComponent(taskId)}/${encodeURIComponent(a.approvalId)}`, 'data-row-link': true, text: a.approvalId })),
          el('td', {}, el('code', { text: a.tool }), ' ', a.preview.summary),
          el('td', {}, badge(a.status)),
          el('td', { text: a.approvedBy?.join(', ') || '—' }),
          el('td', { text: a.reason ?? '—' }),
          el('td', {}, time(a.requestedAt)),
        ),
      ),
    ),
  );
}

function answerSection(task, taskId) {
  const text = task.result?.answer ?? task.agent?.answers?.at(-1);
  const parts = [];
  if (task.review) {
    parts.push(el('p', {}, badge('needs review', 'warn'), ` ${task.review.reason} · `, el('a', { href: `#/reviews/${encodeURIComponent(taskId)}`, text: 'Open on the review desk' })));
  }
  if (text) parts.push(el('blockquote', { class: 'answer untrusted-text', text }));
  if (task.result?.guardrails) parts.push(el('p', { class: 'small' }, 'Output guardrails: ', badge(task.result.guardrails.verdict)));
  if (task.error) parts.push(el('p', { class: 'error', text: `${task.error.type ?? 'error'}: ${task.error.message}` }));
  if (!parts.length) return null;
  return el('section', { 'aria-labelledby': 'answer-title' }, el('h2', { id: 'answer-title', text: 'Answer' }), parts);
}

function eventItem(e) {
  const d = e.data ?? {};
  const text =
    d.step !== undefined
      ? `${d.step}${d.status ? ` ${d.status}` : ''}${d.latencyMs !== undefined ? ` (${Math.round(d.latencyMs)} ms)` : ''}${d.summary ? `: ${d.summary}` : ''}`
      : d.approvalId !== undefined
        ? `${d.approvalId} ${d.tool ?? ''} ${d.status ?? ''}${d.reason ? `: ${d.reason}` : ''}${d.preview ? ` — ${d.preview}` : ''}`
        : d.text ?? d.answer ?? d.endReason ?? d.reason ?? json(d);
  return el('li', {}, el('span', { class: 'seq', text: e.id ?? '' }), el('span', { class: `event-type event-${e.event}`, text: e.event }), el('span', { class: 'event-text', text }));
}
