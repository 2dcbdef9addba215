// The JSON API, as the console calls it: the API key from this tab's sessionStorage sent as the
// normal Authorization header on every call, and the error body's message surfaced as it is.
const KEY = 'gatehouse.console.apiKey';

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const session = {
  key: () => sessionStorage.getItem(KEY),
  signIn: (key) => sessionStorage.setItem(KEY, key),
  signOut: () => sessionStorage.removeItem(KEY),
};

function headers(extra = {}, key = session.key()) {
  return { ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
}

/**
 * One call; resolves to the JSON body of a 2xx, throws ApiError with the API's message otherwise.
 * `key` overrides the session's (signing in checks a key before keeping it).
 */
export async function api(method, path, body, key = session.key()) {
  const res = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }, key),
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  const text = await res.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const error = parsed?.error;
    throw new ApiError(res.status, error?.code ?? 'http_error', error?.message ?? `${res.status} ${res.statusText}`, error?.details);
  }
  return parsed;
}

/**
 * A task's server-sent events. EventSource cannot send an Authorization header, so the stream is
 * read with fetch and parsed here (the event-stream format: `id:`, `event:`, `data:` lines, a
 * blank line ending each event). Resolves when the stream ends (the task finished) or `signal`
 * aborts; `onEvent({ id, event, data })` is called for each event as it arrives.
 */
export async function streamEvents(taskId, { since = 0, signal, onEvent }) {
  const res = await fetch(`/v1/tasks/${encodeURIComponent(taskId)}/events?since=${since}`, { headers: headers({ accept: 'text/event-stream' }), signal, cache: 'no-store' });
  if (!res.ok) {
    const body = await res.json().catch(() => undefined);
    throw new ApiError(res.status, body?.error?.code ?? 'http_error', body?.error?.message ?? `${res.status} ${res.statusText}`);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = parseEvent(block);
      if (event) onEvent(event);
    }
  }
}

function parseEvent(block) {
  let id;
  let event = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue; // a comment: the keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = Number(value);
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (!data.length) return undefined;
  let parsed;
  try {
    parsed = JSON.parse(data.join('\n'));
  } catch {
    parsed = { text: data.join('\n') };
  }
  return { id, event, data: parsed };
}
