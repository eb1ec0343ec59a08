import { ensureDatabase } from './ensure-database.js';
import { migrate } from './migrate.js';

/** Creates the database if missing and applies pending migrations; safe to run concurrently. */
export async function prepareDatabase(databaseUrl: string, log?: (message: string) => void): Promise<string[]> {
  await ensureDatabase(databaseUrl);
  return migrate(databaseUrl, log);
}
