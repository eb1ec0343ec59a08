// `npm run bench [-- --duration 30 --rates 100,150,200 --azurite embedded,in-memory
//   --parts rates,stability,closed,overload --runs 5 --short]`: turns flags into the LINEBACKER_BENCH_*
// variables of bench/pipeline-bench.test.ts and runs it.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    duration: { type: 'string' },
    rates: { type: 'string' },
    azurite: { type: 'string' },
    parts: { type: 'string' },
    runs: { type: 'string' },
    short: { type: 'boolean' },
  },
});
const env = { ...process.env, LINEBACKER_BENCH: values.short ? 'short' : 'full' };
if (values.duration) env.LINEBACKER_BENCH_DURATION = values.duration;
if (values.rates) env.LINEBACKER_BENCH_RATES = values.rates;
if (values.azurite) env.LINEBACKER_BENCH_AZURITE = values.azurite;
if (values.parts) env.LINEBACKER_BENCH_PARTS = values.parts;
if (values.runs) env.LINEBACKER_BENCH_RUNS = values.runs;
const result = spawnSync('npx', ['vitest', 'run', '--project', 'bench'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
