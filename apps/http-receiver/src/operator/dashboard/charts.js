/* global document, fetch, location, setTimeout, console, ResizeObserver */
// The dashboard's charts of the last hour, from GET /api/v1/ops/statistics (computed by the
// receiver at most every LINEBACKER_STATISTICS_REFRESH_MS and shared by every dashboard):
// completions per minute by outcome, queue depths, and the p50/p95 duration of each stage.
// Drawn with uPlot, served by the receiver from its npm package (operator/vendor-files.ts).
import uPlot from '/dashboard/vendor/uPlot.esm.js';

const STATISTICS_PATH = '/api/v1/ops/statistics';
const REFRESH_MS = 15_000;
const HEIGHT = 220;

export const COLORS = {
  succeeded: '#2e9e5b',
  failed: '#d64545',
  notAllowed: '#8a94a6',
  received: '#2456c7',
};
const QUEUE_COLORS = ['#2456c7', '#e08a1e', '#7b4bc4', '#1d9aa8', '#b04a8c', '#6b7f2a'];
const STAGES = [
  { key: 'check', label: 'check (Received → Allowed)', color: '#2456c7' },
  { key: 'send', label: 'send (Allowed → Sent)', color: '#e08a1e' },
  { key: 'reply', label: 'reply (Sent → outcome)', color: '#7b4bc4' },
  { key: 'total', label: 'whole request', color: '#1d2330' },
];

const $ = (selector) => document.querySelector(selector);
const seconds = (iso) => Date.parse(iso) / 1000;

function formatMs(ms) {
  if (ms == null) return '—';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
const formatCount = (n) => (n == null ? '—' : Math.round(n).toLocaleString('en'));

/** A chart in `#id`, sized to its container and resized with it; replaced by `update`. */
class Chart {
  constructor(id, makeOptions) {
    this.container = $(`#${id} .plot`);
    this.figure = $(`#${id}`);
    this.makeOptions = makeOptions;
    this.plot = undefined;
    this.key = '';
    new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: HEIGHT })).observe(this.container);
  }

  width() {
    return Math.max(280, this.container.clientWidth);
  }

  /** New data; the chart is rebuilt when its series change (e.g. a queue appears), else only its data. */
  update(data, seriesKey, options) {
    if (!this.plot || seriesKey !== this.key) {
      this.plot?.destroy();
      this.container.replaceChildren();
      this.plot = new uPlot({ ...this.makeOptions(options), width: this.width(), height: HEIGHT }, data, this.container);
      this.key = seriesKey;
    } else {
      this.plot.setData(data);
    }
    // how many values are drawn (not empty), for people reading the caption and for tests
    this.figure.dataset.points = String(data.slice(1).reduce((sum, series) => sum + series.filter((v) => v != null && v > 0).length, 0));
  }
}

/** The hour every chart shows (seconds): from the first minute's start to the end of the current one. */
let hour = [0, 1];
const xScale = { time: true, range: () => hour };

/**
 * Points only where a value stands alone (no neighbour to draw a line to), e.g. the only minute
 * with completions: a line series otherwise shows nothing for it.
 */
const isolatedPoints = (color) => ({
  show: true,
  size: 7,
  fill: color,
  stroke: color,
  filter: (u, seriesIndex) => {
    const values = u.data[seriesIndex];
    const alone = [];
    for (let i = 0; i < values.length; i += 1) {
      if (values[i] != null && values[i - 1] == null && values[i + 1] == null) alone.push(i);
    }
    return alone;
  },
});

