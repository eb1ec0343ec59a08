import { createPool } from '@linebacker/db';
import { QUEUES, createProducerConnection, createRequestQueue } from '@linebacker/queues';
import { runApp } from '@linebacker/runtime';
import { closeServer, listen } from './http-server.js';
import { createReceiverApp } from './receiver-app.js';

await runApp('http-receiver', async ({ config, logger, onShutdown, isShuttingDown }) => {
  const pool = createPool({
    url: config.database.url,
    max: config.database.poolSize,
    connectTimeoutMs: config.database.connectTimeoutMs,
    applicationName: 'linebacker http-receiver',
    onError: (err) => logger.warn({ err }, 'idle Postgres client failed'),
  });
  onShutdown('postgres pool', () => pool.end());

  const redis = createProducerConnection(config.redis.url, 'linebacker:http-receiver');
  redis.on('error', (err) => logger.warn({ err }, 'Redis connection error'));
  onShutdown('redis', async () => void (await redis.quit()));

  const createdQueue = createRequestQueue(QUEUES.created, redis, config.redis.queuePrefix, (err) =>
    logger.warn({ err }, 'created queue error'),
  );
  onShutdown('created queue', () => createdQueue.close());

  const app = createReceiverApp({ pool, redis, createdQueue, logger, http: config.http, isShuttingDown });
  const server = await listen(app, config.http.host, config.http.port);
  onShutdown('http server', () => closeServer(server));
  logger.info({ host: config.http.host, port: config.http.port }, 'listening');
});
