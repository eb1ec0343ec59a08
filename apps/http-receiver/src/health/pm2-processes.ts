import pm2 from 'pm2';
import type { Pm2App, Pm2Section } from './health-schemas.js';


/**
 * PM2's view of every app (SPEC §5.4), through PM2's programmatic API on the daemon this process
 * runs under: the local PM2 of this host (SPEC §9: `/healthz` shows the PM2 of the host that
 * answered; other hosts are in the instance registry). Instances are counted by name: `pm2 scale`
 * does not update `pm2_env.instances`.
 *
 * A read is reused for `maxAgeMs` (and concurrent reads share one call), so dashboards polling
 * /healthz cost this host's PM2 daemon at most one list per receiver process and period, and
 * nothing while nobody polls.
 */
export function createPm2Reader(underPm2: boolean, maxAgeMs = 0): { read(): Promise<Pm2Section>; close(): void } {
  if (!underPm2) {
    return { read: () => Promise.resolve({ available: false, reason: 'not running under PM2', apps: [] }), close: () => {} };
  }
  let connected: Promise<void> | undefined;
  const connect = () =>
    (connected ??= new Promise<void>((resolve, reject) => pm2.connect((err) => (err ? reject(err) : resolve())))).catch(
      (err: unknown) => {
        connected = undefined;
        throw err;
      },
    );
  const list = () =>
    new Promise<pm2.ProcessDescription[]>((resolve, reject) => pm2.list((err, processes) => (err ? reject(err) : resolve(processes))));

  let latest: { at: number; section: Promise<Pm2Section> } | undefined;
  const read = async (): Promise<Pm2Section> => {
    try {
      await connect();
      const now = Date.now();
      const apps = new Map<string, Pm2App>();
      for (const p of await list()) {
        const name = p.name ?? `pm_id ${p.pm_id ?? '?'}`;
        const app = apps.get(name) ?? { name, instances: 0, online: 0, restarts: 0, uptimeSeconds: 0, cpuPercent: 0, memoryBytes: 0 };
        const online = p.pm2_env?.status === 'online';
        app.instances += 1;
        app.online += online ? 1 : 0;
        app.restarts += p.pm2_env?.restart_time ?? 0;
        if (online && p.pm2_env?.pm_uptime) app.uptimeSeconds = Math.max(app.uptimeSeconds, Math.round((now - p.pm2_env.pm_uptime) / 1000));
        app.cpuPercent += p.monit?.cpu ?? 0;
        app.memoryBytes += p.monit?.memory ?? 0;
        apps.set(name, app);
      }
      return { available: true, apps: [...apps.values()].sort((a, b) => a.name.localeCompare(b.name)) };
    } catch (err) {
      return { available: false, reason: `PM2 did not answer: ${(err as Error).message}`, apps: [] };
    }
  };

  return {
    read: () => {
      if (!latest || Date.now() - latest.at >= maxAgeMs) latest = { at: Date.now(), section: read() };
      return latest.section;
    },
    close: () => {
      if (connected) pm2.disconnect();
    },
  };
}
