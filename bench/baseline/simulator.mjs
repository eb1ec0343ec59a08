// The bare backup interface: every request message gets a Succeeded reply on the status queue,
// then is deleted.
import { azureQueue, ready } from './shared.mjs';
import { pollLoops } from './poll-loop.mjs';

const requests = azureQueue(process.env.REQUEST_QUEUE);
const statuses = azureQueue(process.env.STATUS_QUEUE);
const stop = pollLoops(requests, 30, async ({ messageText }) => {
  const request = JSON.parse(messageText);
  const now = new Date().toISOString();
  const reply = {
    apiVersion: request.apiVersion,
    backupRequestId: request.backupRequestId,
    storagePathName: request.storagePathName,
    resultTypeCode: 'Succeeded',
    backupByteCount: 1048576,
    copyStartTimestamp: now,
    copyEndTimestamp: now,
  };
  await statuses.sendMessage(JSON.stringify(reply));
});
ready(stop);
