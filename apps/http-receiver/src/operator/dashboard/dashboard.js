/* global document, fetch, location, history, setTimeout, console, Node */
// The request dashboard: polls /healthz every 2 s; lists the latest requests once, then keeps the
// list and the selected request's timeline up to date from the event stream (event-stream.js),
// with no polling. Plain browser JavaScript, no build step. Every value from the server is put
// into the page as text (textContent), never as HTML.
import { followEvents } from './event-stream.js';

const REFRESH_MS = 2000;
const LIST_LIMIT = 20;
const LIST_PATH = `/api/v1/backup-requests?limit=${LIST_LIMIT}&all=true`;

/** The request whose timeline is shown; kept in the URL (#<id>) so a reload keeps it. */
let selectedId = location.hash.length > 1 ? decodeURIComponent(location.hash.slice(1)) : null;

const $ = (selector) => document.querySelector(selector);

/** An element with text or child nodes; `attributes` are set as attributes. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? '—'));
  return node;
}

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);
const isNumber = (value) => typeof value === 'number' && Number.isFinite(value);
const num = (value) => (isNumber(value) ? value.toLocaleString('en') : '—');
const badge = (status) => el('span', { class: 'badge', 'data-status': String(status ?? 'unknown') }, status ?? 'unknown');

function duration(seconds) {
  if (!isNumber(seconds)) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
}

function bytes(value) {
  if (!isNumber(value)) return '—';
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(0)} KiB`;
  return `${(value / 1024 / 1024).toFixed(1)} MiB`;
}

const DATE_TIME = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' };
const TIME_MS = { hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3 };

/** A timestamp in local time (date and time, or time with milliseconds), inside <time datetime>. */
function time(iso, withMillis = false) {
  if (typeof iso !== 'string') return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  // sv-SE writes ISO-like dates (2026-01-31 13:45:00); en-GB a 24-hour time with a decimal point
  return el('time', { datetime: iso, title: iso }, withMillis ? date.toLocaleTimeString('en-GB', TIME_MS) : date.toLocaleString('sv-SE', DATE_TIME));
}

/** Replaces a table body's rows; `empty` is shown in one full-width row when there are none. */
function fillTable(selector, rows, empty) {
  const body = $(`${selector} tbody`);
  const columns = $(`${selector} thead tr`).children.length;
  body.replaceChildren(...(rows.length ? rows : [el('tr', { class: 'empty' }, el('td', { colspan: columns }, empty))]));
}

const cell = (content, numeric = false) => el('td', numeric ? { class: 'num' } : {}, content);

function showMessage(text) {
  const message = $('#message');
  message.textContent = text ?? '';
  message.hidden = !text;
}

/**
 * GET a JSON resource with the session cookie. 401: the session is gone, back to sign-in.
 * Resolves to { status, body } (body undefined when it is not JSON); rejects on network errors.
 */
async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
  if (response.status === 401) {
    location.assign(`/admin/session?next=${encodeURIComponent('/dashboard')}`);
    throw new Error('signed out');
  }
  let body;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  return { status: response.status, body };
}

const problemText = ({ status, body }) => (isObject(body) && typeof body.detail === 'string' ? `${status}: ${body.detail}` : `HTTP ${status}`);

// ---- health summary (/healthz) ----

async function refreshHealth() {
  const answer = await getJson('/healthz');
  // 503 still carries the snapshot when the status is `down`
  const health = isObject(answer.body) ? answer.body : {};
  if (answer.status !== 200 && answer.status !== 503) {
    renderHealth({});
    $('#generated').textContent = `health summary unavailable (${problemText(answer)})`;
    return;
  }
  renderHealth(health);
}

