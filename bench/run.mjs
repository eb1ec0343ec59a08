// `npm run bench [-- --duration 20 --connections 10,50,100 --rates 200,400,800 --scale check-allowed=2]`:
// turns flags into the LINEBACKER_BENCH_* variables of bench/pipeline-bench.test.ts and runs it.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    duration: { type: 'string' },
    connections: { type: 'string' },
    rates: { type: 'string' },
    scale: { type: 'string', multiple: true },
    short: { type: 'boolean' },
  },
});
const env = { ...process.env, LINEBACKER_BENCH: values.short ? 'short' : 'full' };
if (values.duration) env.LINEBACKER_BENCH_DURATION = values.duration;
if (values.connections) env.LINEBACKER_BENCH_CONNECTIONS = values.connections;
if (values.rates) env.LINEBACKER_BENCH_RATES = values.rates;
if (values.scale) env.LINEBACKER_BENCH_SCALE = values.scale.join(',');
const result = spawnSync('npx', ['vitest', 'run', '--project', 'bench'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
