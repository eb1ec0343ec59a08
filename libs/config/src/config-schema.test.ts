import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envSchema } from './config-schema.js';

/** Set by PM2 in the processes it runs, not by operators: not in the README's table. */
const SET_BY_PM2 = ['pm_id', 'exec_mode'];
/** In the README's table but read by PM2 and the scripts, not by the apps. */
const NOT_APP_SETTINGS = ['PM2_HOME'];

/** The README's "Configuration" table: variable → the text of its default column. */
function readmeSettings(): Map<string, string> {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Configuration'), readme.indexOf('\n## ', readme.indexOf('\n## Configuration') + 1));
  const rows = [...section.matchAll(/^\| `([A-Za-z0-9_]+)` \| ([^|]*) \|/gm)];
  return new Map(rows.map(([, name, defaultText]) => [name!, defaultText!.trim()]));
}

describe("the README's configuration table", () => {
  const documented = readmeSettings();
  const defaults = envSchema.parse({}) as Record<string, unknown>;

  it('lists every setting of the schema, and only those', () => {
    const settings = Object.keys(envSchema.shape).filter((name) => !SET_BY_PM2.includes(name));
    expect([...documented.keys()].filter((name) => !NOT_APP_SETTINGS.includes(name)).sort()).toEqual(settings.sort());
  });

  it("gives the schema's default of every setting that has one", () => {
    const withDefaults = Object.entries(defaults).filter(([name, value]) => value !== undefined && !SET_BY_PM2.includes(name));
    expect(withDefaults.length).toBeGreaterThan(30);
    for (const [name, value] of withDefaults) expect(documented.get(name), name).toBe(`\`${String(value)}\``);
  });
});
