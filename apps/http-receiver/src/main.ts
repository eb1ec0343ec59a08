import { announceInstance } from '@linebacker/queues';
import { runApp } from '@linebacker/runtime';
import { startReceiver } from './start-receiver.js';

await runApp('http-receiver', async (context) => {
  await startReceiver(context);
}, { announce: announceInstance });
