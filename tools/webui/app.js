// Chronicle web UI: a few pages over the gateway's JSON API (docs/http.md). No framework, no build.
'use strict';

const app = document.getElementById('app');

// ---- helpers ------------------------------------------------------------------------------------

// h('a', {href: '#'}, 'text', child...): builds an element; strings become text nodes (escaped).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// The API key (docs/security.md), asked for once on a 401 and kept in this tab's sessionStorage
// (not a cookie: no other site's request can carry it); sent as the Authorization header.
const keyItem = 'chronicle.apiKey';
const apiKey = () => sessionStorage.getItem(keyItem) || '';

async function api(path, options) {
  const opts = Object.assign({}, options);
  if (apiKey()) opts.headers = Object.assign({}, opts.headers, { Authorization: 'Bearer ' + apiKey() });
  const res = await fetch(path, opts);
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = { message: text }; }
  if (res.status === 401) {
    showSignIn(body && body.message);
    const err = new Error('API key needed');
    err.signIn = true;
    throw err;
  }
  if (!res.ok) throw new Error((body && body.message) || res.status + ' ' + res.statusText);
  return body;
}

function showSignIn(why) {
  stopLive();
  const input = h('input', { type: 'password', id: 'api-key', placeholder: 'chr_…', size: 50,
                             autocomplete: 'off' });
  const form = h('form', {
    id: 'sign-in',
    onsubmit: e => {
      e.preventDefault();
      sessionStorage.setItem(keyItem, input.value.trim());
      route();
    },
  }, input, ' ', h('button', { type: 'submit' }, 'Sign in'));
  show(h('h1', {}, 'API key'),
    h('p', {}, 'This node requires an API key (chronicle api-key new makes one). It is kept in ' +
      'this tab only and sent with every request.'),
    apiKey() ? h('p', { class: 'error' }, why || 'The key was refused.') : null,
    form);
}

function signOutLink() {
  if (!apiKey() || document.getElementById('sign-out')) return;
  document.querySelector('header').append(h('a', {
    href: '#', id: 'sign-out',
    onclick: e => { e.preventDefault(); sessionStorage.removeItem(keyItem); location.reload(); },
  }, 'Sign out'));
}

// "WORKFLOW_EXECUTION_STATUS_TIMED_OUT" -> "TimedOut"
function pretty(name, prefix) {
  if (!name) return '';
  return name.replace(prefix, '').toLowerCase().split('_')
    .map(w => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}
const statusText = s => pretty(s, 'WORKFLOW_EXECUTION_STATUS_');
const eventText = t => pretty(t, 'EVENT_TYPE_');

function time(ms) {
  if (!ms) return '-';
  return new Date(Number(ms)).toISOString().replace('T', ' ').replace('Z', '');
}

// A run's status; a paused run gets a second badge (`id` names it on the workflow page).
function statusBadge(s, paused, id) {
  const t = statusText(s);
  const badge = h('span', { class: 'status ' + t }, t);
  if (!paused) return badge;
  return [badge, ' ', h('span', { class: 'status Paused', id }, 'Paused')];
}

function json(value) {
  return h('pre', { class: 'mono' }, value === undefined ? '' : JSON.stringify(value, null, 1));
}

function failureText(f) {
  if (!f || (!f.message && !f.type)) return '';
  return (f.type ? f.type + ': ' : '') + (f.message || '');
}

function workflowLink(ns, wid, text) {
  return h('a', { href: '#/workflow/' + encodeURIComponent(ns) + '/' + encodeURIComponent(wid) },
           text || wid);
}

function taskQueueLink(ns, queue) {
  return h('a', { href: '#/task-queue/' + encodeURIComponent(ns) + '/' + encodeURIComponent(queue),
                  class: 'task-queue-link' }, queue);
}

function show(...nodes) {
  app.replaceChildren(...nodes.flat().filter(n => n !== null && n !== undefined));
}

// The fields of an event's attributes without protobuf defaults ("", 0, false, *_UNSPECIFIED,
// empty lists and objects). Only the first level: payloads below are user data, shown as they are.
function compact(attrs) {
  const out = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (v === '' || v === 0 || v === false || (typeof v === 'string' && v.endsWith('_UNSPECIFIED')))
      continue;
    if (Array.isArray(v) && !v.length) continue;
    out[k] = v;
  }
  return out;
}

function showError(title, err) {
  if (err && err.signIn) return;  // the sign-in form is shown instead
  show(h('h1', {}, title), h('p', { class: 'error' }, err.message || String(err)));
}

function table(headers, rows, empty) {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h('table', {}, h('thead', {}, h('tr', {}, headers.map(x => h('th', {}, x)))),
           h('tbody', {}, rows));
}

function nsBase(ns) {
  return '/api/v1/namespaces/' + encodeURIComponent(ns) + '/workflows';
}

// ---- workflows list -----------------------------------------------------------------------------

async function listPage(params) {
  const ns = params.get('ns') || 'default';
  const filters = h('form', { class: 'filters', id: 'filters' },
    h('label', {}, 'Namespace', h('input', { name: 'ns', value: ns, size: 10 })),
    h('label', {}, 'Status', h('select', { name: 'status' },
      ['', 'running', 'completed', 'failed', 'canceled', 'terminated', 'continued_as_new', 'timed_out']
        .map(s => h('option', { value: s, selected: params.get('status') === s }, s || 'any')))),
    h('label', {}, 'Type', h('input', { name: 'type', value: params.get('type') || '', size: 14 })),
    h('label', {}, 'ID prefix', h('input', { name: 'prefix', value: params.get('prefix') || '', size: 14 })),
    h('label', { class: 'query' }, 'Query', h('input', {
      name: 'query', id: 'query', value: params.get('query') || '', size: 60, spellcheck: 'false',
      placeholder: "WorkflowType = 'Order' AND ExecutionStatus = 'Running' AND CustomerId = 'c-42'" })),
    h('button', { type: 'submit' }, 'Filter'));
  filters.addEventListener('submit', e => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(filters)) if (v) q.set(k, v);
    location.hash = '#/workflows?' + q.toString();
  });
  show(h('h1', {}, 'Workflows'), filters, h('p', { class: 'muted' }, 'Loading…'));

  const q = new URLSearchParams();
  for (const k of ['status', 'type', 'prefix', 'query']) if (params.get(k)) q.set(k, params.get(k));
  if (params.get('token')) q.set('next_page_token', params.get('token'));
  q.set('page_size', '50');
  let page, count = null;
  try {
    // Spaces as %20: the gateway decodes percent-escapes only ('+' stays a plus).
    page = await api(nsBase(ns) + '?' + q.toString().replace(/\+/g, '%20'));
    // The count of a query alone (the other filters are not part of it).
    if (params.get('query') && !params.get('status') && !params.get('type') && !params.get('prefix'))
      count = await api('/api/v1/namespaces/' + encodeURIComponent(ns) + '/workflow-count?query=' +
                        encodeURIComponent(params.get('query')));
  } catch (err) {
    if (err.signIn) return;
    // A query's error names the position and shows the query with a caret under it.
    show(h('h1', {}, 'Workflows'), filters, h('pre', { class: 'error', id: 'query-error' }, err.message));
    return;
  }
  const rows = page.executions.map(e => h('tr', {},
    h('td', { class: 'mono' }, workflowLink(e.namespace || ns, e.workflow_id)),
    h('td', { class: 'mono muted' }, e.run_id),
    h('td', {}, e.workflow_type),
    h('td', {}, statusBadge(e.status, e.paused)),
    h('td', {}, time(e.start_time_ms)),
    h('td', {}, time(e.close_time_ms)),
    h('td', {}, e.task_queue),
    h('td', { class: 'mono attrs' }, searchAttributesText(e.search_attributes))));
  const more = [];
  if (count) more.unshift(h('p', { class: 'muted', id: 'count' }, count.count + ' matching runs'));
  if (page.next_page_token) {
    const next = new URLSearchParams(params);
    next.set('token', page.next_page_token);
    more.push(h('p', {}, h('a', { href: '#/workflows?' + next.toString() }, 'Next page →')));
  }
  if (page.missing_nodes && page.missing_nodes.length)
    more.push(h('p', { class: 'error' }, 'Nodes that did not answer (their runs are missing): ' +
                                         page.missing_nodes.join(', ')));
  show(h('h1', {}, 'Workflows'), filters,
       table(['Workflow ID', 'Run ID', 'Type', 'Status', 'Started (UTC)', 'Closed (UTC)', 'Task queue',
              'Search attributes'],
             rows, 'No workflows match.'), more);
}

