// PM2 ecosystem of linebacker: one entry per app (SPEC §7). `npm start` uses it; operators may
// too (`pm2 start ecosystem.config.js` after `npm run build`, `pm2 scale check-allowed 3`).
//
// The layout comes from the same validated configuration the apps use (libs/config, built by
// `npm start`), so there is one place for every default: the http-receiver runs in cluster mode on
// one shared port; the workers run in fork mode and never listen on a port, so `pm2 scale` just adds
// consumers; Azurite and the interface simulator are added when no AZURE_STORAGE_CONNECTION_STRING
// is set. Apps get the environment of the shell that starts them. LINEBACKER_HOST_APPS limits this
// host to some of the apps (README "Running on several hosts").
'use strict';

const path = require('node:path');
const { loadConfig } = require('./libs/config/dist/index.js');

const config = loadConfig();

// LINEBACKER_PROFILE_DIR: a V8 CPU profile per process, written when it exits (`npm stop`)
const profiling = config.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(config.profileDir)}`] : [];

const common = {
  // linebacker's own apps keep a small live heap (20-50 MB), but under load V8 lets promoted
  // garbage pile up in old space to ~150 MB before a full collection, and grows each semi-space to
  // 16 MB. These caps keep every app near 100-135 MB RSS under load (issue 6). Azurite gets only
  // the semi-space cap.
  node_args: [`--max-old-space-size=${config.heap.maxOldSpaceMb}`, `--max-semi-space-size=${config.heap.maxSemiSpaceMb}`, ...profiling],
  cwd: __dirname,
  wait_ready: true,
  listen_timeout: 90000,
  // above the apps' own graceful-shutdown deadline, so they always finish it themselves
  kill_timeout: config.shutdownTimeoutMs + 2000,
  max_memory_restart: '400M',
  merge_logs: true,
  autorestart: true,
  exp_backoff_restart_delay: 200,
  // no @pm2/io injected into the apps: it wraps every HTTP request for metrics nobody reads here
  // (/healthz and /metrics are ours; CPU and memory come from the PM2 daemon)
  pmx: false,
};

const worker = (name) => ({ ...common, name, script: `apps/${name}/dist/main.js`, exec_mode: 'fork', instances: 1 });

const apps = [];

// First: PM2 starts the apps one after the other, each waiting for the previous one's `ready`, and
// the apps that use the interface queues wait for them to answer.
const azurite = config.interface.embeddedAzurite;
if (azurite) {
  apps.push({
    ...common,
    name: 'azurite',
    script: require.resolve('azurite/dist/src/queue/main.js'),
    args: [
      '--queueHost', '127.0.0.1',
      '--queuePort', String(azurite.port),
      // a folder (on tmpfs by default, see libs/config), not --inMemoryPersistence: in-memory
      // extents stall Azurite's event loop for a minute during garbage collection once ~10k
      // messages have passed (ENVIRONMENT.md)
      '--location', path.resolve(__dirname, `${azurite.location}-${azurite.port}`),
      '--disableTelemetry',
      '--skipApiVersionCheck',
      // no access log: a line per queue operation through PM2 cost Azurite and the PM2 daemon
      // ~15% more CPU per operation (measured in issue 6)
      '--silent',
    ],
    // the semi-space cap only: a full old space would be lost messages
    node_args: [`--max-semi-space-size=${config.heap.maxSemiSpaceMb}`, ...profiling],
    exec_mode: 'fork',
    wait_ready: false,
    kill_timeout: 3000,
  });
}

apps.push(
  {
    ...common,
    name: 'http-receiver',
    script: 'apps/http-receiver/dist/main.js',
    exec_mode: 'cluster',
    instances: config.http.instances,
  },
  worker('check-allowed'),
  worker('send-to-interface'),
  worker('external-queue-receiver'),
  worker('receive-status'),
  // webhooks (SPEC §8): fans status events out to endpoints and delivers them; scalable like the workers
  worker('notifier'),
);

if (config.simulator.enabled) apps.push(worker('interface-simulator'));

// /healthz is degraded while an app of the pipeline has no live instance on any host (the
// instance registry). Every linebacker app counts, wherever it runs, whichever of them this host
// starts; Azurite is not one (it does not announce itself: its health is the interface queue's).
const pipelineApps = apps.filter((app) => app.name !== 'azurite').map((app) => app.name);
for (const app of apps) if (app.name === 'http-receiver') app.env = { LINEBACKER_PIPELINE_APPS: pipelineApps.join(',') };

// LINEBACKER_HOST_APPS: the apps this host runs (default: all of them)
const hostApps = config.hostApps ?? apps.map((app) => app.name);
const unknown = hostApps.filter((name) => !apps.some((app) => app.name === name));
if (unknown.length > 0) {
  throw new Error(`LINEBACKER_HOST_APPS: no app named ${unknown.join(', ')} here (the apps: ${apps.map((app) => app.name).join(', ')})`);
}

module.exports = { apps: apps.filter((app) => hostApps.includes(app.name)) };
