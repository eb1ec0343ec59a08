import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const script = (name: string) => fileURLToPath(new URL(`../baseline/${name}`, import.meta.url));

export interface Baseline {
  acceptUrl: string;
  /** Its processes by role (`chain stage 0`…`chain stage 3`, `accept server`), for CPU readings. */
  processes: Record<string, number>;
  stop(): Promise<void>;
}

function start(name: string, args: string[], env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = fork(script(name), args, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

/**
 * The same-run baseline (issue 6): a minimal accept endpoint and a bare 4-stage BullMQ chain with
 * one conditional UPDATE per stage, each stage its own process, on the same Postgres and Redis.
 */
export async function startBaseline(databaseUrl: string, redisUrl: string, prefix: string, port: number): Promise<Baseline> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(
    `CREATE TABLE IF NOT EXISTS bl_requests (id uuid PRIMARY KEY, status int NOT NULL, received_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)`,
  );
  await client.end();
  const env = { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, PREFIX: prefix };
  const children = await Promise.all([
    ...[0, 1, 2, 3].map((stage) => start('chain-stage.mjs', [String(stage)], env)),
    start('accept-server.mjs', [String(port)], env),
  ]);
  return {
    acceptUrl: `http://127.0.0.1:${port}`,
    processes: Object.fromEntries(children.map((child, i) => [i < 4 ? `chain stage ${i}` : 'accept server', child.pid!])),
    stop: async () => {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
