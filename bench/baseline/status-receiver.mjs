// The bare external-queue-receiver: every reply on the status queue becomes a `bl-status` job
// (keyed by request), and the message is deleted only once the job is added.
import { azureQueue, bullQueue, jobOptions, ready } from './shared.mjs';
import { pollLoops } from './poll-loop.mjs';

const statuses = azureQueue(process.env.STATUS_QUEUE);
const next = bullQueue('bl-status');
const stop = pollLoops(statuses, 60, async ({ messageText }) => {
  const reply = JSON.parse(messageText);
  await next.add('status', reply, { jobId: reply.backupRequestId, ...jobOptions });
});
ready(stop);
