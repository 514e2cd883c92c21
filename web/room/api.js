// What every part of the room's page shares: the elements, the clock, storage, and the HTTP
// calls with their retries. An ES module, served as is (src/api/room-page.ts).

export const el = (id) => document.getElementById(id);
export const count = new Intl.NumberFormat();
// The buyer's token, sent with every call; set once by the page.
export const session = { token: null };
let skewMs = 0; // server clock minus ours, from the Date header: the countdown is the server's

export const store = (key, value) => {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch {
    // Storage refused (a private window): a reload joins again, which answers the same place.
  }
};
export const stored = (key) => {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
};
export const show = (id, on = true) => (el(id).hidden = !on);
// Announced to a screen reader (a polite live region, not shown: the page shows the same).
export const say = (text) => (el('announce').textContent = text);
// Shown and announced: what the page is waiting on now.
export const tell = (text) => {
  el('notice').textContent = text;
  say(text);
};
export const problem = (text) => (el('problem').textContent = text);
export const now = () => Date.now() + skewMs;
export const later = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const clock = (iso) =>
  new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function duration(seconds) {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `about ${Math.round(seconds / 60)} min`;
  return `about ${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export function hms(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const days = Math.floor(total / 86400);
  const parts = [(total % 86400) / 3600, (total % 3600) / 60, total % 60];
  const time = parts.map((part) => String(Math.floor(part)).padStart(2, '0')).join(':');
  return (days > 0 ? `${days} d ` : '') + time;
}

// The token comes in the link's fragment (#token=..., never sent to a server or a log) or its
// query (?token=...), and is then taken out of the address bar, so a shared screen or a

export async function call(method, path, headers = {}, body) {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(path, {
        method,
        cache: 'no-store',
        headers: {
          ...(session.token ? { authorization: `Bearer ${session.token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const data = response.status === 204 ? null : await response.json().catch(() => null);
      const date = Date.parse(response.headers.get('date') ?? '');
      if (!Number.isNaN(date) && Math.abs(date - Date.now()) > 2000) skewMs = date - Date.now();
      const wait = Number(response.headers.get('retry-after') ?? 0);
      // Busy or briefly down: the same request again, later (a purchase carries its
      // Idempotency-Key, so a repeat is the same order).
      if ((response.status === 429 || response.status >= 502) && attempt < 20) {
        problem('The shop is busy. Trying again…');
        await later(wait > 0 ? wait * 1000 : Math.min(8000, 500 * 2 ** attempt));
        continue;
      }
      problem('');
      return { status: response.status, data, code: data?.error?.code };
    } catch {
      if (attempt >= 20) throw new Error('network');
      problem('The connection was lost. Trying again…');
      await later(Math.min(8000, 500 * 2 ** attempt));
    }
  }
}
