/**
 * The console's push form (runs in the browser, served as
 * `/console/push-form.js`): a one-item `POST /v1/push` with the form's data,
 * topic and uid, and the push API's bearer token, kept for the tab's session.
 */
import { element, field, sessionStorage } from './dom.js';

/** sessionStorage key of the push API token. */
export const TOKEN_KEY = 'herald.console.pushToken';

export function showPushResult(text: string, ok: boolean): void {
  const out = element('push-result');
  out.textContent = text;
  out.className = ok ? 'ok' : 'error';
}

/** Send the form's push as a one-item batch and show the answer; a 401 asks for the token. */
export async function push(): Promise<void> {
  showPushResult('sending…', true);
  const item: Record<string, string> = { data: field('push-data').value };
  const topic = field('push-topic').value.trim();
  const uid = field('push-uid').value.trim();
  if (topic !== '') item.topic = topic;
  if (uid !== '') item.uid = uid;
  const headers = { 'Content-Type': 'application/json', ...apiHeaders() };
  const token = field('push-token').value.trim();
  if (token !== '') sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  const res = await fetch('/v1/push', { method: 'POST', headers, body: JSON.stringify([item]) });
  const body = (await res.json().catch(() => undefined)) as PushAnswer | undefined;
  showPushAnswer(res.status, body);
}

/** The push API's bearer token from the form, when one is given. */
export function apiHeaders(): Record<string, string> {
  const token = field('push-token').value.trim();
  return token === '' ? {} : { Authorization: `Bearer ${token}` };
}

interface PushAnswer {
  results?: { ok: boolean; error?: { code: string; message: string } }[];
  error?: { code: string; message: string };
}

function showPushAnswer(status: number, body: PushAnswer | undefined): void {
  const result = body?.results?.[0];
  if (status === 200 && result?.ok === true) return showPushResult('accepted', true);
  const error = result?.error ?? body?.error;
  showPushResult(error === undefined ? `HTTP ${status}` : `${error.code}: ${error.message}`, false);
  if (status === 401) {
    element('push-token-row').hidden = false;
    field('push-token').focus();
  }
}