// "CustomerId=c-42 Amount=7" from a record's typed search attributes ({name: {keyword: ...}}).
function searchAttributesText(attrs) {
  if (!attrs) return '';
  return Object.keys(attrs).sort().map(name => {
    const v = attrs[name];
    let text = Object.values(v)[0];
    if (v.datetime_ms !== undefined) text = time(v.datetime_ms);
    if (v.keyword_list) text = '[' + (v.keyword_list.values || []).join(', ') + ']';
    return name + '=' + text;
  }).join(' ');
}

// ---- one workflow -------------------------------------------------------------------------------

function eventClass(type) {
  if (/FAILED|TIMED_OUT|TERMINATED/.test(type)) return 'failure';
  if (type.includes('ACTIVITY')) return 'activity';
  if (type.includes('TIMER')) return 'timer';
  if (type.includes('EXTERNAL')) return 'child';  // messages to other workflows
  if (type.includes('SIGNAL')) return 'signal';
  if (type.includes('CHILD')) return 'child';
  return 'workflow';
}

// A LocalActivity marker read as what happened, as `chronicle workflow show` prints it:
// "LocalActivity Price (id 1) attempt 1: result {...}" or "... failed Type: message[, retry after
// a N ms timer]". Null for any other event.
function localActivityText(ev) {
  const m = ev.marker_recorded;
  if (!m || m.marker_name !== 'LocalActivity') return null;
  const d = m.details || {};
  let text = 'LocalActivity ' + d.activity_type + ' (id ' + d.activity_id + ') attempt ' + d.attempt + ': ';
  if ('data' in d) return text + 'result ' + JSON.stringify(d.data);
  text += 'failed ' + failureText(m.failure);
  if ('backoff_ms' in d) text += ', retry after a ' + d.backoff_ms + ' ms timer';
  return text;
}

function eventItem(ev, t0, live) {
  const attrs = Object.entries(ev).find(([k]) => !['event_id', 'event_time_ms', 'event_type'].includes(k));
  const local = localActivityText(ev);
  const offset = ((Number(ev.event_time_ms) - t0) / 1000).toFixed(3);
  return h('li', { class: eventClass(ev.event_type) + (live ? ' live' : ''), 'data-event-id': ev.event_id },
    h('div', { class: 'event-head' },
      h('span', { class: 'event-id' }, ev.event_id),
      h('span', { class: 'event-type' }, eventText(ev.event_type)),
      h('span', { class: 'event-time', title: time(ev.event_time_ms) }, '+' + offset + ' s')),
    local ? h('div', { class: 'attrs mono local-activity' }, local) :
    attrs ? h('div', { class: 'attrs mono' }, Object.entries(compact(attrs[1])).map(([k, v]) =>
      h('span', {}, h('span', { class: 'muted' }, k + ' '), JSON.stringify(v)))) : null);
}

function timeline(events, t0) {
  return h('ol', { class: 'timeline', id: 'history' }, events.map(ev => eventItem(ev, t0, false)));
}

function actions(ns, wid, d) {
  const running = statusText(d.status) === 'Running';
  const base = nsBase(ns) + '/' + encodeURIComponent(wid);
  const post = async (path, body) => {
    try {
      await api(base + path, { method: 'POST', body: body === undefined ? '' : body,
                               headers: { 'Content-Type': 'application/json' } });
      route();
    } catch (err) { if (!err.signIn) alert(err.message); }
  };
  // Reset and delete apply to closed runs too (addressed by run ID: the page's run).
  const runBase = base + '?run_id=' + encodeURIComponent(d.run_id);
  // Pause / unpause (docs/semantics.md "Pause"): one of the two, by the run's state.
  const pause = !running ? null : d.paused
    ? h('button', { class: 'secondary', id: 'unpause', onclick: () => {
        const reason = prompt('Unpause: reason');
        if (reason !== null) post('/unpause', JSON.stringify({ reason }));
      } }, 'Unpause')
    : h('button', { class: 'secondary', id: 'pause', onclick: () => {
        const reason = prompt('Pause: reason');
        if (reason !== null) post('/pause', JSON.stringify({ reason }));
      } }, 'Pause');
  return h('div', { class: 'actions' }, pause,
    running ? h('button', { class: 'secondary', onclick: () => {
      const name = prompt('Signal name');
      if (!name) return;
      const input = prompt('Signal input (JSON)', 'null');
      if (input !== null) post('/signal/' + encodeURIComponent(name), input);
    } }, 'Signal…') : null,
    running ? h('button', { class: 'secondary', onclick: () => {
      const reason = prompt('Cancel: reason');
      if (reason !== null) post('/cancel', JSON.stringify({ reason }));
    } }, 'Request cancel') : null,
    running ? h('button', { class: 'danger', onclick: () => {
      const reason = prompt('Terminate: reason');
      if (reason !== null) post('/terminate', JSON.stringify({ reason }));
    } }, 'Terminate') : null,
    h('button', { class: 'danger', id: 'reset-button', onclick: () => {
      const point = prompt('Reset to: "first", "last" or a workflow task event ID', 'last');
      if (!point) return;
      const reason = prompt('Reset: reason', '');
      if (reason === null) return;
      const body = /^[0-9]+$/.test(point) ? { event_id: Number(point) } : { type: point };
      body.reason = reason;
      body.run_id = d.run_id;
      post('/reset', JSON.stringify(body));
    } }, 'Reset…'),
    h('button', { class: 'danger', id: 'delete-button', onclick: async () => {
      if (!confirm('Delete this run (history, state, visibility)?')) return;
      try {
        await api(runBase, { method: 'DELETE' });
        location.hash = '#/workflows';
      } catch (err) { if (!err.signIn) alert(err.message); }
    } }, 'Delete'));
}

