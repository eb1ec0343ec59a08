import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createTestApiClient, type TestApiClient } from '../support/api-client.js';
import type { Azurite } from '../support/azurite.js';
import { startReceiverWithAzurite, type TestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, type TestDatabase } from '../support/test-database.js';

/*
 * The Grafana dashboard in the repository (ops/grafana/linebacker.json) only names series that
 * /metrics exports: the names come from a real /metrics answer of the receiver, not from a list
 * kept here, so renaming a metric (or mistyping one in the dashboard) fails this test.
 */

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string }[] };
}

const dashboard = JSON.parse(readFileSync(new URL('../../ops/grafana/linebacker.json', import.meta.url), 'utf8')) as Dashboard;
const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]).filter((panel) => panel.type !== 'row');
const expressions = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr ?? '' })));

/** PromQL words that are not series names. */
const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan']);

/**
 * The series names a PromQL expression selects: what is left once strings, label matchers,
 * ranges, grouping clauses, numbers, function and aggregation calls are taken out.
 */
function seriesNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = [...bare.matchAll(/(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)]
    .filter(([, , call]) => call === undefined)
    .map(([, name]) => name!)
    .filter((name) => !PROMQL_WORDS.has(name.toLowerCase()));
  return [...new Set(names)];
}

/** Every series name a Prometheus text exposition offers, from its `# TYPE` lines. */
function exportedSeries(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(`${name}${suffix}`);
    else names.add(name!);
  }
  return names;
}

let db: TestDatabase;
let azurite: Azurite;
let receiver: TestReceiver;
let ops: TestApiClient;

beforeAll(async () => {
  db = await createTestDatabase();
  ({ receiver, azurite } = await startReceiverWithAzurite(db.databaseUrl, testQueuePrefix()));
  ops = await createTestApiClient(db.databaseUrl, ['ops:read']);
});

afterAll(async () => {
  await receiver?.close();
  await azurite?.stop();
  await db?.drop();
});

describe('the Grafana dashboard (ops/grafana/linebacker.json)', () => {
  it('reads the metric names of PromQL expressions', () => {
    expect(seriesNames('max by (step, outcome) (rate(linebacker_step_jobs_total{outcome=~"done|no-op"}[$__rate_interval]))')).toEqual([
      'linebacker_step_jobs_total',
    ]);
    expect(
      seriesNames('histogram_quantile(0.99, sum by (le) (rate(a_bucket{route="/x"}[5m]))) / sum(rate(b_count[5m])) == 1 and on (x) c'),
    ).toEqual(['a_bucket', 'b_count', 'c']);
  });

  it('asks for a Prometheus data source and uses it in every panel', () => {
    const variable = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(variable).toMatchObject({ name: 'datasource', query: 'prometheus' });
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const target of panel.targets ?? []) expect(target.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('names only series that /metrics exports, and shows what operators need', async () => {
    const response = await call(receiver.url, 'GET', '/metrics', { token: ops.apiKey });
    expect(response.status).toBe(200);
    const exported = exportedSeries(response.body as string);
    expect(exported.size).toBeGreaterThan(30);

    const used = new Map<string, string[]>();
    for (const { panel, expr } of expressions) {
      expect(expr, panel).not.toBe('');
      const names = seriesNames(expr);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) used.set(name, [...(used.get(name) ?? []), panel]);
    }
    const unknown = [...used].filter(([name]) => !exported.has(name)).map(([name, where]) => `${name} (in ${where.join(', ')})`);
    expect(unknown, 'series the dashboard names that /metrics does not export').toEqual([]);

    // throughput by step and outcome, queue depth and oldest waiting age, stage latency, instances
    // per host and app, restarts, dependency up and latency (issue 14)
    for (const needed of [
      'linebacker_step_jobs_total',
      'linebacker_queue_jobs',
      'linebacker_queue_oldest_waiting_age_seconds',
      'linebacker_step_processing_seconds_total',
      'linebacker_http_request_duration_seconds_bucket',
      'linebacker_instances',
      'linebacker_pm2_restarts',
      'linebacker_dependency_up',
      'linebacker_dependency_latency_seconds',
    ]) {
      expect(used.has(needed), needed).toBe(true);
    }
  });
});
