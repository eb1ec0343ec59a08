/**
 * A connection URL as it may be logged or printed: the password (and a username that is not the
 * usual role, which can be a token too) replaced by `***`. Anything that is not a URL is replaced
 * whole, since it cannot be taken apart safely.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '***';
  }
  if (parsed.password) parsed.password = '***';
  else if (parsed.username && !parsed.password && /^(?:rediss?|https?):$/.test(parsed.protocol)) parsed.username = '***';
  for (const key of [...parsed.searchParams.keys()]) {
    if (/pass|secret|token|key|sig/i.test(key)) parsed.searchParams.set(key, '***');
  }
  return parsed.toString();
}
