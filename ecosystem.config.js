// PM2 ecosystem of linebacker: one entry per app (SPEC §7). `npm start` starts it; operators may
// also use it directly (`pm2 start ecosystem.config.js`, `pm2 scale <app> N`).
//
// Apps get the environment of the shell that starts them; they read and validate it themselves
// (libs/config). Only the PM2 process layout is decided here, so this file reads just the one
// variable that shapes it.
'use strict';

// Below PM2's kill_timeout so that an app always finishes its own graceful shutdown first.
const SHUTDOWN_TIMEOUT_MS = Number(process.env.LINEBACKER_SHUTDOWN_TIMEOUT_MS || 8000);

const common = {
  cwd: __dirname,
  wait_ready: true,
  listen_timeout: 30000,
  kill_timeout: SHUTDOWN_TIMEOUT_MS + 2000,
  max_memory_restart: '400M',
  merge_logs: true,
  autorestart: true,
  exp_backoff_restart_delay: 200,
};

module.exports = {
  apps: [
    {
      ...common,
      name: 'http-receiver',
      script: 'apps/http-receiver/dist/main.js',
      exec_mode: 'cluster',
      instances: Number(process.env.LINEBACKER_HTTP_INSTANCES || 1),
    },
  ],
};
