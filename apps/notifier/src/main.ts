import { announceInstance } from '@linebacker/queues';
import { runApp } from '@linebacker/runtime';
import { startNotifier } from './start-notifier.js';

await runApp('notifier', startNotifier, { announce: announceInstance });
