/**
 * The operator console: `GET /console` is a small HTML page (plain HTML, CSS and vanilla JavaScript, no framework,
 * no build step, nothing from a CDN) with three screens over the JSON API: Cases (look up by urpCaseId or
 * ucmCaseId, the record and its timeline, the recent cases paged), Dead letters (`GET /dlq` filtered and paged,
 * one in full, replay with an in-page confirmation) and Instances (`GET /instances`, refreshed while visible).
 *
 * As the topology page (topology-page.ts): the page, its script and its stylesheet hold no data and are public
 * ({@link CONSOLE_PAGE_PUBLIC_PATHS}); the page asks for the token, keeps it in `sessionStorage` and sends it as
 * `Authorization: Bearer` with every request. The CSP allows no inline script or style; every text from the API is
 * inserted with `textContent`.
 */
import type { FastifyInstance } from 'fastify';

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

/* The page's script (plain browser JavaScript, served as is). No data is ever parsed as HTML. */
const SCRIPT = `'use strict';
(function () {
  var KEY = 'urp-case-sync.apiToken';
  var $ = function (id) { return document.getElementById(id); };
  var status = $('status');

  function say(text, isError) { status.textContent = text; status.className = isError ? 'error' : ''; }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function row(cells) {
    var tr = document.createElement('tr');
    cells.forEach(function (c) {
      var td = document.createElement('td');
      if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? '' : String(c);
      tr.appendChild(td);
    });
    return tr;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fields(dl, pairs) {
    clear(dl);
    pairs.forEach(function (p) { dl.appendChild(el('dt', p[0])); dl.appendChild(el('dd', p[1])); });
  }
  function badge(text, cls, title) { var b = el('span', text, 'badge ' + cls); if (title) b.title = title; return b; }

  /* ---- the token ---- */
  function showTokenState() {
    $('token-state').textContent = sessionStorage.getItem(KEY) ? 'token set for this tab' : 'no token set';
  }
  $('token-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var v = $('token').value;
    if (v) sessionStorage.setItem(KEY, v);
    $('token').value = '';
    showTokenState();
    say('Token saved for this tab.', false);
    refreshCurrent();
  });
  $('token-clear').addEventListener('click', function () { sessionStorage.removeItem(KEY); showTokenState(); });

  /** Calls the API; resolves to the parsed body, or throws an Error whose message says what went wrong. */
  async function api(method, path, body) {
    var headers = { accept: 'application/json' };
    var token = sessionStorage.getItem(KEY);
    if (token) headers.authorization = 'Bearer ' + token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    var res;
    try {
      res = await fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new Error(method + ' ' + path + ' failed: ' + e);
    }
    var text = await res.text();
    var json = null;
    try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
    if (res.status === 401) {
      $('token').focus();
      throw new Error('401 Unauthorized: ' + (token ? 'the API token was refused' : 'this instance needs an API token') +
        ' - enter it above. (' + (json && json.error ? json.error.code : 'no code') + ')');
    }
    if (!res.ok) {
      var err = json && json.error ? json.error : null;
      throw new Error(method + ' ' + path + ' answered ' + res.status + (err ? ' ' + err.code + ': ' + err.message : ''));
    }
    return json;
  }
  async function guarded(fn) {
    try { await fn(); } catch (e) { say(e.message, true); }
  }

  /* ---- tabs ---- */
  var current = 'cases';
  var instancesTimer = null;
  function show(screen) {
    current = screen;
    document.querySelectorAll('nav button').forEach(function (b) {
      b.setAttribute('aria-selected', String(b.dataset.screen === screen));
    });
    document.querySelectorAll('.screen').forEach(function (s) { s.hidden = s.id !== 'screen-' + screen; });
    say('', false);
    if (instancesTimer) { clearInterval(instancesTimer); instancesTimer = null; }
    refreshCurrent();
    if (screen === 'instances') {
      instancesTimer = setInterval(function () { if (!document.hidden) void guarded(loadInstances); }, 3000);
    }
  }
  document.querySelectorAll('nav button').forEach(function (b) {
    b.addEventListener('click', function () { show(b.dataset.screen); });
  });
  function refreshCurrent() {
    if (current === 'cases') void guarded(function () { return loadCaseList(null); });
    if (current === 'dlq') void guarded(function () { return loadDlq(null); });
    if (current === 'instances') void guarded(loadInstances);
  }

  /* ---- cases ---- */
  var openCaseId = null;
  var timelineOffset = 0;
  var TIMELINE_PAGE = 50;
  var caseCursor = null;
  var caseRecord = null;

  $('case-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var id = $('case-id').value.trim();
    if (!id) return;
    void guarded(function () { return openCase($('case-kind').value, id); });
  });

  async function openCase(kind, id) {
    var path = kind === 'ucm' ? '/cases/by-ucm/' + encodeURIComponent(id) : '/cases/' + encodeURIComponent(id);
    var rec = await api('GET', path);
    caseRecord = rec;
    openCaseId = rec.urpCaseId;
    $('case-view').hidden = false;
    $('case-title').textContent = 'Case ' + rec.urpCaseId;
    var ucms = (rec.ucmCases || []).map(function (u) { return u.ucmCaseId + ' (' + u.status + ')'; }).join(', ');
    var pairs = [
      ['status', rec.status],
      ['statusLabel', rec.statusLabel || '-'],
      ['ucmCaseId', rec.ucmCaseId],
      ['ucmCases', ucms || '-'],
      ['statusChangedAt', rec.statusChangedAt],
      ['updatedAt', rec.updatedAt],
      ['lastEventId', rec.lastEventId],
      ['eventCount', rec.eventCount],
    ];
    if (rec.lastRunId) pairs.push(['lastRunId', rec.lastRunId]);
    fields($('case-fields'), pairs);
    $('case-fields').querySelectorAll('dd')[0].className = 'status';
    $('case-fields').querySelectorAll('dd')[0].id = 'case-status';
    timelineOffset = 0;
    await loadTimeline();
    say('Case ' + rec.urpCaseId + ' loaded at ' + new Date().toLocaleTimeString() + '.', false);
  }

  var LATE_TITLE = 'LATE: this entry\\'s business time is earlier than that of an entry listed above it ' +
    '(it was applied after a newer change), or earlier than the case\\'s statusChangedAt while it is the newest entry.';

  async function loadTimeline() {
    var h = await api('GET', '/cases/' + encodeURIComponent(openCaseId) + '/history?offset=' + timelineOffset + '&limit=' + TIMELINE_PAGE);
    var body = $('timeline').tBodies[0];
    clear(body);
    var maxAbove = null;
    h.entries.forEach(function (e, i) {
      var t = Date.parse(e.businessTime);
      var flags = document.createElement('span');
      if (e.gap) flags.appendChild(badge('GAP', 'gap', 'gap: oldStatus differs from the status this UCM case had just before - a change is missing'));
      var late = maxAbove !== null && t < maxAbove;
      var isNewest = timelineOffset + i === h.total - 1;
      if (!late && isNewest && caseRecord && caseRecord.statusChangedAt && t < Date.parse(caseRecord.statusChangedAt)) late = true;
      if (late) flags.appendChild(badge('LATE', 'late', LATE_TITLE));
      if (e.runId) flags.appendChild(badge('run ' + e.runId + (e.runKind ? ' (' + e.runKind + ')' : ''), 'run', 'published by an operator run'));
      if (maxAbove === null || t > maxAbove) maxAbove = t;
      var tr = row([timelineOffset + i + 1, e.businessTime, e.eventTime, (e.oldStatus || '-') + ' -> ' + e.newStatus,
        e.eventType, e.source, e.reason || '', flags]);
      tr.dataset.eventId = e.eventId;
      body.appendChild(tr);
    });
    $('timeline-count').textContent = '(' + h.total + ' entries' + (h.total > TIMELINE_PAGE ? ', showing ' + (timelineOffset + 1) + '-' + (timelineOffset + h.entries.length) : '') + ')';
    $('timeline-prev').disabled = timelineOffset === 0;
    $('timeline-next').disabled = timelineOffset + h.entries.length >= h.total;
  }
  $('timeline-prev').addEventListener('click', function () {
    timelineOffset = Math.max(0, timelineOffset - TIMELINE_PAGE); void guarded(loadTimeline);
  });
  $('timeline-next').addEventListener('click', function () {
    timelineOffset += TIMELINE_PAGE; void guarded(loadTimeline);
  });

  async function loadCaseList(cursor) {
    var page = await api('GET', '/cases?limit=20' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    var body = $('case-list').tBodies[0];
    clear(body);
    page.items.forEach(function (c) {
      var link = el('a', c.urpCaseId);
      link.href = '#';
      link.addEventListener('click', function (e) {
        e.preventDefault();
        $('case-kind').value = 'urp';
        $('case-id').value = c.urpCaseId;
        void guarded(function () { return openCase('urp', c.urpCaseId); });
      });
      body.appendChild(row([link, c.ucmCaseId, c.status, c.updatedAt]));
    });
    if (page.items.length === 0) body.appendChild(row(['no cases']));
    caseCursor = page.nextCursor;
    $('cases-more').disabled = !caseCursor;
  }
  $('cases-refresh').addEventListener('click', function () { void guarded(function () { return loadCaseList(null); }); });
  $('cases-first').addEventListener('click', function () { void guarded(function () { return loadCaseList(null); }); });
  $('cases-more').addEventListener('click', function () { void guarded(function () { return loadCaseList(caseCursor); }); });

  /* ---- dead letters ---- */
  var dlqCursor = null;
  var openLetter = null;
  function dlqQuery() {
    var q = [];
    var add = function (name, id) { var v = $(id).value.trim(); if (v) q.push(name + '=' + encodeURIComponent(v)); };
    add('category', 'dlq-category'); add('eventId', 'dlq-event'); add('urpCaseId', 'dlq-urp');
    add('since', 'dlq-since'); add('until', 'dlq-until');
    return q;
  }
  async function loadDlq(cursor) {
    var q = dlqQuery();
    q.push('limit=20');
    if (cursor) q.push('cursor=' + encodeURIComponent(cursor));
    var page = await api('GET', '/dlq?' + q.join('&'));
    var body = $('dlq-list').tBodies[0];
    clear(body);
    page.items.forEach(function (l) {
      var r = l.record;
      var tr = row([l.ref, r.lastFailureAt, r.errorCategory, r.eventId || '-', r.errorField || '-', r.retryCount,
        badge(r.replayEligible ? 'eligible' : 'no', r.replayEligible ? 'yes' : 'no')]);
      tr.className = 'clickable';
      tr.dataset.ref = l.ref;
      tr.addEventListener('click', function () { void guarded(function () { return openDlq(l.ref); }); });
      body.appendChild(tr);
    });
    if (page.items.length === 0) body.appendChild(row(['no dead letters match']));
    dlqCursor = page.nextCursor;
    $('dlq-more').disabled = !dlqCursor;
  }
  $('dlq-form').addEventListener('submit', function (e) { e.preventDefault(); void guarded(function () { return loadDlq(null); }); });
  $('dlq-first').addEventListener('click', function () { void guarded(function () { return loadDlq(null); }); });
  $('dlq-more').addEventListener('click', function () { void guarded(function () { return loadDlq(dlqCursor); }); });

  async function openDlq(ref) {
    var l = await api('GET', '/dlq/' + encodeURIComponent(ref));
    openLetter = l;
    var r = l.record;
    document.querySelectorAll('#dlq-list tbody tr').forEach(function (tr) { tr.classList.toggle('selected', tr.dataset.ref === ref); });
    $('dlq-detail').hidden = false;
    $('dlq-title').textContent = 'Dead letter ' + l.ref + ' - ' + r.errorCategory;
    fields($('dlq-fields'), [
      ['message', r.errorMessage],
      ['field', r.errorField || '-'],
      ['eventId', r.eventId || '-'],
      ['replay-eligible', r.replayEligible ? 'yes' : 'no (the bytes themselves are wrong)'],
      ['retryCount', r.retryCount],
      ['first / last failure', r.firstFailureAt + ' / ' + r.lastFailureAt],
      ['origin', r.originalTopic + ' ' + r.originalPartition + ':' + r.originalOffset],
    ]);
    $('dlq-json').textContent = JSON.stringify(l, null, 2);
    $('dlq-result').textContent = '';
    $('dlq-replay').hidden = !r.replayEligible;
  }

  /* The confirmation is a dialog in the page (not window.confirm). */
  function confirmInPage(text) {
    return new Promise(function (resolve) {
      $('confirm-text').textContent = text;
      $('confirm').hidden = false;
      $('confirm-ok').focus();
      var done = function (answer) {
        $('confirm').hidden = true;
        $('confirm-ok').removeEventListener('click', yes);
        $('confirm-cancel').removeEventListener('click', no);
        resolve(answer);
      };
      var yes = function () { done(true); };
      var no = function () { done(false); };
      $('confirm-ok').addEventListener('click', yes);
      $('confirm-cancel').addEventListener('click', no);
    });
  }
  $('dlq-replay').addEventListener('click', function () {
    if (!openLetter) return;
    var ref = openLetter.ref;
    void guarded(async function () {
      var ok = await confirmInPage('Re-publish dead letter ' + ref + ' (eventId ' + (openLetter.record.eventId || '-') +
        ') to the input topic?');
      if (!ok) { $('dlq-result').textContent = 'Replay cancelled.'; return; }
      var out = await api('POST', '/dlq/replay', { refs: [ref] });
      var result = $('dlq-result');
      if (out.replayed.length > 0) {
        result.textContent = 'replayed ' + out.replayed[0].ref + ' (eventId ' + out.replayed[0].eventId + ', key ' + out.replayed[0].key + ')';
        result.className = '';
      } else {
        var s = out.skipped[0];
        result.textContent = 'skipped ' + (s ? s.ref + ': ' + s.reason : ref);
        result.className = 'error';
      }
    });
  });

  /* ---- instances ---- */
  async function loadInstances() {
    var body = await api('GET', '/instances');
    var tbody = $('instances').tBodies[0];
    clear(tbody);
    var byTask = {};
    body.members.forEach(function (m) {
      var tasks = m.tasks || { active: [], standby: [] };
      var lagOf = {};
      tasks.active.forEach(function (t) { lagOf[t.id] = t; });
      var slag = {};
      tasks.standby.forEach(function (t) { slag[t.id] = t.lag; });
      var active = m.active.map(function (id) { var t = lagOf[id]; return id + (t ? ' (' + t.state + ', lag ' + t.lag + ')' : ''); });
      var standby = m.standby.map(function (id) { return id + (id in slag ? ' (lag ' + slag[id] + ')' : ''); });
      var name = el('span', m.instanceId + (m.instanceId === body.self ? ' (this one)' : ''));
      var tr = row([name, m.url, badge(m.reachable ? 'yes' : 'no', m.reachable ? 'yes' : 'no'), active.join(', ') || '-', standby.join(', ') || '-']);
      tr.dataset.instance = m.instanceId;
      tbody.appendChild(tr);
      m.active.forEach(function (id) {
        byTask[id] = byTask[id] || { standbys: [] };
        byTask[id].active = m.instanceId;
        byTask[id].lag = lagOf[id] ? lagOf[id].lag : null;
      });
      m.standby.forEach(function (id) {
        byTask[id] = byTask[id] || { standbys: [] };
        byTask[id].standbys.push(m.instanceId + (id in slag ? ' (lag ' + slag[id] + ')' : ''));
      });
    });
    var ptbody = $('partitions').tBodies[0];
    clear(ptbody);
    Object.keys(byTask).sort(function (a, b) {
      var pa = a.split('_').map(Number), pb = b.split('_').map(Number);
      return pa[0] - pb[0] || pa[1] - pb[1];
    }).forEach(function (id) {
      var t = byTask[id];
      ptbody.appendChild(row([id, t.active || '(none)', t.lag === null || t.lag === undefined ? '-' : t.lag, t.standbys.join(', ') || '-']));
    });
    $('instances-note').textContent = body.members.length + ' member(s); asked ' + body.self + ' (' + body.state +
      '); refreshed ' + new Date().toLocaleTimeString() + ', every 3 s while this screen is shown.';
  }

  showTokenState();
  show('cases');
})();
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
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(SCRIPT),
  );
  app.get(CONSOLE_STYLE_PATH, async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(STYLE),
  );
}