// The summary, actions and pending work of a run (re-rendered while the page follows it).
function details(ns, wid, d, result) {
  const summary = h('dl', { class: 'summary' },
    h('dt', {}, 'Workflow ID'), h('dd', { class: 'mono', id: 'workflow-id' }, d.workflow_id),
    h('dt', {}, 'Run ID'), h('dd', { class: 'mono' }, d.run_id),
    h('dt', {}, 'Namespace'), h('dd', {}, d.namespace),
    h('dt', {}, 'Type'), h('dd', {}, d.workflow_type),
    h('dt', {}, 'Task queue'), h('dd', {}, taskQueueLink(d.namespace || ns, d.task_queue)),
    h('dt', {}, 'Priority'), h('dd', { id: 'priority' },
      Number(d.priority) ? String(d.priority) : '3 (default)'),
    d.fairness_key ? [h('dt', {}, 'Fairness key'), h('dd', { class: 'mono', id: 'fairness-key' },
                                                        d.fairness_key)] : null,
    h('dt', {}, 'Status'), h('dd', { id: 'status' }, statusBadge(d.status, d.paused, 'paused-badge')),
    d.paused ? [h('dt', {}, 'Paused'), h('dd', { id: 'pause-info' }, 'since ' + time(d.pause_time_ms) +
      (d.pause_identity ? ' by ' + d.pause_identity : '') +
      (d.pause_reason ? ' (reason: ' + d.pause_reason + ')' : ''))] : null,
    h('dt', {}, 'Started (UTC)'), h('dd', {}, time(d.start_time_ms)),
    h('dt', {}, 'Closed (UTC)'), h('dd', {}, time(d.close_time_ms)),
    h('dt', {}, 'History length'), h('dd', {}, d.history_length),
    h('dt', {}, 'Shard'), h('dd', {}, d.shard + ' on ' + d.owner_node),
    h('dt', {}, 'Workflow task'), h('dd', {}, d.pending_workflow_task
      ? d.pending_workflow_task + ' (attempt ' + d.workflow_task_attempt + ')' : 'none'),
    d.most_recent_build_id || (d.build_ids || []).length ? [h('dt', {}, 'Build ID'),
      h('dd', { class: 'mono', id: 'build-id' }, (d.most_recent_build_id || '-') +
        ' (all: ' + (d.build_ids || []).join(', ') + ')')] : null,
    failureText(d.last_workflow_task_failure) ? [h('dt', {}, 'Last task failure'),
      h('dd', { class: 'mono' }, failureText(d.last_workflow_task_failure))] : null,
    d.parent && d.parent.workflow_id ? [h('dt', {}, 'Parent'),
      h('dd', {}, workflowLink(d.parent.namespace || ns, d.parent.workflow_id))] : null,
    d.continued_from_run_id ? [h('dt', {}, 'Continued from run'),
      h('dd', { class: 'mono' }, d.continued_from_run_id)] : null,
    d.continued_to_run_id ? [h('dt', {}, 'Continued as run'),
      h('dd', { class: 'mono' }, d.continued_to_run_id)] : null,
    d.reset_from_run_id ? [h('dt', {}, 'Reset from run'),
      h('dd', { class: 'mono', id: 'reset-from' },
        d.reset_from_run_id + ' (event ' + d.reset_event_id + ')')] : null,
    d.reset_to_run_id ? [h('dt', {}, 'Reset to run'),
      h('dd', { class: 'mono', id: 'reset-to' }, d.reset_to_run_id)] : null,
    result && 'result' in result ? [h('dt', {}, 'Result'), h('dd', {}, json(result.result))] : null,
    result && failureText(result.failure) ? [h('dt', {}, 'Failure'),
      h('dd', { class: 'mono' }, failureText(result.failure))] : null);

  const activities = d.pending_activities.map(a => h('tr', {},
    h('td', { class: 'mono' }, a.activity_id), h('td', {}, a.activity_type),
    h('td', {}, a.cancel_requested
      ? [a.state, ' ', h('span', { class: 'status CancelRequested' },
          'cancel requested (event ' + a.cancel_requested_event_id + ')')] : a.state),
    h('td', {}, a.attempt),
    h('td', { class: 'mono' }, failureText(a.last_failure) || '-'),
    h('td', {}, a.last_heartbeat_time_ms ? [time(a.last_heartbeat_time_ms),
      'last_heartbeat_details' in a ? json(a.last_heartbeat_details) : null] : '-'),
    h('td', {}, time(a.next_attempt_time_ms)),
    h('td', {}, a.last_worker_identity || '-')));
  const timers = d.pending_timers.map(t => h('tr', {},
    h('td', { class: 'mono' }, t.timer_id), h('td', {}, time(t.fire_time_ms)),
    h('td', {}, t.started_event_id)));
  const children = d.pending_children.map(c => h('tr', {},
    h('td', { class: 'mono' }, workflowLink(ns, c.workflow_id)), h('td', { class: 'mono' }, c.run_id || '-'),
    h('td', {}, c.workflow_type), h('td', {}, c.state), h('td', {}, c.initiated_event_id)));
  const externals = (d.pending_externals || []).map(e => h('tr', {},
    h('td', {}, e.kind + (e.kind === 'signal' ? ' ' + e.signal_name : '')),
    h('td', { class: 'mono' }, workflowLink(e.namespace || ns, e.workflow_id)),
    h('td', { class: 'mono' }, e.run_id || 'current'),
    h('td', {}, e.initiated_event_id + (e.sender_run_id && e.sender_run_id !== d.run_id
      ? ' (run ' + e.sender_run_id + ')' : '')),
    h('td', {}, e.awaiting_answer ? 'awaiting the answer' : 'sent after the run closed')));
  return [actions(ns, wid, d), summary,
    h('h2', {}, 'Pending activities'),
    table(['Activity ID', 'Type', 'State', 'Attempt', 'Last failure', 'Last heartbeat', 'Next attempt',
           'Worker'], activities, 'None.'),
    h('h2', {}, 'Pending timers'),
    table(['Timer ID', 'Fires at (UTC)', 'Started event'], timers, 'None.'),
    h('h2', {}, 'Pending child workflows'),
    table(['Workflow ID', 'Run ID', 'Type', 'State', 'Initiated event'], children, 'None.'),
    h('h2', {}, 'Undelivered messages to other workflows'),
    table(['Kind', 'Target', 'Target run', 'Initiated event', 'State'], externals, 'None.')];
}

let liveStream = null;  // how the workflow page follows its run (EventSource or long polls)

function stopLive() {
  if (liveStream) liveStream.close();
  liveStream = null;
}

