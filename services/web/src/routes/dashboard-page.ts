import { createHash } from 'node:crypto';
import escapeHtml from 'escape-html';

// The page renders itself from the snapshot JSON, first the one embedded here and then each one
// the event stream sends, so there is one rendering path and the page never needs a reload.
const SCRIPT = `
const PROFILE_POLL_MS = 500;
const $ = (id) => document.getElementById(id);
const text = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
const rows = (items, cells) => items.map((item) => '<tr>' + cells(item).map((c) => '<td>' + text(c) + '</td>').join('') + '</tr>').join('');
const BARS = '▁▂▃▄▅▆▇█';
const spark = (series) => { const top = Math.max(1, ...series); return series.map((n) => n === 0 ? '·' : BARS[Math.min(7, Math.floor((n / top) * 7.999))]).join(''); };
const total = (series) => series.reduce((a, b) => a + b, 0);
const link = (href, label) => '<a href="' + text(href) + '">' + text(label) + '</a>';
const ago = (iso) => Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)) + ' s';
const figure = (value, scale, unit) => value !== undefined && value !== '' && Number.isFinite(Number(value)) ? (scale * Number(value)).toFixed(1) + unit : '–';
const memberCells = (m) => [m.group, m.id, m.capabilities.host, m.capabilities.pid, m.capabilities.version, m.capabilities.queues ?? '', m.capabilities.concurrency ?? '',
  figure(m.capabilities.eventLoopUtilization, 100, ' %'), figure(m.capabilities.eventLoopDelayMaxMs, 1, ' ms'), ago(m.capabilities.startedAt),
  Math.max(0, Math.round((m.expiresAt - Date.now()) / 1000)) + ' s'];
const PROFILE_CONTROL = '<select class="kind" aria-label="profile kind"><option value="cpu">CPU profile</option><option value="heap-sampling">sampling heap profile</option>' +
  '<option value="heap-snapshot">heap snapshot</option></select> <label class="seconds">for <input type="number" min="1" value="10" aria-label="seconds"> s</label> ' +
  '<button type="button" class="profile">Profile</button> <span class="profile-state" role="status"></span>';
// A process keeps its row from one update to the next (only the figures change), so a profile
// being chosen, typed or followed is not wiped out by the next snapshot.
const processRows = new Map();
function renderMembers(members) {
  const body = $('members');
  const live = new Set(members.map((m) => m.id));
  for (const [id, row] of processRows) if (!live.has(id)) { row.remove(); processRows.delete(id); }
  members.forEach((m, i) => {
    let row = processRows.get(m.id);
    if (!row) {
      row = document.createElement('tr');
      row.dataset.process = m.id;
      row.innerHTML = '<td></td>'.repeat(memberCells(m).length) + '<td class="profile-cell">' + PROFILE_CONTROL + '</td>';
      processRows.set(m.id, row);
    }
    memberCells(m).forEach((value, j) => { row.cells[j].textContent = value; });
    if (body.children[i] !== row) body.insertBefore(row, body.children[i] ?? null);
  });
}
// bull-board lists a sharded queue once per shard, as s<index>-<queue> (see dashboard.ts).
const boardLink = (queue, label) => link('/dashboard/jobs/queue/' + encodeURIComponent(queue), label);
const stateCells = (x) => [x.counts.waiting, x.counts.active, x.counts.delayed, x.counts.failed, x.counts.completed, x.oldestWaitingSeconds.toFixed(1) + ' s', x.workers];
const QUEUE_COLUMNS = 11;
const shardLayout = (q) => (q.shards ?? []).map((shard) => shard.prefix).join(' ');
// A queue, too, keeps its rows between updates: a shards toggle is not swapped under the pointer
// or the keyboard focus, and shards once shown stay shown. A queue spread over several shards is
// one row with a toggle; each shard's row (its counts, oldest waiting job and workers, no
// throughput: that is counted per queue) is there but hidden until the toggle opens it.
const queueRows = new Map();
function queueEntry(q) {
  const row = (first, className) => {
    const tr = document.createElement('tr');
    if (className) tr.className = className;
    tr.innerHTML = '<td>' + first + '</td>' + '<td></td>'.repeat(QUEUE_COLUMNS - 1);
    return tr;
  };
  const shards = q.shards ?? [];
  const main = row(shards.length === 0 ? boardLink(q.name, q.name) : text(q.name) + ' <button type="button" class="shards" data-queue="' + text(q.name) +
    '" aria-expanded="false">' + shards.length + ' shards</button>');
  main.cells[QUEUE_COLUMNS - 1].className = 'spark';
  const shardRows = shards.map((shard, i) => {
    const tr = row(boardLink('s' + i + '-' + q.name, 'shard ' + i) + ' <span class="meta">' + text(shard.prefix) + '</span>', 'shard');
    tr.dataset.queue = q.name;
    tr.hidden = true;
    return tr;
  });
  return { layout: shardLayout(q), main, shardRows };
}
function renderQueues(queues) {
  const body = $('queues');
  const live = new Set(queues.map((q) => q.name));
  const drop = (name) => { const { main, shardRows } = queueRows.get(name); [main, ...shardRows].forEach((tr) => tr.remove()); queueRows.delete(name); };
  for (const name of queueRows.keys()) if (!live.has(name)) drop(name);
  const order = queues.flatMap((q) => {
    if (queueRows.get(q.name)?.layout !== shardLayout(q)) {
      if (queueRows.has(q.name)) drop(q.name);
      queueRows.set(q.name, queueEntry(q));
    }
    const { main, shardRows } = queueRows.get(q.name);
    [...stateCells(q), total(q.throughput.completed), total(q.throughput.failed), spark(q.throughput.completed)].forEach((value, j) => { main.cells[j + 1].textContent = value; });
    main.cells[QUEUE_COLUMNS - 1].title = 'completed per minute, oldest first: ' + q.throughput.completed.join(' ');
    (q.shards ?? []).forEach((shard, i) => stateCells(shard).forEach((value, j) => { shardRows[i].cells[j + 1].textContent = value; }));
    return [main, ...shardRows];
  });
  order.forEach((tr, i) => { if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] ?? null); });
}
function render(s) {
  const members = Object.entries(s.members).flatMap(([group, list]) => list.map((m) => ({ group, ...m })));
  renderMembers(members);
  $('member-count').textContent = members.length;
  renderQueues(s.queues);
  $('caches').innerHTML = rows(s.caches, (c) => [c.name, c.hits, c.misses, c.hitRatio === null ? '–' : (100 * c.hitRatio).toFixed(1) + ' %', c.invalidations, c.l1Hits, c.l1Entries]);
  document.querySelectorAll('.window').forEach((e) => { e.textContent = s.windowMinutes + ' min'; });
  $('updated').textContent = new Date(s.at).toLocaleTimeString();
}
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function problemText(response) {
  const problem = await response.json().catch(() => ({}));
  const fields = (problem.errors ?? []).map((e) => String(e.pointer ?? '').replace('#/', '') + ': ' + e.detail);
  return [problem.detail ?? problem.title ?? 'HTTP ' + response.status, ...fields].join('; ');
}
function progress(status) {
  if (status.state === 'uploading') return 'uploading ' + (status.bytes ? Math.floor((100 * (status.uploadedBytes ?? 0)) / status.bytes) : 0) + '%';
  if (status.state === 'failed') return 'failed: ' + (status.error ?? 'no reason given');
  if (status.state === 'done') return 'done: ' + status.fileName;
  return status.state + '…';
}
async function profile(row) {
  const id = row.dataset.process;
  const kind = row.querySelector('.kind').value;
  const button = row.querySelector('button.profile');
  const show = (message) => { row.querySelector('.profile-state').textContent = message; };
  if (kind === 'heap-snapshot' && !confirm('A heap snapshot pauses process ' + id + ' for as long as it takes (seconds on a big heap): it serves nothing meanwhile. Take it?')) return;
  button.disabled = true;
  try {
    const request = kind === 'heap-snapshot' ? { kind } : { kind, seconds: Number(row.querySelector('.seconds input').value) };
    show('requesting…');
    let response = await fetch('/api/admin/processes/' + encodeURIComponent(id) + '/profiles', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
    if (!response.ok) return show('refused: ' + (await problemText(response)));
    const self = response.headers.get('location');
    let status = await response.json();
    while (status.state !== 'done' && status.state !== 'failed') {
      show(progress(status));
      await pause(PROFILE_POLL_MS);
      response = await fetch(self);
      if (!response.ok) return show('failed: ' + (await problemText(response)));
      status = await response.json();
    }
    show(progress(status));
    if (status.state === 'done') {
      const download = document.createElement('a');
      download.href = status.file;
      download.download = status.fileName;
      document.body.append(download);
      download.click();
      download.remove();
    }
  } catch (error) {
    show('failed: ' + error.message);
  } finally {
    button.disabled = false;
  }
}
// Rows are built from snapshot JSON and the CSP allows no inline handlers: the table listens for its rows.
$('members').addEventListener('change', (e) => {
  const kind = e.target.closest('select.kind');
  if (kind) kind.parentElement.querySelector('.seconds').hidden = kind.value === 'heap-snapshot';
});
$('members').addEventListener('click', (e) => {
  const button = e.target.closest('button.profile');
  if (button) void profile(button.closest('tr'));
});
$('queues').addEventListener('click', (e) => {
  const button = e.target.closest('button.shards');
  if (!button) return;
  const open = button.getAttribute('aria-expanded') !== 'true';
  button.setAttribute('aria-expanded', String(open));
  queueRows.get(button.dataset.queue)?.shardRows.forEach((tr) => { tr.hidden = !open; });
});
render(JSON.parse($('initial').textContent));
const events = new EventSource('/dashboard/events');
events.addEventListener('snapshot', (e) => { render(JSON.parse(e.data)); $('live').textContent = 'live'; });
events.onerror = () => { $('live').textContent = 'reconnecting…'; };
`;

