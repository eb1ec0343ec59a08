import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from apps/cli/dist). */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const ECOSYSTEM_FILE = `${REPO_ROOT}ecosystem.config.js`;

/** The PM2 app names of the pipeline, as ecosystem.config.js defines them. */
export function pipelineAppNames(): string[] {
  const ecosystem = createRequire(import.meta.url)(ECOSYSTEM_FILE) as { apps: { name: string }[] };
  return ecosystem.apps.map((app) => app.name);
}
