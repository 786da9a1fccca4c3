/**
 * The operator console's script (console-page.ts serves it at /console/app.js): plain browser JavaScript, served
 * as is, all in one function scope. This module holds its frame (the DOM helpers, the token, the API call and its
 * error messages, the tabs) and joins in the three screens of console-script-screens.ts, which use those helpers
 * and whose loaders the tabs call. No data is ever parsed as HTML.
 */
import { CASES_SCRIPT, DLQ_SCRIPT, INSTANCES_SCRIPT } from './console-script-screens.js';

/* From 'use strict' to the tabs: the helpers every screen uses. */
const START = `'use strict';
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

`;

/* Shows the first screen once every screen's code is in place. */
const END = `  showTokenState();
  show('cases');
})();
`;

/** The whole script, as served. */
export const CONSOLE_SCRIPT = START + CASES_SCRIPT + DLQ_SCRIPT + INSTANCES_SCRIPT + END;
