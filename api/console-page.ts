/**
 * The operator console: `GET /console` is a small HTML page (plain HTML, CSS and vanilla JavaScript, no framework,
 * no build step, nothing from a CDN) with three screens over the JSON API: Cases (look up by urpCaseId or
 * ucmCaseId, the record and its timeline, the recent cases paged), Dead letters (`GET /dlq` filtered and paged,
 * one in full, replay with an in-page confirmation) and Instances (`GET /instances`, refreshed while visible).
 * This module holds the page's paths, its HTML and stylesheet and their routes; the script is console-script.ts.
 *
 * As the topology page (topology-page.ts): the page, its script and its stylesheet hold no data and are public
 * ({@link CONSOLE_PAGE_PUBLIC_PATHS}); the page asks for the token, keeps it in `sessionStorage` and sends it as
 * `Authorization: Bearer` with every request. The CSP allows no inline script or style; every text from the API is
 * inserted with `textContent`.
 */
import type { FastifyInstance } from 'fastify';
import { CONSOLE_SCRIPT } from './console-script.js';

/** The page. */
export const CONSOLE_PATH = '/console';
/** The page's script. */
export const CONSOLE_SCRIPT_PATH = '/console/app.js';
/** The page's stylesheet. */
export const CONSOLE_STYLE_PATH = '/console/app.css';

/** Paths of this module that hold no data and are served without a token. */
export const CONSOLE_PAGE_PUBLIC_PATHS: readonly string[] = [
  CONSOLE_PATH,
  CONSOLE_SCRIPT_PATH,
  CONSOLE_STYLE_PATH,
];

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>urp-case-sync console</title>
<link rel="stylesheet" href="${CONSOLE_STYLE_PATH}">
</head>
<body>
<header>
  <h1>urp-case-sync console</h1>
  <form id="token-form">
    <label for="token">API token</label>
    <input id="token" type="password" autocomplete="off" placeholder="API_TOKEN of this service">
    <button type="submit">Use token</button>
    <button type="button" id="token-clear">Forget</button>
    <span id="token-state"></span>
  </form>
</header>
<nav role="tablist">
  <button type="button" role="tab" id="tab-cases" data-screen="cases" aria-selected="true">Cases</button>
  <button type="button" role="tab" id="tab-dlq" data-screen="dlq" aria-selected="false">Dead letters</button>
  <button type="button" role="tab" id="tab-instances" data-screen="instances" aria-selected="false">Instances</button>
</nav>
<p id="status" role="status"></p>

<section id="screen-cases" class="screen">
  <form id="case-form" class="row">
    <select id="case-kind" aria-label="id kind">
      <option value="urp">URP case id</option>
      <option value="ucm">UCM case id</option>
    </select>
    <input id="case-id" placeholder="id" aria-label="case id">
    <button type="submit">Find</button>
  </form>
  <div id="case-view" hidden>
    <h2 id="case-title"></h2>
    <dl id="case-fields"></dl>
    <h3>Timeline <span id="timeline-count" class="muted"></span></h3>
    <table id="timeline">
      <thead><tr><th>#</th><th>business time</th><th>event time</th><th>status</th><th>type</th><th>source</th><th>reason</th><th>flags</th></tr></thead>
      <tbody></tbody>
    </table>
    <div class="row"><button type="button" id="timeline-prev">Previous</button><button type="button" id="timeline-next">Next</button></div>
  </div>
  <h2>Recent cases <button type="button" id="cases-refresh">Refresh</button></h2>
  <table id="case-list">
    <thead><tr><th>urpCaseId</th><th>ucmCaseId</th><th>status</th><th>updatedAt</th></tr></thead>
    <tbody></tbody>
  </table>
  <div class="row"><button type="button" id="cases-first">First page</button><button type="button" id="cases-more">Next page</button></div>
</section>

<section id="screen-dlq" class="screen" hidden>
  <form id="dlq-form" class="row">
    <select id="dlq-category" aria-label="category">
      <option value="">any category</option>
      <option>INVALID_JSON</option><option>LIMIT_EXCEEDED</option><option>SCHEMA_INVALID</option>
      <option>UNKNOWN_EVENT_TYPE</option><option>UNKNOWN_STATUS</option><option>FUTURE_TIME</option>
      <option>UNRESOLVED_CORRELATION</option><option>PROCESSING_ERROR</option>
    </select>
    <input id="dlq-event" placeholder="eventId" aria-label="eventId">
    <input id="dlq-urp" placeholder="urpCaseId" aria-label="urpCaseId">
    <input id="dlq-since" placeholder="since (ISO-8601)" aria-label="since" title="lastFailureAt at or after, ISO-8601 with a zone">
    <input id="dlq-until" placeholder="until (ISO-8601)" aria-label="until" title="lastFailureAt before, ISO-8601 with a zone">
    <button type="submit">Search</button>
  </form>
  <table id="dlq-list">
    <thead><tr><th>ref</th><th>lastFailureAt</th><th>category</th><th>eventId</th><th>field</th><th>retries</th><th>replay</th></tr></thead>
    <tbody></tbody>
  </table>
  <div class="row"><button type="button" id="dlq-first">First page</button><button type="button" id="dlq-more">Next page</button></div>
  <div id="dlq-detail" hidden>
    <h2 id="dlq-title"></h2>
    <dl id="dlq-fields"></dl>
    <div class="row"><button type="button" id="dlq-replay">Replay</button><span id="dlq-result"></span></div>
    <pre id="dlq-json"></pre>
  </div>
