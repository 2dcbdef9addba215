// The console's entry: sign-in, the hash router (#/inbox, #/approvals/<task>/<approval>,
// #/tasks/<task>, #/reviews, #/reviews/<task>) and the keyboard shortcuts. Each view is a module
// with `render(main, params, ctx)`; it may return a function that stops what it started (a
// refresh timer, an event stream) when the console moves to another view.
import { api, session } from './api.js';
import { el, replace } from './dom.js';
import { renderInbox } from './inbox.js';
import { renderApproval } from './approval.js';
import { renderTimeline } from './timeline.js';
import { renderReviews, renderReview } from './reviews.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const signOut = document.getElementById('sign-out');
const lookup = document.getElementById('task-lookup');
const keys = document.getElementById('keys');
const announcer = document.getElementById('announce');

let me;
let stopView;

const ROUTES = [
  { pattern: /^#\/inbox$/, view: 'inbox', render: (p, ctx) => renderInbox(main, ctx) },
  { pattern: /^#\/approvals\/([^/]+)\/([^/]+)$/, view: 'inbox', render: ([taskId, approvalId], ctx) => renderApproval(main, { taskId, approvalId }, ctx) },
  { pattern: /^#\/tasks\/([^/]+)$/, view: 'task', render: ([taskId], ctx) => renderTimeline(main, { taskId }, ctx) },
  { pattern: /^#\/reviews$/, view: 'reviews', render: (p, ctx) => renderReviews(main, ctx) },
  { pattern: /^#\/reviews\/([^/]+)$/, view: 'reviews', render: ([taskId], ctx) => renderReview(main, { taskId }, ctx) },
];

/** What every view gets: who is signed in, navigation, and a polite announcement for screen readers. */
const ctx = {
  me: () => me,
  go: (hash) => {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  announce: (text) => {
    announcer.textContent = '';
    // A fresh text node after a tick, so the same message twice is announced twice.
    setTimeout(() => (announcer.textContent = text), 30);
  },
  signedOut: () => {
    session.signOut();
    me = undefined;
    route();
  },
};

async function route() {
  if (stopView) stopView();
  stopView = undefined;
  if (!session.key() || !me) {
    if (session.key() && (await loadMe())) return route();
    return showSignIn();
  }
  const hash = location.hash || '#/inbox';
  const match = ROUTES.map((r) => ({ r, m: r.pattern.exec(hash) })).find((x) => x.m);
  for (const a of nav.querySelectorAll('a')) {
    if (match && a.dataset.view === match.r.view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!match) {
    location.hash = '#/inbox';
    return;
  }
  const params = match.m.slice(1).map(decodeURIComponent);
  stopView = await match.r.render(params, ctx);
}

async function loadMe(key) {
  try {
    me = await api('GET', '/v1/me', undefined, key);
  } catch (err) {
    me = undefined;
    return err;
  }
  who.textContent = `${me.user ? me.user.name : `backend key ${me.keyId}`} · ${me.tenantId} · ${me.roles.join(', ')}`;
  nav.hidden = lookup.hidden = signOut.hidden = keys.hidden = false;
  return undefined;
}

function showSignIn(message) {
  nav.hidden = lookup.hidden = signOut.hidden = keys.hidden = true;
  who.textContent = '';
  const error = el('p', { class: 'error', role: 'alert', id: 'signin-error' }, message ?? '');
  const input = el('input', { id: 'api-key', name: 'apiKey', type: 'password', autocomplete: 'off', required: true, size: 48, 'aria-describedby': 'signin-help signin-error' });
  const form = el(
    'form',
    {
      class: 'card signin',
      'aria-labelledby': 'signin-title',
      onsubmit: async (e) => {
        e.preventDefault();
        const key = input.value.trim();
        const failed = await loadMe(key);
        if (failed) {
          error.textContent = failed.status === 401 ? 'That key was not accepted: check it and try again.' : `Could not sign in: ${failed.message}`;
          input.setAttribute('aria-invalid', 'true');
          input.focus();
          return;
        }
        session.signIn(key);
        if (!location.hash || location.hash === '#/signin') location.hash = '#/inbox';
        else route();
      },
    },
    el('h1', { id: 'signin-title', text: 'Sign in' }),
    el('p', { id: 'signin-help', class: 'muted' }, 'Paste an API key of your tenant. It stays in this browser tab (sessionStorage) and is sent only to this server, as the Authorization header of each API call.'),
    el('label', { for: 'api-key', text: 'API key' }),
    input,
    el('button', { type: 'submit', class: 'primary', text: 'Sign in' }),
    error,
  );
  replace(main, form);
  input.focus();
}

signOut.addEventListener('click', () => ctx.signedOut());
lookup.addEventListener('submit', (e) => {
  e.preventDefault();
  const id = new FormData(lookup).get('taskId').toString().trim();
  if (id) ctx.go(`#/tasks/${encodeURIComponent(id)}`);
});
window.addEventListener('hashchange', route);

// Shortcuts: never while typing, never with a modifier (the browser's own keys stay its own).
let pendingG = false;
document.addEventListener('keydown', (e) => {
  if (!me || e.ctrlKey || e.metaKey || e.altKey) return;
  const target = e.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement || target?.isContentEditable) return;
  if (pendingG) {
    pendingG = false;
    if (e.key === 'i') return ctx.go('#/inbox');
    if (e.key === 'v') return ctx.go('#/reviews');
  }
  if (e.key === 'g') {
    pendingG = true;
    return;
  }
  if (e.key === 'j' || e.key === 'k') {
    const rows = [...main.querySelectorAll('[data-row-link]')];
    if (!rows.length) return;
    const at = rows.indexOf(document.activeElement);
    const next = e.key === 'j' ? Math.min(rows.length - 1, at + 1) : Math.max(0, at < 0 ? 0 : at - 1);
    rows[next].focus();
    e.preventDefault();
    return;
  }
  // A view's own keys (data-shortcut="a"): they move the focus to the control, never press it —
  // an approval runs a refund, so it takes a deliberate Enter on the focused button.
  const action = main.querySelector(`[data-shortcut="${CSS.escape(e.key)}"]`);
  if (action && !action.disabled) {
    e.preventDefault();
    action.focus();
  }
});

route();
