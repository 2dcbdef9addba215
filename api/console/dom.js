// Building the page's elements. Every piece of data becomes a text node (textContent), never
// markup: model output, tool output and arguments are untrusted text, and the CSP forbids
// inline script besides. There is no innerHTML anywhere in the console.

/**
 * el('button', { class: 'primary', type: 'submit', onclick: fn }, 'Approve', …)
 * Props: `class`, `text`, `dataset` (an object), `on<event>` (a listener); anything else is an
 * attribute (false/undefined/null leave it out, true sets it empty). Children: nodes or strings
 * (as text), arrays of them, and null/undefined/false (skipped).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace everything inside `node` with `children`. */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A `<time>`: relative to now ("in 23 h", "4 min ago"), the exact instant in its title. */
export function time(iso) {
  if (!iso) return el('span', { class: 'muted', text: '—' });
  const at = new Date(iso);
  return el('time', { datetime: at.toISOString(), title: at.toLocaleString() }, relative(at));
}

export function relative(at, now = Date.now()) {
  const seconds = Math.round((at.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 5) return 'just now';
  const text = abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.round(abs / 60)} min` : abs < 86_400 ? `${Math.floor(abs / 3600)} h ${Math.floor((abs % 3600) / 60)} min` : `${Math.round(abs / 86_400)} d`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

/** A JSON value as indented text, for a `<pre>`. */
export function json(value) {
  return JSON.stringify(value, null, 2) ?? '';
}

/** A small coloured label: a status, a verdict. */
export function badge(text, kind = String(text)) {
  return el('span', { class: `badge badge-${kind.replace(/[^a-z0-9_-]/gi, '_')}`, text });
}