</section>

<section id="screen-instances" class="screen" hidden>
  <p class="muted" id="instances-note"></p>
  <table id="instances">
    <thead><tr><th>instance</th><th>url</th><th>reachable</th><th>active tasks (state, lag)</th><th>standby tasks (lag)</th></tr></thead>
    <tbody></tbody>
  </table>
  <h3>Per partition</h3>
  <table id="partitions">
    <thead><tr><th>task</th><th>active on</th><th>lag</th><th>standbys</th></tr></thead>
    <tbody></tbody>
  </table>
</section>

<div id="confirm" class="modal" role="dialog" aria-modal="true" aria-labelledby="confirm-text" hidden>
  <div class="box">
    <p id="confirm-text"></p>
    <div class="row"><button type="button" id="confirm-ok">Replay</button><button type="button" id="confirm-cancel">Cancel</button></div>
  </div>
</div>
<script src="${CONSOLE_SCRIPT_PATH}"></script>
</body>
</html>
`;

const STYLE = `body { font-family: system-ui, sans-serif; margin: 0 1.5rem 2rem; color: #1f2328; font-size: 14px; }
header { display: flex; align-items: center; gap: 2rem; flex-wrap: wrap; border-bottom: 1px solid #d0d7de; }
h1 { font-size: 1.3rem; margin: .8rem 0; }
h2 { font-size: 1.1rem; margin: 1.2rem 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
form, .row { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; margin: .5rem 0; }
input, select, button { font: inherit; padding: .25rem .5rem; }
button { cursor: pointer; border: 1px solid #d0d7de; background: #f6f8fa; border-radius: 4px; }
button:disabled { cursor: default; opacity: .5; }
nav { display: flex; gap: .25rem; margin: .8rem 0 0; }
nav button[aria-selected="true"] { background: #0969da; color: #fff; border-color: #0969da; }
#status { min-height: 1.2em; color: #57606a; }
#status.error, .error { color: #cf222e; font-weight: 600; }
#token-state { color: #57606a; }
table { border-collapse: collapse; width: 100%; margin: .3rem 0; }
th, td { border-bottom: 1px solid #d8dee4; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
tbody tr.clickable { cursor: pointer; }
tbody tr.clickable:hover, tbody tr.selected { background: #ddf4ff; }
a { color: #0969da; cursor: pointer; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .5rem 0; }
dt { font-weight: 600; color: #57606a; }
dd { margin: 0; }
pre { background: #f6f8fa; padding: .8rem; overflow: auto; max-height: 28rem; }
.muted { color: #57606a; font-weight: normal; }
.badge { display: inline-block; padding: 0 .4rem; margin-right: .25rem; border-radius: 8px; font-size: .8rem; font-weight: 600; }
.badge.gap { background: #ffebe9; color: #a40e26; border: 1px solid #ff8182; }
.badge.late { background: #fff8c5; color: #7d4e00; border: 1px solid #d4a72c; }
.badge.run { background: #ddf4ff; color: #0550ae; border: 1px solid #54aeff; }
.badge.yes { background: #dafbe1; color: #116329; }
.badge.no { background: #eaeef2; color: #57606a; }
.status { font-weight: 600; }
.modal { position: fixed; inset: 0; background: rgba(31, 35, 40, .45); display: flex; align-items: center; justify-content: center; }
.modal[hidden] { display: none; }
.modal .box { background: #fff; padding: 1.2rem 1.5rem; border-radius: 6px; max-width: 32rem; box-shadow: 0 8px 24px rgba(0, 0, 0, .2); }
#confirm-ok { background: #cf222e; color: #fff; border-color: #cf222e; }
`;

/** Registers the page, its script and its stylesheet (all public, see the module comment). */
export function registerConsolePage(app: FastifyInstance): void {
  app.get(CONSOLE_PATH, async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('cache-control', 'no-cache')
      .send(PAGE),
  );
  app.get(CONSOLE_SCRIPT_PATH, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(CONSOLE_SCRIPT),
  );
  app.get(CONSOLE_STYLE_PATH, async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(STYLE),
  );
}