// A page that reads itself again on a timer (mine.timer) until the route changes (stopLive).
function livePage() {
  const mine = { closed: false, timer: null,
                 close() { this.closed = true; clearTimeout(this.timer); } };
  liveStream = mine;
  return mine;
}

// True while a form of the page is being filled in: a page reading itself again would draw it
// anew and lose what was typed.
function formBusy(selector) {
  return [...document.querySelectorAll(selector)].some(form => form.contains(document.activeElement) ||
    [...form.querySelectorAll('input')].some(i => i.value !== ''));
}

async function workflowPage(ns, wid) {
  const base = nsBase(ns) + '/' + encodeURIComponent(wid);
  let d, hist, result = null;
  try {
    [d, hist] = await Promise.all([api(base), api(base + '/history')]);
    if (statusText(d.status) !== 'Running') result = await api(base + '/result');
  } catch (err) {
    showError('Workflow ' + wid, err);
    return;
  }
  const here = location.hash;
  const t0 = hist.events.length ? Number(hist.events[0].event_time_ms) : Date.now();
  const info = h('div', { id: 'details' }, details(ns, wid, d, result));
  const count = h('span', { id: 'event-count' }, hist.events.length);
  const state = h('span', { id: 'live-state', class: 'muted' });
  const list = timeline(hist.events, t0);
  show(h('p', {}, h('a', { href: '#/workflows?ns=' + encodeURIComponent(ns) }, '← Workflows')),
    h('h1', {}, 'Workflow ', h('span', { class: 'mono' }, d.workflow_id)),
    info,
    h('h2', {}, 'Event history (', count, ' events) ', state),
    list);
  if (statusText(d.status) !== 'Running') return;

  // Live: the run's events after the last one shown, as server-sent events (EventSource resumes
  // after the last one received when the connection drops), or, when an API key must be sent
  // (EventSource cannot send an Authorization header), as long polls of the history after the
  // last one; the details are read again, at most every half second, while events come; the
  // run's close event ends it.
  const last = hist.events.length ? hist.events[hist.events.length - 1].event_id : 0;
  const runQuery = 'run_id=' + encodeURIComponent(d.run_id);
  let refresh = null;
  const reread = async () => {
    refresh = null;
    try {
      const nd = await api(base + '?' + runQuery);
      const closed = statusText(nd.status) !== 'Running';
      const nr = closed ? await api(base + '/result?' + runQuery) : null;
      if (location.hash === here) info.replaceChildren(...details(ns, wid, nd, nr).filter(Boolean));
    } catch (err) { /* the next event reads again */ }
  };
  // Shows one event; true once it closed the run.
  const onEvent = ev => {
    if (list.querySelector('[data-event-id="' + ev.event_id + '"]')) return false;
    list.append(eventItem(ev, t0, true));
    count.textContent = list.children.length;
    if (/WORKFLOW_EXECUTION_(COMPLETED|FAILED|TIMED_OUT|CANCELED|TERMINATED|CONTINUED_AS_NEW)$/.test(ev.event_type)) {
      state.textContent = '';
      clearTimeout(refresh);
      reread();
      return true;
    }
    if (!refresh) refresh = setTimeout(reread, 500);
    return false;
  };
  state.textContent = '· live';
  if (!apiKey()) {
    const es = new EventSource(base + '/events?' + runQuery + '&after=' + last);
    liveStream = es;
    es.onmessage = msg => {
      if (location.hash !== here || onEvent(JSON.parse(msg.data))) es.close();
    };
    es.onerror = () => { state.textContent = es.readyState === EventSource.CLOSED ? '' : '· reconnecting…'; };
    es.onopen = () => { state.textContent = '· live'; };
    return;
  }
  const poll = { stopped: false, close() { this.stopped = true; } };
  liveStream = poll;
  let after = last;
  while (!poll.stopped && location.hash === here) {
    try {
      const r = await api(base + '/history?' + runQuery + '&after=' + after + '&wait=true&timeout_ms=15000');
      state.textContent = '· live';
      for (const ev of r.events) {
        after = ev.event_id;
        if (onEvent(ev)) poll.close();
      }
      if (statusText(r.status) !== 'Running' && after >= r.last_event_id) poll.close();
    } catch (err) {
      if (err.signIn) return;
      state.textContent = '· reconnecting…';
      await new Promise(done => setTimeout(done, 2000));
    }
  }
}

// ---- cluster ------------------------------------------------------------------------------------

// Read again every 5 s while it is open (not while a namespace form is being filled in); the
// digests are asked each time, which a node bounds (a replica computes its digest again at most
// every 10x what the last one took: docs/replication.md).
async function clusterPage(reads = 1) {
  const mine = livePage();
  let c;
  try {
    c = await api('/api/v1/cluster');
  } catch (err) {
    showError('Cluster', err);
    return;
  }
  // An up node whose member list differs from the answering node's: a rolling restart.
  const listOf = n => (n.members || []).join(',');
  const own = listOf(c.nodes.find(n => n.node === c.answered_by) || {});
  const note = n => n.up && (n.members || []).length && listOf(n) !== own
    ? 'another member list (' + n.members.length + ' members)' : n.error;
  const members = c.nodes.map(n => h('tr', {},
    h('td', {}, n.node), h('td', { class: 'mono' }, n.address),
    h('td', {}, h('span', { class: 'status ' + (n.up ? 'Completed' : 'Failed') }, n.up ? 'up' : 'down')),
    h('td', {}, n.up ? Math.round(Number(n.uptime_ms) / 1000) + ' s' : '-'),
    h('td', {}, n.shards_owned), h('td', {}, n.up ? n.workflows_open : '-'),
    h('td', {}, n.up ? n.workflows_closed : '-'), h('td', { class: 'muted' }, note(n))));
  let namespaces = [];
  try {
    namespaces = (await api('/api/v1/namespaces')).namespaces;
  } catch (err) { if (err.signIn) return; }
  const nsRows = namespaces.map(n => h('tr', { class: 'namespace' },
    h('td', {}, h('a', { href: '#/workflows?ns=' + encodeURIComponent(n.name) }, n.name)),
    h('td', {}, n.description || '-'),
    h('td', {}, Number(n.retention_ms) <= 0 ? 'node default' : Number(n.retention_ms) % 86400000
      ? ageText(n.retention_ms) : Number(n.retention_ms) / 86400000 + ' d'),
    h('td', { class: 'mono' }, Object.entries(n.search_attributes).sort()
      .map(([k, t]) => k + ' ' + t).join(', ') || '-'),
    h('td', {}, n.version)));
  const shards = [];
  for (const n of c.nodes) for (const s of n.shards || []) shards.push(s);
  shards.sort((a, b) => a.shard - b.shard);
  show(h('h1', {}, 'Cluster'),
    h('p', { class: 'muted', id: 'cluster-read', 'data-reads': reads },
      c.num_shards + ' shards; answered by ' + c.answered_by + '; read again every 5 s'),
    h('h2', {}, 'Members'),
    table(['Node', 'Address', 'State', 'Uptime', 'Shards', 'Open', 'Closed', 'Note'], members, 'No members.'),
    h('h2', {}, 'Namespaces'),
    h('div', { id: 'namespaces' }, table(['Namespace', 'Description', 'Retention',
                                          'Search attributes', 'Version'], nsRows, 'None.')),
    namespaceForms(namespaces),
    h('h2', {}, 'Shard map'),
    h('div', { class: 'shards', id: 'shard-map' }, shardTiles(shards).map(s =>
      h('div', { class: 'shard' + (s.available ? '' : ' down') },
        h('strong', {}, '#' + s.shard), ' ', s.node, h('br'),
        s.available ? s.open + ' open, ' + s.closed + ' closed' : 'unavailable'))),
    replicationSection(shards));
  const again = () => {
    if (mine.closed) return;
    if (formBusy('#namespace-forms form')) mine.timer = setTimeout(again, 5000);
    else clusterPage(reads + 1);
  };
  mine.timer = setTimeout(again, 5000);
}

