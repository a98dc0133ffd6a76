/**
 * The console's static page and style sheet. They live in a module (not as
 * .html/.css files) so that `tsc` ships them in dist/ with no copy step.
 * The page loads nothing from outside the API server.
 */

/**
 * Where the page's WebSocket client connects, from the node's own listener: its
 * port and path, `wss:` with TLS, and the host when the listener is bound to one
 * address (on a wildcard address the page uses the host it was loaded from).
 */
export interface ConsoleWsAddress {
  port: number;
  path: string;
  secure: boolean;
  host?: string;
}

/**
 * The page; `pushAuth` tells it whether the push API wants a bearer token,
 * `ws` where the WebSocket listener is (as `data-ws-*` attributes of the body).
 */
export function consoleHtml(pushAuth: boolean, ws?: ConsoleWsAddress): string {
  const wsData =
    ws === undefined
      ? ''
      : ` data-ws-scheme="${ws.secure ? 'wss' : 'ws'}" data-ws-port="${ws.port}" data-ws-path="${attribute(ws.path)}"` +
        (ws.host === undefined ? '' : ` data-ws-host="${attribute(ws.host)}"`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Herald console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/console.css">
<script type="module" src="/console/app.js"></script>
</head>
<body data-push-auth="${pushAuth ? 'required' : 'open'}"${wsData}>
<header>
  <h1>Herald console</h1>
  <p>WebSocket <output id="ws-status" data-state="idle">not connected</output>
    <output id="ws-problem" class="error" role="alert" hidden></output></p>
</header>
<main>
  <section id="stats" aria-labelledby="stats-title" class="stats">
    <h2 id="stats-title">Live counters</h2>
    <dl>
      <div><dt>Connections</dt><dd id="stat-connections">–</dd></div>
      <div><dt>By transport</dt><dd id="stat-transports">–</dd></div>
      <div><dt>Topics</dt><dd id="stat-topics">–</dd></div>
      <div><dt>Users</dt><dd id="stat-users">–</dd></div>
      <div><dt>Subscriptions</dt><dd id="stat-subscriptions">–</dd></div>
      <div><dt>Messages/s</dt><dd id="stat-rate">–</dd></div>
      <div><dt>Messages/s, last minute</dt><dd><svg class="sparkline" width="120" height="24" viewBox="0 0 120 24" role="img" aria-label="messages per second over the last minute"><polyline id="stat-sparkline" fill="none" stroke="currentColor" stroke-width="1.5" points=""/></svg></dd></div>
      <div><dt>Messages sent</dt><dd id="stat-sent">–</dd></div>
      <div><dt>Drops</dt><dd id="stat-drops">–</dd></div>
      <div><dt>Uptime</dt><dd id="stat-uptime">–</dd></div>
    </dl>
    <p id="stats-error" class="error" role="alert" hidden></p>
  </section>

  <section aria-labelledby="connection-title">
    <h2 id="connection-title">Connection</h2>
    <form id="connect-form">
      <label for="ws-url">WebSocket URL</label>
      <input id="ws-url" name="ws" type="url" required spellcheck="false" autocomplete="off">
      <label for="login">Login credential <span class="hint">(optional, for private topics)</span></label>
      <input id="login" name="login" type="password" autocomplete="off">
      <div class="buttons">
        <button type="submit">Connect</button>
        <button type="button" id="disconnect">Disconnect</button>
      </div>
    </form>
  </section>

  <section aria-labelledby="subscribe-title">
    <h2 id="subscribe-title">Subscribe</h2>
    <form id="subscribe-form">
      <label for="sub-topic">Topic</label>
      <input id="sub-topic" name="topic" required spellcheck="false" autocomplete="off">
      <label class="check"><input id="sub-private" name="private" type="checkbox"> Private topic</label>
      <div class="buttons">
        <button type="submit">Subscribe</button>
        <button type="button" id="unsubscribe">Unsubscribe</button>
      </div>
    </form>
    <h3 id="subs-title">Subscriptions</h3>
    <ul id="subs" aria-labelledby="subs-title"></ul>
    <p id="subs-empty" class="hint">None yet.</p>
  </section>

  <section aria-labelledby="push-title">
    <h2 id="push-title">Push</h2>
    <form id="push-form">
      <label for="push-topic">Topic <span class="hint">(empty: none)</span></label>
      <input id="push-topic" name="topic" spellcheck="false" autocomplete="off">
      <label for="push-uid">User id <span class="hint">(empty: none)</span></label>
      <input id="push-uid" name="uid" spellcheck="false" autocomplete="off">
      <label for="push-data">Data</label>
      <textarea id="push-data" name="data" rows="3" required></textarea>
      <div id="push-token-row" hidden>
        <label for="push-token">Push API token <span class="hint">(kept for this tab only)</span></label>
        <input id="push-token" name="token" type="password" autocomplete="off">
      </div>
      <div class="buttons"><button type="submit">Push</button></div>
      <p>Result: <output id="push-result">–</output></p>
    </form>
  </section>

  <section aria-labelledby="presence-title" class="presence">
    <h2 id="presence-title">Presence <span class="hint">(who is subscribed to the topics above, on every node)</span></h2>
    <ul id="presence" aria-labelledby="presence-title" aria-live="polite"></ul>
    <p id="presence-empty" class="hint">Subscribe to a topic to see who is on it.</p>
  </section>

  <section aria-labelledby="log-title" class="log">
    <div class="log-head">
      <h2 id="log-title">Messages</h2>
      <button type="button" id="clear-log">Clear</button>
    </div>
    <ol id="log" role="log" aria-live="polite" aria-labelledby="log-title" tabindex="0"></ol>
  </section>
</main>
</body>
</html>
`;
}

/** `value` safe inside a double-quoted attribute. */
function attribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export const CONSOLE_CSS = `:root {
  color-scheme: light dark;
  --fg: #1b1f24; --muted: #59636e; --bg: #f6f8fa; --panel: #fff; --line: #d0d7de;
  --accent: #0969da; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --panel: #151b23; --line: #3d444d;
    --accent: #4493f8; --ok: #3fb950; --warn: #d29922; --bad: #f85149; }
}
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0 1.5rem; padding: .75rem 1.25rem;
  border-bottom: 1px solid var(--line); background: var(--panel); }
header h1 { margin: 0; font-size: 1.25rem; }
header p { margin: 0; color: var(--muted); }
h2 { margin: 0 0 .6rem; font-size: 1.05rem; }
h3 { margin: .9rem 0 .3rem; font-size: .95rem; }
main { display: grid; gap: 1rem; padding: 1rem 1.25rem; grid-template-columns: repeat(3, minmax(0, 1fr)); }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: .9rem 1rem; min-width: 0; }
section.stats, section.log, section.presence { grid-column: 1 / -1; }
@media (max-width: 900px) { main { grid-template-columns: minmax(0, 1fr); } }
dl { display: grid; grid-template-columns: repeat(auto-fit, minmax(8.5rem, 1fr)); gap: .5rem; margin: 0; }
dl div { border: 1px solid var(--line); border-radius: 6px; padding: .4rem .6rem; }
dt { color: var(--muted); font-size: .8rem; }
dd { margin: 0; font-size: 1.45rem; font-variant-numeric: tabular-nums; }
.stale dd { opacity: .5; }
.sparkline { display: block; width: 100%; max-width: 120px; height: 1.45rem; color: var(--accent); }
form { display: grid; gap: .3rem; }
label { font-weight: 600; font-size: .9rem; }
label.check { font-weight: normal; display: flex; gap: .4rem; align-items: center; }
.hint { color: var(--muted); font-weight: normal; font-size: .85rem; }
input, textarea, button { font: inherit; color: inherit; }
input:not([type=checkbox]), textarea { width: 100%; padding: .35rem .5rem; border: 1px solid var(--line);
  border-radius: 6px; background: var(--bg); }
