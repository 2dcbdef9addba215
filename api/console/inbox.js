// The inbox: the tenant's pending approvals, oldest first, each with what it would do, where its
// arguments came from, what it needs (role, people) and when it expires. Refreshed every few
// seconds without moving the keyboard focus.
import { api } from './api.js';
import { el, replace, time } from './dom.js';
import { provenanceSummary, riskOf } from './approval-parts.js';

const REFRESH_MS = 5_000;

export async function renderInbox(main, ctx) {
  // Not a live region: it changes every few seconds. Changes in the count are announced instead.
  const status = el('p', { class: 'muted' });
  let lastCount;
  const body = el('div');
  const refresh = el('button', { type: 'button', onclick: () => load(true) }, 'Refresh');
  replace(main, el('section', { 'aria-labelledby': 'inbox-title' }, el('div', { class: 'heading' }, el('h1', { id: 'inbox-title', text: 'Pending approvals' }), refresh), status, body));
  main.focus();

  async function load(announce = false) {
    let approvals;
    try {
      ({ approvals } = await api('GET', '/v1/approvals?status=pending&limit=200'));
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      replace(status, el('span', { class: 'error', role: 'alert' }, `Could not load the inbox: ${err.message}`));
      return;
    }
    // Keep the focus on the same row across a refresh.
    const focused = document.activeElement?.dataset?.rowKey;
    replace(status, `${approvals.length} pending · updated `, time(new Date().toISOString()));
    if (announce || (lastCount !== undefined && lastCount !== approvals.length)) ctx.announce(`${approvals.length} pending approvals`);
    lastCount = approvals.length;
    replace(body, approvals.length ? table(approvals) : el('p', { class: 'empty', text: 'Nothing is waiting for an approval.' }));
    if (focused) body.querySelector(`[data-row-key="${CSS.escape(focused)}"]`)?.focus();
  }

  await load();
  const timer = setInterval(() => void load(), REFRESH_MS);
  return () => clearInterval(timer);
}

function table(approvals) {
  return el(
    'table',
    { class: 'grid inbox' },
    el('caption', { class: 'visually-hidden', text: 'Pending approvals; open one to decide it' }),
    el('thead', {}, el('tr', {}, ['Action', 'Tool', 'Where the arguments came from', 'Needs', 'Requested', 'Expires', 'Arguments hash'].map((h) => el('th', { scope: 'col', text: h })))),
    el(
      'tbody',
      {},
      approvals.map((a) => {
        const key = `${a.taskId}/${a.approvalId}`;
        const risk = riskOf(a);
        return el(
          'tr',
          { class: risk.untrusted ? 'flagged' : undefined },
          el(
            'td',
            {},
            el('a', { href: `#/approvals/${encodeURIComponent(a.taskId)}/${encodeURIComponent(a.approvalId)}`, 'data-row-link': true, dataset: { rowKey: key } }, a.preview.summary),
            el('div', { class: 'muted small' }, `${a.approvalId} · `, el('a', { href: `#/tasks/${encodeURIComponent(a.taskId)}`, class: 'quiet', text: a.taskId })),
          ),
          el('td', {}, el('code', { text: a.tool })),
          el('td', { class: 'small' }, provenanceSummary(a.provenance)),
          el('td', {}, risk.badges),
          el('td', {}, time(a.requestedAt)),
          el('td', {}, time(a.expiresAt)),
          el('td', {}, el('code', { class: 'hash', title: a.argumentsHash, text: `${a.argumentsHash.slice(0, 12)}…` })),
        );
      }),
    ),
  );
}