function renderHealth(health) {
  const overall = $('#overall-status');
  overall.textContent = health.status ?? 'unknown';
  overall.dataset.status = health.status ?? 'unknown';
  $('#generated').textContent = isNumber(health.ageMs) ? `snapshot ${duration(health.ageMs / 1000)} old` : '';

  const dependencies = isObject(health.dependencies) ? health.dependencies : {};
  const names = { postgres: 'Postgres', redis: 'Redis', interfaceQueue: 'interface queue' };
  fillTable(
    '#dependencies',
    Object.entries(dependencies).map(([name, dependency]) =>
      el(
        'tr',
        { title: dependency?.error },
        cell(names[name] ?? name),
        cell(badge(dependency?.status)),
        cell(isNumber(dependency?.latencyMs) ? `${dependency.latencyMs} ms` : '—', true),
      ),
    ),
    'not reported',
  );

  const requests = isObject(health.requests) ? health.requests : {};
  const byStatus = isObject(requests.byStatus) ? requests.byStatus : {};
  fillTable(
    '#request-counts',
    Object.entries(byStatus).map(([status, count]) => el('tr', {}, cell(badge(status)), cell(num(count), true))),
    'no requests',
  );
  $('#oldest-non-terminal').textContent =
    requests.oldestNonTerminalAgeSeconds === null
      ? 'No request is in progress.'
      : isNumber(requests.oldestNonTerminalAgeSeconds)
        ? `Oldest request in progress: ${duration(requests.oldestNonTerminalAgeSeconds)}.`
        : '';

  const pm2 = isObject(health.pm2) ? health.pm2 : {};
  const pm2Note = $('#pm2-note');
  pm2Note.hidden = pm2.available !== false;
  pm2Note.textContent = pm2.available === false ? `PM2 is not available${pm2.reason ? `: ${pm2.reason}` : ''}.` : '';
  fillTable(
    '#pm2-apps',
    (Array.isArray(pm2.apps) ? pm2.apps : []).map((app) =>
      el(
        'tr',
        {},
        cell(app.name),
        cell(`${num(app.online)} / ${num(app.instances)}`, true),
        cell(num(app.restarts), true),
        cell(duration(app.uptimeSeconds), true),
        cell(isNumber(app.cpuPercent) ? `${app.cpuPercent} %` : '—', true),
        cell(bytes(app.memoryBytes), true),
      ),
    ),
    pm2.available === false ? 'not running under PM2' : 'no apps',
  );

  const queues = isObject(health.queues) ? health.queues : {};
  fillTable(
    '#queues',
    Object.entries(queues).map(([name, counts]) =>
      el(
        'tr',
        {},
        cell(name),
        ...['waiting', 'active', 'delayed', 'failed', 'completed'].map((key) => cell(num(counts?.[key]), true)),
        cell(counts?.oldestWaitingAgeSeconds == null ? '—' : duration(counts.oldestWaitingAgeSeconds), true),
      ),
    ),
    'not reported',
  );

  renderHosts(health);
}

// ---- hosts: every live instance of every host, from the instance registry (/healthz `instances`) ----

/**
 * One card per host, its apps and their instances (pid, uptime, CPU, memory, active jobs, last
 * heartbeat); the leader instance is marked. Ages are taken on the server's clock (the snapshot's
 * `generatedAt` + `ageMs`), so a browser whose clock is off still shows them right.
 */