// One tile per shard: its owner, or for a replicated shard the replica serving it (its other
// replicas are followers, not unavailable: they are in the Replication table).
function shardTiles(shards) {
  const out = [];
  for (const s of shards) {
    const last = out[out.length - 1];
    if (!last || last.shard !== s.shard || !s.replication) out.push(s);
    else if (s.available && !last.available) out[out.length - 1] = s;
  }
  return out;
}

// Replicated clusters: one row per replica of each shard, as `chronicle cluster shards` prints
// them (docs/replication.md "Visibility"): its role, the leader it knows, the term, its commit and
// applied index and lag, the group's members as it knows them, and the digest of its data (equal
// on every replica at one index; "@index" when computed at an index before the applied one).
function replicationSection(shards) {
  const replicas = shards.filter(s => s.replication && s.replication.replicas.length);
  if (!replicas.length) return null;
  const rows = replicas.map(s => {
    const r = s.replication;
    const lag = Math.max(0, r.commit_index - r.applied_index);
    const digest = !r.digest_hex ? '-'
      : r.digest_hex + (r.digest_index === r.applied_index ? '' : '@' + r.digest_index);
    return h('tr', { class: 'replica ' + (r.role || 'down') },
      h('td', {}, '#' + s.shard), h('td', {}, s.node),
      h('td', {}, h('span', { class: 'role' }, r.role || 'down')),
      h('td', {}, r.leader || '-'), h('td', { class: 'num' }, r.term),
      h('td', { class: 'num' }, r.commit_index), h('td', { class: 'num' }, r.applied_index),
      h('td', { class: 'num' }, lag), h('td', {}, r.members.join(', ') || '-'),
      h('td', { class: 'mono digest' }, digest));
  });
  return [h('h2', {}, 'Replication'),
    h('div', { id: 'replication' }, table(['Shard', 'Node', 'Role', 'Leader', 'Term', 'Commit',
                                           'Applied', 'Lag', 'Members', 'Digest'], rows, 'None.'))];
}

// Register a namespace, or change one (description, retention, a search attribute added): the
// same requests as `chronicle namespace register|update` (docs/operations.md "Namespaces").
const searchAttributeTypes = ['keyword', 'text', 'int', 'double', 'bool', 'datetime', 'keyword_list'];

function formError(form, id, err) {
  if (err.signIn) return;
  const old = document.getElementById(id);
  if (old) old.remove();
  form.after(h('p', { class: 'error', id }, err.message));
}

function namespaceForms(namespaces) {
  const field = (label, attrs) => h('label', {}, label, h('input', attrs));
  const days = v => Math.round(Number(v) * 86400000);
  const register = h('form', { class: 'filters', id: 'namespace-register' },
    field('Name', { name: 'namespace', id: 'namespace-name', size: 14, required: true }),
    field('Description', { name: 'description', size: 24 }),
    field('Retention (days)', { name: 'retention', size: 4, placeholder: 'node default' }),
    h('button', { type: 'submit', id: 'namespace-register-submit' }, 'Register namespace'));
  register.addEventListener('submit', async e => {
    e.preventDefault();
    const f = new FormData(register);
    const body = { namespace: f.get('namespace').trim(), description: f.get('description') };
    if (f.get('retention')) body.retention_ms = days(f.get('retention'));
    try {
      await api('/api/v1/namespaces', { method: 'POST', body: JSON.stringify(body),
                                        headers: { 'Content-Type': 'application/json' } });
      route();
    } catch (err) { formError(register, 'namespace-register-error', err); }
  });
  const update = h('form', { class: 'filters', id: 'namespace-update' },
    h('label', {}, 'Namespace', h('select', { name: 'namespace', id: 'namespace-update-name' },
      namespaces.map(n => h('option', { value: n.name }, n.name)))),
    field('New description', { name: 'description', size: 24 }),
    field('Retention (days)', { name: 'retention', size: 4 }),
    field('Add search attribute', { name: 'attribute', size: 12, placeholder: 'CustomerId' }),
    h('select', { name: 'type', id: 'namespace-attribute-type' },
      searchAttributeTypes.map(t => h('option', { value: t }, t))),
    h('button', { type: 'submit', id: 'namespace-update-submit' }, 'Update namespace'));
  update.addEventListener('submit', async e => {
    e.preventDefault();
    const f = new FormData(update);
    const ns = f.get('namespace');
    const body = {};
    if (f.get('description')) body.description = f.get('description');
    if (f.get('retention')) body.retention_ms = days(f.get('retention'));
    if (f.get('attribute')) body.add_search_attributes = { [f.get('attribute').trim()]: f.get('type') };
    try {
      await api('/api/v1/namespaces/' + encodeURIComponent(ns) + '/update',
                { method: 'POST', body: JSON.stringify(body),
                  headers: { 'Content-Type': 'application/json' } });
      route();
    } catch (err) { formError(update, 'namespace-update-error', err); }
  });
  return h('div', { id: 'namespace-forms' }, register, namespaces.length ? update : null);
}

// ---- task queues --------------------------------------------------------------------------------

// "850 ms", "12 s", "3 min 5 s"
function ageText(ms) {
  ms = Number(ms);
  if (ms < 1000) return ms + ' ms';
  const s = Math.floor(ms / 1000);
  return s < 60 ? s + ' s' : Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
}