/** The Content Security Policy source that lets the page's one inline script run, and no other. */
export const DASHBOARD_SCRIPT_HASH = `'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'`;

const STYLE = `
body { font: 15px/1.4 system-ui, sans-serif; margin: 0 auto; padding: 1rem; max-width: 80rem; color: #1d2330; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline; }
h1 { font-size: 1.4rem; margin: 0; } h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
.scroll { overflow-x: auto; } table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #dde1e8; white-space: nowrap; }
th { font-weight: 600; background: #f3f5f8; } .meta { color: #5b6475; }
.spark { font-family: ui-monospace, monospace; letter-spacing: 1px; color: #2f6fdb; }
form { display: flex; gap: .5rem; margin: 1rem 0 0; } input[type=search] { flex: 1; max-width: 28rem; padding: .35rem .5rem; font: inherit; }
.profile-cell select, .profile-cell input, .profile-cell button { font: inherit; } .profile-cell input { width: 4em; } .profile-state { color: #5b6475; }
button.shards { font: inherit; font-size: .85em; margin-left: .4rem; } button.shards::before { content: '▸ ' / ''; }
button.shards[aria-expanded=true]::before { content: '▾ ' / ''; } tr.shard td { color: #5b6475; } tr.shard td:first-child { padding-left: 1.6rem; }
.notice { background: #fff4d6; border: 1px solid #e8c66a; padding: .5rem .75rem; margin: 1rem 0 0; }
`;