textarea { resize: vertical; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.buttons { display: flex; gap: .5rem; margin-top: .3rem; }
button { padding: .35rem .9rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); cursor: pointer; }
button[type=submit] { background: var(--accent); border-color: var(--accent); color: #fff; }
button:disabled { opacity: .5; cursor: default; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
#ws-status { font-weight: 600; }
#ws-problem { margin-left: .5rem; }
#ws-status[data-state=open] { color: var(--ok); }
#ws-status[data-state=connecting], #ws-status[data-state=reconnecting] { color: var(--warn); }
#ws-status[data-state=closed] { color: var(--bad); }
.error, output.error { color: var(--bad); }
output.ok { color: var(--ok); }
#subs { list-style: none; margin: 0; padding: 0; display: grid; gap: .3rem; }
#subs li { display: flex; justify-content: space-between; align-items: center; gap: .5rem; }
#subs code { overflow-wrap: anywhere; }
.tag { font-size: .75rem; color: var(--muted); border: 1px solid var(--line); border-radius: 4px; padding: 0 .3rem; margin-left: .3rem; }
.log-head { display: flex; justify-content: space-between; align-items: baseline; }
#log { margin: 0; padding: .25rem 0; list-style: none; height: 18rem; overflow-y: auto; border: 1px solid var(--line);
  border-radius: 6px; background: var(--bg); font: 13px/1.5 ui-monospace, SFMono-Regular, Menlo, monospace; }
#log li { display: grid; grid-template-columns: 7.5rem 10rem 4.5rem minmax(0, 1fr); gap: .6rem; padding: 0 .6rem; }
#log li:nth-child(even) { background: color-mix(in srgb, var(--panel) 60%, transparent); }
#log li.event { grid-template-columns: 7.5rem minmax(0, 1fr); color: var(--muted); font-style: italic; }
#log time { color: var(--muted); }
#log .topic { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; color: var(--accent); }
#log .seq { color: var(--muted); text-align: right; }
#presence { list-style: none; margin: 0; padding: 0; display: grid; gap: .5rem; }
#presence > li[data-state=unavailable] .summary, #presence > li[data-state=error] .summary { color: var(--muted); }
#presence ul { margin: .2rem 0 0; padding-left: 1.2rem; font: 13px/1.5 ui-monospace, SFMono-Regular, Menlo, monospace; }
#presence .summary { margin-left: .5rem; }
#log .data { overflow-wrap: anywhere; white-space: pre-wrap; }
`;