const timeAxis = { stroke: '#5f6b7a', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#dde1e7' } };
const valueAxis = (format) => ({ ...timeAxis, size: 64, values: (_u, splits) => splits.map(format) });

// ---- completions per minute by outcome (stacked bars) and requests accepted (line) ----

const OUTCOMES = [
  { key: 'succeeded', label: 'Succeeded' },
  { key: 'failed', label: 'Failed' },
  { key: 'notAllowed', label: 'NotAllowed' },
];

/** Each outcome's own counts per minute, for the legend (the bars hold the stacked sums). */
let outcomeCounts = {};

const outcomes = new Chart('chart-outcomes', () => ({
  scales: { x: xScale, y: { range: (_u, _min, max) => [0, Math.max(4, max * 1.1)] } },
  axes: [timeAxis, valueAxis(formatCount)],
  series: [
    { label: 'minute' },
    // stacked: each bar is drawn up to the sum of itself and the outcomes below it, topmost first,
    // so later bars cover the lower part; the legend shows each outcome's own count
    ...[...OUTCOMES].reverse().map(({ key, label }) => ({
      label,
      fill: COLORS[key],
      stroke: COLORS[key],
      width: 0,
      paths: uPlot.paths.bars({ size: [0.7, 40] }),
      points: { show: false },
      value: (_u, _v, _s, index) => formatCount(index == null ? null : outcomeCounts[key]?.[index]),
    })),
    { label: 'accepted', stroke: COLORS.received, width: 2, dash: [6, 4], points: isolatedPoints(COLORS.received), value: (_u, v) => formatCount(v) },
  ],
}));

function drawOutcomes(minutes) {
  const x = minutes.map((m) => seconds(m.minute));
  outcomeCounts = Object.fromEntries(OUTCOMES.map(({ key }) => [key, minutes.map((m) => m[key])]));
  const stacked = OUTCOMES.map((_, top) => minutes.map((m) => OUTCOMES.slice(0, top + 1).reduce((sum, { key }) => sum + m[key], 0)));
  outcomes.update([x, ...stacked.reverse(), minutes.map((m) => m.received)], 'outcomes', {});
  const total = minutes.reduce((sum, m) => sum + m.succeeded + m.failed + m.notAllowed, 0);
  $('#chart-outcomes figcaption .note').textContent = `${formatCount(total)} in the last hour`;
}

// ---- queue depths over time ----

const queues = new Chart('chart-queues', ({ names }) => ({
  scales: { x: xScale, y: { range: (_u, _min, max) => [0, Math.max(4, max * 1.1)] } },
  axes: [timeAxis, valueAxis(formatCount)],
  series: [
    { label: 'time' },
    ...names.map((name, i) => ({
      label: name,
      stroke: QUEUE_COLORS[i % QUEUE_COLORS.length],
      width: 2,
      dash: name.startsWith('interface ') ? [4, 3] : undefined,
      points: isolatedPoints(QUEUE_COLORS[i % QUEUE_COLORS.length]),
      value: (_u, v) => formatCount(v),
    })),
  ],
}));

function drawQueues(queueDepth) {
  const samples = queueDepth.samples;
  const bullmq = [...new Set(samples.flatMap((s) => Object.keys(s.queues)))];
  const external = [...new Set(samples.flatMap((s) => Object.keys(s.interfaceQueues)))].filter((name) => !name.endsWith('-poison'));
  const names = [...bullmq.map((name) => `${name} waiting`), ...external.map((name) => `interface ${name}`)];
  const data = [
    samples.map((s) => seconds(s.at)),
    ...bullmq.map((name) => samples.map((s) => s.queues[name]?.waiting ?? null)),
    ...external.map((name) => samples.map((s) => s.interfaceQueues[name] ?? null)),
  ];
  queues.update(data, names.join('|'), { names });
  $('#chart-queues figcaption .note').textContent = samples.length
    ? `a sample every ${queueDepth.sampleSeconds} s`
    : 'no samples yet (the health leader keeps one every few seconds)';
}

// ---- stage latencies p50 / p95 ----

const latency = new Chart('chart-latency', () => ({
  scales: { x: xScale, y: { distr: 3 } },
  axes: [timeAxis, valueAxis(formatMs)],
  series: [
    { label: 'minute' },
    ...STAGES.flatMap(({ label, color }) => [
      { label: `${label} p50`, stroke: color, width: 2, points: isolatedPoints(color), value: (_u, v) => formatMs(v) },
      { label: `${label} p95`, stroke: color, width: 1.5, dash: [5, 4], points: isolatedPoints(color), value: (_u, v) => formatMs(v) },
    ]),
  ],
}));

function drawLatency(minutes) {
  const x = minutes.map((m) => seconds(m.minute));
  // a log scale has no zero: a duration below 0.1 ms is drawn at 0.1 ms
  const at = (m, key, p) => (m.latency[key] ? Math.max(0.1, m.latency[key][p]) : null);
  const data = [x, ...STAGES.flatMap(({ key }) => [minutes.map((m) => at(m, key, 'p50Ms')), minutes.map((m) => at(m, key, 'p95Ms'))])];
  latency.update(data, 'latency', {});
}

// ---- refresh ----

async function refreshCharts() {
  const response = await fetch(STATISTICS_PATH, { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
  if (response.status === 401) {
    location.assign(`/admin/session?next=${encodeURIComponent('/dashboard')}`);
    return;
  }
  const note = $('#charts-note');
  if (response.status !== 200) {
    note.textContent = `Charts unavailable (HTTP ${response.status}).`;
    return;
  }
  const statistics = await response.json();
  const minutes = statistics.minutes;
  if (minutes.length > 0) hour = [seconds(minutes[0].minute) - 30, seconds(minutes[minutes.length - 1].minute) + 60];
  drawOutcomes(statistics.minutes);
  drawQueues(statistics.queueDepth);
  drawLatency(statistics.minutes);
  note.textContent = `Per minute, from the status history; computed ${new Date(statistics.generatedAt).toLocaleTimeString('en-GB')}.`;
}

async function loop() {
  try {
    await refreshCharts();
  } catch (err) {
    console.error(err);
    $('#charts-note').textContent = 'Charts unavailable: the receiver did not answer; retrying…';
  }
  setTimeout(() => void loop(), REFRESH_MS);
}

void loop();