// A task queue's pollers and backlog per kind (every node that hosts it answers), read again every
// 2 s while the page is open.
async function taskQueuePage(ns, queue) {
  const path = '/api/v1/namespaces/' + encodeURIComponent(ns) + '/task-queues/' +
    encodeURIComponent(queue);
  // Closed when the page is left (stopLive): a read still on its way then shows nothing.
  const mine = livePage();
  let d;
  try {
    d = await api(path);
  } catch (err) {
    if (!mine.closed) showError('Task queue ' + queue, err);
    return;
  }
  if (mine.closed) return;
  const now = Date.now();
  const backlog = d.backlogs.map(b => h('tr', { id: 'backlog-' + b.kind },
    h('td', {}, b.kind), h('td', { class: 'count' }, b.count + (b.capped ? '+' : '')),
    h('td', {}, Number(b.count) > 0 ? ageText(b.oldest_age_ms) : '-'), h('td', {}, b.in_flight),
    h('td', { class: 'priorities' },
      (b.priorities || []).map(p => p.priority + ': ' + p.count).join(', ') || '-')));
  // Flow control (docs/semantics.md "Flow control"): each limit in force and where it comes from
  // (operator: task-queue config set; worker: the workers' options), then each key's usage.
  const limit = (v, unit, source) => Number(v) > 0
    ? v + unit + (source ? ' (' + source + ')' : '') : 'none';
  const cfg = d.config || {};
  const flow = (d.flow_control || []).map(fc => h('div', { class: 'flow-control' },
    h('p', {}, 'Queue on ' + fc.node + ': rate ',
      h('span', { class: 'rate' }, limit(fc.activities_per_second, '/s', fc.activities_per_second_source)),
      ', running per fairness key ',
      h('span', { class: 'max-running' }, limit(fc.max_running_per_key, '', fc.max_running_per_key_source)),
      ', rate per fairness key ',
      h('span', { class: 'key-rate' }, limit(fc.per_key_activities_per_second, '/s',
                                             fc.per_key_activities_per_second_source))),
    table(['Fairness key', 'Running', 'Waiting'], (fc.keys || []).map(k => h('tr', { class: 'fairness-key' },
      h('td', { class: 'mono' }, k.key), h('td', {}, k.running), h('td', {}, k.waiting))),
      'No fairness key has activities running or waiting.')));
  const operator = [];
  if (Number(cfg.activities_per_second) > 0) operator.push('activities per second ' + cfg.activities_per_second);
  if (Number(cfg.max_running_per_key) > 0) operator.push('running per fairness key ' + cfg.max_running_per_key);
  if (Number(cfg.per_key_activities_per_second) > 0)
    operator.push('activities per second per fairness key ' + cfg.per_key_activities_per_second);
  const pollers = d.pollers.map(p => h('tr', { class: 'poller' },
    h('td', {}, p.kind), h('td', { class: 'mono identity' }, p.identity),
    h('td', { class: 'mono' }, p.build_id || '-'), h('td', {}, p.node), h('td', {}, p.queue_node),
    h('td', {}, p.free_slots + ' / ' + p.slots),
    h('td', {}, ageText(Math.max(0, now - Number(p.last_seen_ms))) + ' ago')));
  show(h('h1', {}, 'Task queue ', h('span', { class: 'mono', id: 'task-queue' }, d.task_queue)),
    h('p', { class: 'muted' }, 'Namespace ' + d.namespace + '; placed on ' +
      (d.owner_node || '(owner down)') + (d.nodes.length ? '; hosted by ' + d.nodes.join(', ') : '') +
      (d.missing_nodes.length ? '; not answered: ' + d.missing_nodes.join(', ') : '')),
    h('h2', {}, 'Backlog'),
    table(['Kind', 'Waiting', 'Oldest', 'In flight', 'Waiting by priority'], backlog, 'No backlog.'),
    h('h2', {}, 'Flow control'),
    h('p', { id: 'operator-limits' }, operator.length
      ? 'Set by an operator: ' + operator.join(', ') + (cfg.reason ? ' (reason: ' + cfg.reason + ')' : '')
      : 'No operator limits (chronicle task-queue config set).'),
    h('div', { id: 'flow-control' }, flow),
    queueConfigForm(path, cfg),
    h('h2', {}, 'Pollers'),
    h('div', { id: 'pollers' }, table(['Kind', 'Identity', 'Build ID', 'Node', 'Queue node',
                                       'Free slots', 'Last seen'], pollers,
                                      'No worker is registered with this task queue.')));
  // Not read again while the limits form is being filled in (it would be drawn anew).
  const again = () => {
    if (mine.closed) return;
    if (formBusy('#task-queue-config')) mine.timer = setTimeout(again, 2000);
    else taskQueuePage(ns, queue);
  };
  mine.timer = setTimeout(again, 2000);
}

// Set or unset the operator's limits of a task queue: the same request as `chronicle task-queue
// config set` (docs/semantics.md "Flow control"). Empty fields are left as they are.
function queueConfigForm(path, cfg) {
  const field = (label, attrs) => h('label', {}, label, h('input', attrs));
  const form = h('form', { class: 'filters', id: 'task-queue-config' },
    field('Activities per second', { name: 'activities_per_second', size: 5 }),
    field('Running per fairness key', { name: 'max_running_per_key', size: 4 }),
    field('Per second per fairness key', { name: 'per_key_activities_per_second', size: 5 }),
    field('Reason', { name: 'reason', size: 16 }),
    h('button', { type: 'submit', id: 'task-queue-config-submit' }, 'Set limits'),
    h('button', { type: 'button', id: 'task-queue-config-unset', class: 'danger',
                  disabled: !(Number(cfg.activities_per_second) > 0 || Number(cfg.max_running_per_key) > 0 ||
                              Number(cfg.per_key_activities_per_second) > 0) || null },
      'Remove operator limits'));
  const send = async body => {
    try {
      await api(path + '/config', { method: 'PUT', body: JSON.stringify(body),
                                    headers: { 'Content-Type': 'application/json' } });
      form.reset();
      route();
    } catch (err) { formError(form, 'task-queue-config-error', err); }
  };
  form.addEventListener('submit', e => {
    e.preventDefault();
    const f = new FormData(form);
    const body = { reason: f.get('reason') };
    for (const k of ['activities_per_second', 'max_running_per_key', 'per_key_activities_per_second'])
      if (f.get(k) !== '') body[k] = Number(f.get(k));
    send(body);
  });
  form.querySelector('#task-queue-config-unset').addEventListener('click', () => {
    if (confirm('Remove every limit an operator set on this task queue?'))
      send({ unset: ['all'], reason: new FormData(form).get('reason') });
  });
  return form;
}

// ---- schedules ----------------------------------------------------------------------------------

function scheduleBase(ns) {
  return '/api/v1/namespaces/' + encodeURIComponent(ns) + '/schedules';
}

function scheduleLink(ns, id) {
  return h('a', { href: '#/schedule/' + encodeURIComponent(ns) + '/' + encodeURIComponent(id),
                  class: 'schedule-link' }, id);
}

const overlapText = p => pretty(p || 'SCHEDULE_OVERLAP_POLICY_SKIP', 'SCHEDULE_OVERLAP_POLICY_');

// What a spec says, one line per part.
function specLines(spec) {
  const lines = [];
  for (const c of spec.cron || []) lines.push('cron ' + c);
  for (const i of spec.interval || [])
    lines.push('every ' + ageText(i.every_ms) + (Number(i.offset_ms) ? ' offset ' + ageText(i.offset_ms) : ''));
  if ((spec.calendar || []).length) lines.push(spec.calendar.length + ' calendar(s)');
  if ((spec.exclude_calendar || []).length) lines.push(spec.exclude_calendar.length + ' excluded calendar(s)');
  if (spec.time_zone) lines.push('time zone ' + spec.time_zone);
  if (Number(spec.jitter_ms)) lines.push('jitter ' + ageText(spec.jitter_ms));
  return lines;
}

