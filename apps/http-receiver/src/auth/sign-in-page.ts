const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** The sign-in page for the operator pages: one form, no script. `next` is where to go after. */
export function signInPage({ next, error }: { next: string; error?: string | undefined }): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in · linebacker</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/admin/session/style.css">
</head>
<body class="sign-in">
  <main>
    <h1>linebacker</h1>
    <p>Sign in with an API key that has the <code>ops:read</code> scope to see the dashboard and the queues.</p>
    <form method="post" action="/admin/session">
      <label for="apiKey">API key</label>
      <input id="apiKey" name="apiKey" type="password" autocomplete="off" required autofocus placeholder="lbk_…">
      <input type="hidden" name="next" value="${escapeHtml(next)}">
      ${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
      <button type="submit">Sign in</button>
    </form>
    <p class="hint">Create a key with <code>npm run --silent cli -- clients create --name ops --scopes ops:read</code>.
      The browser gets a session (never the key) that ends after 30 minutes unused, 12 hours at most, or at sign-out.</p>
  </main>
</body>
</html>
`;
}