/** The dashboard's overview page, starting from `snapshot`, with an optional notice on top. */
export function renderDashboard(snapshot: unknown, notice?: string): string {
  // JSON inside <script> must not be able to close the element.
  const json = JSON.stringify(snapshot).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Flotilla dashboard</title><style>${STYLE}</style></head>
<body>
<header><h1>Fleet</h1><span class="meta"><span id="member-count"></span> processes · updated <span id="updated"></span> · <span id="live">connecting…</span></span>
<a href="/dashboard/jobs">Jobs (inspect, retry, remove, promote, pause) →</a></header>
${notice ? `<p class="notice" role="alert">${escapeHtml(notice)}</p>` : ''}
<form action="/dashboard/find" method="get" role="search"><input type="search" name="id" placeholder="Find a job by id, e.g. default.AbC…" aria-label="job id" required><button>Find</button></form>
<h2>Processes</h2>
<div class="scroll"><table><thead><tr><th>group</th><th>id</th><th>host</th><th>pid</th><th>version</th><th>queues</th><th>concurrency</th><th>event-loop use</th><th>delay max</th><th>up</th><th>lease left</th><th>profile</th></tr></thead><tbody id="members"></tbody></table></div>
<h2>Queues</h2>
<div class="scroll"><table><thead><tr><th>queue</th><th>waiting</th><th>active</th><th>delayed</th><th>failed</th><th>completed</th><th>oldest waiting</th><th>workers</th><th>done (<span class="window"></span>)</th><th>failed (<span class="window"></span>)</th><th>per minute</th></tr></thead><tbody id="queues"></tbody></table></div>
<h2>Caches (whole fleet, last <span class="window"></span>)</h2>
<div class="scroll"><table><thead><tr><th>cache</th><th>hits</th><th>misses</th><th>hit ratio</th><th>invalidations</th><th>memory hits (this process)</th><th>in memory (this process)</th></tr></thead><tbody id="caches"></tbody></table></div>
<script type="application/json" id="initial">${json}</script>
<script>${SCRIPT}</script>
</body></html>`;
}