function renderHosts(health) {
  const instances = Array.isArray(health.instances) ? health.instances : [];
  const hosts = Array.isArray(health.hosts) ? health.hosts : [];
  const serverNow = Date.parse(health.generatedAt) + (isNumber(health.ageMs) ? health.ageMs : 0);
  const ageOf = (iso) => (Number.isFinite(serverNow) && typeof iso === 'string' ? Math.max(0, (serverNow - Date.parse(iso)) / 1000) : undefined);
  const leader = isObject(health.leader) ? health.leader : null;

  $('#hosts-summary').textContent =
    `${hosts.length} ${hosts.length === 1 ? 'host' : 'hosts'}, ${instances.length} ${instances.length === 1 ? 'instance' : 'instances'}. ` +
    (leader ? `Leader: ${leader.host} (pid ${leader.pid}).` : 'Leader: not known from this snapshot.');

  const cards = hosts.map((host) => {
    const own = instances.filter((instance) => instance.host === host.host);
    const apps = [...new Set(own.map((instance) => instance.app))];
    const rows = apps.flatMap((app) => {
      const ofApp = own.filter((instance) => instance.app === app);
      return ofApp.map((instance, i) => {
        const isLeader = leader !== null && leader.host === instance.host && leader.pid === instance.pid;
        return el(
          'tr',
          { 'data-app': app, 'data-pid': instance.pid },
          ...(i === 0 ? [el('th', { scope: 'rowgroup', rowspan: ofApp.length }, `${app} (${ofApp.length})`)] : []),
          cell(isLeader ? el('span', {}, String(instance.pid), ' ', el('span', { class: 'badge', 'data-status': 'leader' }, 'leader')) : String(instance.pid), true),
          cell(duration(ageOf(instance.startedAt)), true),
          cell(isNumber(instance.cpuPercent) ? `${instance.cpuPercent} %` : '—', true),
          cell(bytes(instance.memoryBytes), true),
          cell(num(instance.activeJobs), true),
          cell(`${duration(ageOf(instance.lastSeenAt))} ago`, true),
        );
      });
    });
    return el(
      'article',
      { class: 'host', 'data-host': host.host },
      el('h3', {}, host.host, ' ', el('span', { class: 'muted' }, `· ${num(host.instances)} ${host.instances === 1 ? 'instance' : 'instances'} · last heartbeat ${duration(ageOf(host.lastSeenAt))} ago`)),
      el(
        'table',
        {},
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            ...['app', 'pid', 'uptime', 'CPU', 'memory', 'active jobs', 'last seen'].map((label, i) => el('th', { scope: 'col', class: i > 0 ? 'num' : undefined }, label)),
          ),
        ),
        el('tbody', {}, ...rows),
      ),
    );
  });
  $('#hosts-list').replaceChildren(...(cards.length ? cards : [el('p', { class: 'muted' }, 'No live instance is registered.')]));
}

// ---- latest requests: listed once, then kept up to date from the event stream ----

/**
 * The rows shown, newest first: backupRequestId → { backupRequestId, receivedAt, backupJobId,
 * requesterId, status, lastAt } (lastAt: the time of the latest change applied to the row).
 */
let rows = [];
/** Events that arrived before the list was loaded, applied after it. */
let early = [];
let listed = false;

const latestChange = (request) =>
  Math.max(...[request.receivedAt, request.checkedAt, request.sentAt, request.repliedAt].map((at) => (at ? Date.parse(at) : 0)));

async function loadRequests() {
  const answer = await getJson(LIST_PATH);
  if (answer.status !== 200 || !Array.isArray(answer.body?.items)) {
    showMessage(`Could not list the requests (${problemText(answer)}).`);
    return;
  }
  showMessage('');
  rows = answer.body.items.map((request) => ({
    backupRequestId: request.backupRequestId,
    receivedAt: request.receivedAt,
    backupJobId: request.backupJobId,
    requesterId: request.requesterId,
    status: request.status,
    lastAt: latestChange(request),
  }));
  listed = true;
  for (const event of early) applyEvent(event);
  early = [];
  renderRequests();
}

/** A status change: the row moves on, or a new request comes in at the top. */
function applyEvent(event) {
  if (!isObject(event) || typeof event.backupRequestId !== 'string') return;
  if (!listed) {
    early.push(event);
    return;
  }
  const at = Date.parse(event.at);
  const row = rows.find((r) => r.backupRequestId === event.backupRequestId);
  if (row) {
    if (!(at < row.lastAt)) Object.assign(row, { status: event.status, lastAt: at }); // (an event older than the list is stale)
  } else if (event.status === 'Received') {
    rows.unshift({ backupRequestId: event.backupRequestId, receivedAt: event.at, backupJobId: event.backupJobId, requesterId: event.requesterId, status: event.status, lastAt: at });
    rows.length = Math.min(rows.length, LIST_LIMIT);
  }
  scheduleRender();
  if (event.backupRequestId === selectedId) void refreshTimeline().catch(reportError);
}

