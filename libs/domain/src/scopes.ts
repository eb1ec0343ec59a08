/** The scopes a client may hold (SPEC §5.2). */
export const SCOPES = ['requests:write', 'requests:read', 'jobs:admin', 'ops:read'] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Parses a comma- or space-separated scope list; unknown names are reported, not dropped. */
export function parseScopes(text: string): { scopes: Scope[]; unknown: string[] } {
  const names = text.split(/[\s,]+/).filter((name) => name.length > 0);
  const scopes = [...new Set(names.filter(isScope))];
  const unknown = names.filter((name) => !isScope(name));
  return { scopes, unknown };
}