// The schedules of a namespace, with their next run.
async function schedulesPage(params) {
  const ns = params.get('ns') || 'default';
  let l;
  try {
    l = await api(scheduleBase(ns));
  } catch (err) {
    showError('Schedules', err);
    return;
  }
  const rows = (l.schedules || []).map(s => h('tr', { class: 'schedule' },
    h('td', { class: 'mono' }, scheduleLink(ns, s.schedule_id)),
    h('td', {}, (s.definition || {}).paused ? 'paused' : 'active'),
    h('td', {}, ((s.definition || {}).action || {}).workflow_type),
    h('td', {}, specLines((s.definition || {}).spec || {}).join('; ') || '-'),
    h('td', {}, (s.info || {}).action_count),
    h('td', {}, time(((s.info || {}).next_action_times_ms || [])[0]))));
  show(h('h1', {}, 'Schedules'),
    h('p', { class: 'muted' }, 'Namespace ' + ns +
      ((l.unreachable || []).length ? '; not answered: ' + l.unreachable.join(', ') : '')),
    h('div', { id: 'schedules' }, table(['Schedule', 'State', 'Workflow type', 'Spec', 'Actions',
                                         'Next run'], rows, 'No schedules.')));
}

function actionRows(ns, actions) {
  return actions.slice().reverse().map(a => h('tr', { class: 'action' },
    h('td', {}, time(a.nominal_time_ms)), h('td', {}, time(a.actual_time_ms)),
    h('td', { class: 'mono' }, workflowLink(ns, a.workflow_id)), h('td', {}, statusBadge(a.status)),
    h('td', {}, a.manual ? 'manual' : '')));
}

// One schedule: its spec and policies, next runs, running and recent actions; read again every
// 2 s while the page is open.
async function schedulePage(ns, id) {
  const mine = livePage();
  let d;
  try {
    d = await api(scheduleBase(ns) + '/' + encodeURIComponent(id));
  } catch (err) {
    if (!mine.closed) showError('Schedule ' + id, err);
    return;
  }
  if (mine.closed) return;
  // Unset messages are left out of the JSON: read them as empty.
  const def = d.definition || {}, info = d.info || {};
  const action = def.action || {}, spec = def.spec || {}, policies = def.policies || {};
  const headers = ['Nominal time', 'Taken at', 'Workflow', 'Status', ''];
  show(h('h1', {}, 'Schedule ', h('span', { class: 'mono', id: 'schedule-id' }, d.schedule_id)),
    h('dl', { class: 'details' },
      h('dt', {}, 'Namespace'), h('dd', {}, ns),
      h('dt', {}, 'State'), h('dd', { id: 'schedule-state' },
        (def.paused ? 'paused' : 'active') + (def.note ? ' (' + def.note + ')' : '')),
      h('dt', {}, 'Action'), h('dd', {}, 'start ' + action.workflow_type + ' on ',
        taskQueueLink(ns, action.task_queue)),
      h('dt', {}, 'Spec'), h('dd', {}, specLines(spec).join('; ') || '-'),
      h('dt', {}, 'Overlap'), h('dd', {}, overlapText(policies.overlap)),
      h('dt', {}, 'Actions'), h('dd', { id: 'schedule-counts' }, info.action_count + ' taken, ' +
        info.missed_catchup_window + ' missed (catch-up window), ' + info.overlap_skipped +
        ' skipped (overlap), ' + info.buffered + ' buffered')),
    h('h2', {}, 'Next runs'),
    h('ul', { id: 'next-runs' }, (info.next_action_times_ms || []).map(t => h('li', {}, time(t)))),
    h('h2', {}, 'Running'),
    h('div', { id: 'running' }, table(headers, actionRows(ns, info.running || []), 'None.')),
    h('h2', {}, 'Recent actions'),
    h('div', { id: 'recent-actions' }, table(headers, actionRows(ns, info.recent_actions || []),
                                             'None yet.')));
  mine.timer = setTimeout(() => { if (!mine.closed) schedulePage(ns, id); }, 2000);
}

// ---- batch jobs ---------------------------------------------------------------------------------

function batchBase(ns) {
  return '/api/v1/namespaces/' + encodeURIComponent(ns) + '/batches';
}

function batchLink(ns, id) {
  return h('a', { href: '#/batch/' + encodeURIComponent(ns) + '/' + encodeURIComponent(id),
                  class: 'batch-link' }, id);
}

const batchStateText = s => pretty(s, 'BATCH_JOB_STATE_');

// "terminate", "cancel", "signal <name>", "reset (last)"
function batchOperationText(op) {
  op = op || {};
  if (op.terminate) return 'terminate';
  if (op.cancel) return 'cancel';
  if (op.signal) return 'signal ' + op.signal.name;
  if (op.reset) return 'reset (' + pretty(op.reset.reset_type, 'RESET_TYPE_').replace('WorkflowTask', '') + ')';
  return '?';
}

function batchProgressText(d) {
  return d.position + ' of ' + d.total + (batchStateText(d.state) === 'Collecting' ? ' (collecting)' : '') +
    ': ' + d.done + ' done (' + d.already_done + ' already), ' + d.failed + ' failed';
}