/** A burst of events is drawn once (at most ten times a second). */
let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  setTimeout(() => {
    renderPending = false;
    renderRequests();
  }, 100);
}

function renderRequests() {
  fillTable(
    '#requests',
    rows.map((request) => {
      const selected = request.backupRequestId === selectedId;
      const row = el(
        'tr',
        { 'data-id': request.backupRequestId, tabindex: 0, 'aria-selected': String(selected), class: selected ? 'selected' : undefined },
        cell(time(request.receivedAt)),
        cell(el('code', {}, request.backupRequestId)),
        cell(request.backupJobId),
        cell(request.requesterId),
        cell(badge(request.status)),
      );
      row.addEventListener('click', () => select(request.backupRequestId));
      row.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          select(request.backupRequestId);
        }
      });
      return row;
    }),
    'no requests yet',
  );
}

function showStreamState(state) {
  const badgeElement = $('#stream-state');
  badgeElement.dataset.state = state;
  badgeElement.textContent = state === 'live' ? 'live' : 'reconnecting…';
}

function select(id) {
  selectedId = id;
  history.replaceState(null, '', `#${encodeURIComponent(id)}`);
  for (const row of document.querySelectorAll('#requests tbody tr[data-id]')) {
    const selected = row.dataset.id === id;
    row.classList.toggle('selected', selected);
    row.setAttribute('aria-selected', String(selected));
  }
  void refreshTimeline().catch(reportError);
}

// ---- one request's timeline ----

async function refreshTimeline() {
  const section = $('#timeline');
  if (!selectedId) {
    section.hidden = true;
    return;
  }
  const id = selectedId;
  const answer = await getJson(`/api/v1/backup-requests/${encodeURIComponent(id)}`);
  if (id !== selectedId) return; // another row was selected meanwhile
  section.hidden = false;
  $('#timeline-id').textContent = id;
  if (answer.status !== 200 || !isObject(answer.body)) {
    $('#timeline-details').replaceChildren();
    $('#timeline-history').replaceChildren(el('li', {}, `Not available (${problemText(answer)}).`));
    return;
  }
  const request = answer.body;
  const details = [
    ['status', badge(request.status)],
    ['reason', request.statusReason],
    ['backup job', request.backupJobId],
    ['data date', request.dataDate],
    ['data location', request.backupDataLocation],
    ['client', request.requesterId],
    ['provider', request.backupProviderCode],
    ['storage path', request.storagePathName],
    ['trace id', request.traceId ? el('code', {}, request.traceId) : null],
  ];
  $('#timeline-details').replaceChildren(
    ...details.flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value ?? '—')]),
  );

  const entries = Array.isArray(request.history) ? request.history : [];
  let previous;
  $('#timeline-history').replaceChildren(
    ...entries.map((entry) => {
      const at = Date.parse(entry.at);
      const after = previous !== undefined && Number.isFinite(at) ? ` +${duration((at - previous) / 1000)}` : '';
      previous = at;
      return el(
        'li',
        {},
        badge(entry.status),
        ' ',
        time(entry.at, true),
        el('span', { class: 'muted' }, after),
        ...(entry.reason ? [' ', el('span', { class: 'reason' }, entry.reason)] : []),
      );
    }),
  );
}

// ---- refresh loop ----

function reportError(err) {
  if (err instanceof Error && err.message === 'signed out') return;
  console.error(err);
  showMessage('The receiver did not answer; retrying…');
}

async function refreshHealthLoop() {
  await refreshHealth().catch(reportError);
  setTimeout(() => void refreshHealthLoop(), REFRESH_MS);
}

void refreshHealthLoop();
void refreshTimeline().catch(reportError);
followEvents({
  onEvent: applyEvent,
  // the list is read once the stream is open, so no change falls between the two; after a
  // reconnect the stream itself resends what was missed (Last-Event-ID)
  onOpen: () => {
    if (!listed) void loadRequests().catch(reportError);
  },
  onState: showStreamState,
});
