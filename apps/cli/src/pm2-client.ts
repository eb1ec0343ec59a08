import pm2 from 'pm2';

/** PM2's callback API as promises. PM2_HOME (read by pm2 itself) chooses which daemon. */
const call = <T>(fn: (cb: (err: Error | null, value: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));

export const pm2Client = {
  connect: () => call<void>((cb) => pm2.connect((err) => cb(err, undefined))),
  disconnect: () => pm2.disconnect(),
  start: (ecosystemFile: string) => call<unknown>((cb) => pm2.start(ecosystemFile, cb)),
  list: () => call<pm2.ProcessDescription[]>((cb) => pm2.list(cb)),
  delete: (name: string) => call<unknown>((cb) => pm2.delete(name, cb)),
  killDaemon: () => call<unknown>((cb) => pm2.killDaemon(cb)),
};
