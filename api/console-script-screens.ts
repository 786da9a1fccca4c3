/**
 * The three screens of the operator console's script (console-script.ts joins them into one function scope after
 * its helpers: `$`, `el`, `row`, `clear`, `fields`, `badge`, `api`, `guarded`, `say`): Cases (a case by URP or
 * UCM id, its timeline paged with GAP/LATE/run badges, the recent cases), Dead letters (search, one in full,
 * replay after an in-page confirmation) and Instances (members, their tasks and lag, per partition). Browser
 * JavaScript, served as is.
 */

/** Cases: `GET /cases/{urpCaseId}`, `/cases/by-ucm/{ucmCaseId}`, `/cases/{urpCaseId}/history`, `/cases`. */
export const CASES_SCRIPT = `  /* ---- cases ---- */
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

`;

/** Dead letters: `GET /dlq`, `GET /dlq/{ref}`, `POST /dlq/replay` (after the in-page confirmation). */
export const DLQ_SCRIPT = `  /* ---- dead letters ---- */
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

`;

/** Instances: `GET /instances`, as a table per member and one per partition. */
export const INSTANCES_SCRIPT = `  /* ---- instances ---- */
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

`;
