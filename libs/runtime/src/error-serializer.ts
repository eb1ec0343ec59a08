import { pino } from 'pino';

/** Commands whose arguments are credentials (AUTH password, HELLO … AUTH user password). */
const CREDENTIAL_COMMANDS = new Set(['auth', 'hello']);

/** Replaces, anywhere in a serialized error, the arguments of a credential command by `***`. */
function withoutCredentials(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => withoutCredentials(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) copy[key] = withoutCredentials(child, depth + 1);
  const command = copy.command as { name?: unknown; args?: unknown } | undefined;
  if (command && typeof command === 'object' && typeof command.name === 'string' && CREDENTIAL_COMMANDS.has(command.name.toLowerCase())) {
    copy.command = { ...command, args: ['***'] };
  }
  return copy;
}

/**
 * pino's error serializer, minus credentials: ioredis puts the command of a failed reply on its
 * error, and for a refused AUTH that is the username and password it sent (a wrong password may be
 * the real one of another system, or the one just rotated out). Those errors reach the logs through
 * every connection's and BullMQ's `error` events and rejected commands.
 */
export function serializeError(err: unknown): unknown {
  return withoutCredentials(pino.stdSerializers.err(err as Error));
}
