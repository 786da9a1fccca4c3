/**
 * The topology as a picture: `GET /topology/view` is a small HTML page that fetches `GET /topology` (JSON, needs
 * the bearer token like every operational route) and renders its Mermaid source to SVG in the browser with a copy
 * of the `mermaid` package's browser bundle served by this instance (no CDN, so it works offline and behind
 * egress filters).
 *
 * A browser cannot attach a bearer token to a navigation, so the page, its script and the Mermaid bundle hold no
 * data and are public ({@link TOPOLOGY_PAGE_PUBLIC_PATHS}); the page asks for the token, keeps it in
 * `sessionStorage` (gone when the tab closes) and sends it as `Authorization: Bearer` to `/topology`. Without a
 * configured API token the page renders at once.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);
const MERMAID_FILE = require.resolve('mermaid/dist/mermaid.min.js');
const MERMAID_VERSION = (
  JSON.parse(readFileSync(require.resolve('mermaid/package.json'), 'utf8')) as {
    version: string;
  }
).version;

/** The page. */
export const TOPOLOGY_VIEW_PATH = '/topology/view';
/** The page's own script (external, so the page's CSP needs no 'unsafe-inline' for scripts). */
export const TOPOLOGY_SCRIPT_PATH = '/topology/view.js';
/** The Mermaid browser bundle; versioned URL, so it may be cached for a year. */
export const MERMAID_PATH = `/topology/assets/mermaid-${MERMAID_VERSION}.min.js`;

/** Paths of this module that hold no data and are served without a token. */
export const TOPOLOGY_PAGE_PUBLIC_PATHS: readonly string[] = [
  TOPOLOGY_VIEW_PATH,
  TOPOLOGY_SCRIPT_PATH,
  MERMAID_PATH,
];

// Mermaid writes <style> into the SVG (style-src 'unsafe-inline'); nothing else is inline.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>urp-case-sync topology</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2328; }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; }
  form { display: flex; gap: .5rem; align-items: center; margin-bottom: 1rem; }
  form[hidden] { display: none; }
  input { font: inherit; padding: .3rem .5rem; width: 22rem; }
  button { font: inherit; padding: .3rem .8rem; }
  #status { color: #57606a; margin: .5rem 0; }
  #status.error { color: #cf222e; }
  #diagram svg { max-width: 100%; height: auto; }
  pre { background: #f6f8fa; padding: 1rem; overflow: auto; }
</style>
</head>
<body>
<h1>urp-case-sync topology</h1>
<form id="token-form" hidden>
  <label for="token">API token</label>
  <input id="token" type="password" autocomplete="off" placeholder="API_TOKEN of this service">
  <button type="submit">Show topology</button>
</form>
<p id="status">Loading the topology…</p>
<div id="diagram"></div>
<details><summary>Text description</summary><pre id="description"></pre></details>
<script src="${MERMAID_PATH}"></script>
<script src="${TOPOLOGY_SCRIPT_PATH}"></script>
</body>
</html>
`;

/* The page's script (plain browser JavaScript, served as is). */
const SCRIPT = `'use strict';
(function () {
  const KEY = 'urp-case-sync.apiToken';
  const form = document.getElementById('token-form');
  const input = document.getElementById('token');
  const status = document.getElementById('status');
  const say = (text, isError) => { status.textContent = text; status.className = isError ? 'error' : ''; };
  mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', flowchart: { htmlLabels: false } });

  async function load() {
    const token = sessionStorage.getItem(KEY);
    const headers = { accept: 'application/json' };
    if (token) headers.authorization = 'Bearer ' + token;
    let res;
    try {
      res = await fetch('/topology', { headers });
    } catch (e) {
      return say('The topology could not be fetched: ' + e, true);
    }
    if (res.status === 401) {
      sessionStorage.removeItem(KEY);
      form.hidden = false;
      input.focus();
      return say(token ? 'The token was refused; enter the API token.' : 'Enter the API token to see the topology.', !!token);
    }
    if (!res.ok) return say('GET /topology answered ' + res.status + '.', true);
    const body = await res.json();
    form.hidden = true;
    document.getElementById('description').textContent = body.description;
    const { svg } = await mermaid.render('topology-diagram', body.mermaid);
    document.getElementById('diagram').innerHTML = svg;
    say('Rendered from GET /topology at ' + new Date().toLocaleTimeString() + '.', false);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (input.value) sessionStorage.setItem(KEY, input.value);
    input.value = '';
    void load();
  });
  void load();
})();
`;

/**
 * Registers the page, its script and the Mermaid bundle (all public, see the module comment). Must be called
 * before the server starts; throws at import time if the `mermaid` package is not installed.
 */
export function registerTopologyPage(app: FastifyInstance): void {
  app.get(TOPOLOGY_VIEW_PATH, async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('cache-control', 'no-cache')
      .send(PAGE),
  );
  app.get(TOPOLOGY_SCRIPT_PATH, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(SCRIPT),
  );
  app.get(MERMAID_PATH, async (_req, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(createReadStream(MERMAID_FILE)),
  );
}
