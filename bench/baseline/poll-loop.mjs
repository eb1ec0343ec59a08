// Two concurrent receive loops on an Azure queue: take up to 32 messages, handle them all at once
// (`handle`, then delete the message), go again at once; sleep 100 ms only after an empty receive,
// 1 s after an error. Returns a function that stops the loops once their current batch is done.
import { setTimeout as sleep } from 'node:timers/promises';

export function pollLoops(queue, visibilityTimeout, handle) {
  let running = true;
  const loop = async () => {
    while (running) {
      try {
        const { receivedMessageItems: messages } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout });
        if (messages.length === 0) await sleep(100);
        await Promise.all(
          messages.map(async (message) => {
            await handle(message);
            await queue.deleteMessage(message.messageId, message.popReceipt);
          }),
        );
      } catch (err) {
        console.error(`baseline ${queue.name}: ${err.message}`);
        await sleep(1000);
      }
    }
  };
  const loops = [loop(), loop()];
  return () => {
    running = false;
    return Promise.all(loops);
  };
}