// The batch jobs of a namespace, newest first, and a form that starts one.
async function batchesPage(params) {
  const ns = params.get('ns') || 'default';
  let l;
  try {
    l = await api(batchBase(ns));
  } catch (err) {
    showError('Batch jobs', err);
    return;
  }
  const rows = (l.jobs || []).map(d => h('tr', { class: 'batch' },
    h('td', { class: 'mono' }, batchLink(ns, (d.definition || {}).job_id)),
    h('td', {}, h('span', { class: 'status ' + batchStateText(d.state) }, batchStateText(d.state))),
    h('td', {}, batchOperationText((d.definition || {}).operation)),
    h('td', { class: 'mono' }, (d.definition || {}).query),
    h('td', {}, d.position + '/' + d.total), h('td', {}, d.done), h('td', {}, d.failed),
    h('td', {}, time(d.start_time_ms))));
  const field = (label, attrs) => h('label', {}, label, h('input', attrs));
  const op = h('select', { name: 'operation', id: 'batch-operation' },
    ['terminate', 'cancel', 'signal', 'reset'].map(o => h('option', { value: o }, o)));
  const form = h('form', { class: 'filters', id: 'batch-start' },
    field('Query', { name: 'query', id: 'batch-query', size: 50, spellcheck: 'false',
                     placeholder: "WorkflowType = 'Order'" }),
    h('label', {}, 'Operation', op),
    field('Signal name', { name: 'signal_name', id: 'batch-signal-name', size: 10 }),
    field('Signal input (JSON)', { name: 'input', id: 'batch-input', size: 12 }),
    h('label', {}, 'Reset to', h('select', { name: 'reset_type', id: 'batch-reset-type' },
      ['last', 'first'].map(o => h('option', { value: o }, o)))),
    field('Per second', { name: 'rps', id: 'batch-rps', size: 4, value: '50' }),
    field('Reason', { name: 'reason', id: 'batch-reason', size: 16 }),
    h('button', { type: 'submit', class: 'danger', id: 'batch-submit' }, 'Start batch job'));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const f = new FormData(form);
    const body = { query: f.get('query'), operation: f.get('operation'), reason: f.get('reason'),
                   rps: Number(f.get('rps') || 0) };
    if (body.operation === 'signal') {
      body.signal_name = f.get('signal_name');
      if (f.get('input')) {
        try { body.input = JSON.parse(f.get('input')); } catch (err) { alert('The signal input is not JSON'); return; }
      }
    }
    if (body.operation === 'reset') body.reset_type = f.get('reset_type');
    if (!confirm('Apply ' + body.operation + ' to every run of: ' + body.query + ' ?')) return;
    try {
      const d = await api(batchBase(ns), { method: 'POST', body: JSON.stringify(body),
                                           headers: { 'Content-Type': 'application/json' } });
      location.hash = '#/batch/' + encodeURIComponent(ns) + '/' + encodeURIComponent(d.definition.job_id);
    } catch (err) {
      if (!err.signIn) {
        const old = document.getElementById('batch-error');
        if (old) old.remove();
        form.after(h('p', { class: 'error', id: 'batch-error' }, err.message));
      }
    }
  });
  show(h('h1', {}, 'Batch jobs'),
    h('p', { class: 'muted' }, 'Namespace ' + ns + ': terminate, cancel, signal or reset every run ' +
      'a list query matches, at a rate' +
      ((l.unreachable || []).length ? '; not answered: ' + l.unreachable.join(', ') : '')),
    form,
    h('div', { id: 'batches' }, table(['Job', 'State', 'Operation', 'Query', 'Progress', 'Done',
                                       'Failed', 'Started'], rows, 'No batch jobs.')));
}

// One batch job: its progress and failures, a Stop button while it is open; read again every
// second while the page is open.
async function batchPage(ns, id) {
  const mine = livePage();
  let d;
  try {
    d = await api(batchBase(ns) + '/' + encodeURIComponent(id));
  } catch (err) {
    if (!mine.closed) showError('Batch job ' + id, err);
    return;
  }
  if (mine.closed) return;
  const def = d.definition || {};
  const state = batchStateText(d.state);
  const open = state === 'Collecting' || state === 'Running';
  const stop = !open ? null : h('button', { class: 'danger', id: 'batch-stop', onclick: async () => {
    const reason = prompt('Stop the batch job: reason');
    if (reason === null) return;
    try {
      await api(batchBase(ns) + '/' + encodeURIComponent(id) + '/stop',
                { method: 'POST', body: JSON.stringify({ reason }),
                  headers: { 'Content-Type': 'application/json' } });
      route();
    } catch (err) { if (!err.signIn) alert(err.message); }
  } }, 'Stop');
  const failures = (d.failures || []).map(f => h('tr', { class: 'batch-failure' },
    h('td', { class: 'mono' }, workflowLink(ns, f.workflow_id)), h('td', { class: 'mono' }, f.run_id),
    h('td', {}, f.reason)));
  const pct = Number(d.total) ? Math.floor(100 * Number(d.position) / Number(d.total)) : (open ? 0 : 100);
  show(h('h1', {}, 'Batch job ', h('span', { class: 'mono', id: 'batch-id' }, def.job_id)),
    h('div', { class: 'actions' }, stop),
    h('dl', { class: 'details' },
      h('dt', {}, 'Namespace'), h('dd', {}, ns),
      h('dt', {}, 'State'), h('dd', { id: 'batch-state' },
        h('span', { class: 'status ' + state }, state),
        d.stop_reason ? ' (' + d.stop_reason + ')' : ''),
      h('dt', {}, 'Operation'), h('dd', { id: 'batch-operation-text' }, batchOperationText(def.operation)),
      h('dt', {}, 'Query'), h('dd', { class: 'mono' }, def.query),
      h('dt', {}, 'Rate'), h('dd', {}, (Number(def.rps) || 50) + ' per second'),
      def.reason ? [h('dt', {}, 'Reason'), h('dd', {}, def.reason)] : null,
      h('dt', {}, 'Progress'), h('dd', { id: 'batch-progress' },
        h('progress', { max: 100, value: pct }), ' ', batchProgressText(d)),
      h('dt', {}, 'Started'), h('dd', {}, time(d.start_time_ms)),
      h('dt', {}, 'Closed'), h('dd', {}, time(d.close_time_ms))),
    h('h2', {}, 'Failures' + (Number(d.failed) > failures.length ? ' (the first ' + failures.length + ')' : '')),
    h('div', { id: 'batch-failures' }, table(['Workflow', 'Run', 'Reason'], failures, 'None.')));
  if (open) mine.timer = setTimeout(() => { if (!mine.closed) batchPage(ns, id); }, 1000);
}

// ---- metrics ------------------------------------------------------------------------------------

// /metrics (Prometheus text), fetched with the API key like every other call.
async function metricsPage() {
  const res = await fetch('/metrics', apiKey() ? { headers: { Authorization: 'Bearer ' + apiKey() } } : {});
  const text = await res.text();
  if (res.status === 401) return showSignIn();
  if (!res.ok) return showError('Metrics', new Error(res.status + ' ' + res.statusText));
  show(h('h1', {}, 'Metrics'), h('pre', { class: 'mono', id: 'metrics' }, text));
}

// ---- routing ------------------------------------------------------------------------------------

function route() {
  signOutLink();
  stopLive();
  const hash = location.hash.replace(/^#/, '') || '/workflows';
  const [path, query] = hash.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  for (const a of document.querySelectorAll('header nav a'))
    a.classList.toggle('active', a.getAttribute('href') === '#/' + parts[0]);
  if (parts[0] === 'workflow' && parts.length === 3) return workflowPage(parts[1], parts[2]);
  if (parts[0] === 'task-queue' && parts.length === 3) return taskQueuePage(parts[1], parts[2]);
  if (parts[0] === 'schedule' && parts.length === 3) return schedulePage(parts[1], parts[2]);
  if (parts[0] === 'schedules') return schedulesPage(new URLSearchParams(query || ''));
  if (parts[0] === 'batch' && parts.length === 3) return batchPage(parts[1], parts[2]);
  if (parts[0] === 'batches') return batchesPage(new URLSearchParams(query || ''));
  if (parts[0] === 'cluster') return clusterPage();
  if (parts[0] === 'metrics') return metricsPage();
  return listPage(new URLSearchParams(query || ''));
}

window.addEventListener('hashchange', route);
api('/api/v1/cluster?shards=false')
  .then(c => { document.getElementById('node').textContent = 'node ' + c.answered_by; })
  .catch(() => {});
route();
