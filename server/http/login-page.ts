// The screen a browser gets without a valid token: plain HTML from the server itself, so it
// loads nothing of the dashboard (every other file needs the token too).
import { AUTH_ROUTES } from "./auth-routes";

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function loginPage({ next, failed }: { next: string; failed: boolean }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Image Studio: sign in</title>
<style>
  body { font-family: system-ui, sans-serif; background: #f8fafc; color: #0f172a; margin: 0; }
  main { max-width: 34rem; margin: 12vh auto; padding: 2rem; background: #fff; border: 1px solid #e2e8f0; border-radius: 0.75rem; }
  h1 { font-size: 1.25rem; margin: 0 0 1rem; }
  p { line-height: 1.5; font-size: 0.95rem; }
  code { font-family: ui-monospace, monospace; background: #f1f5f9; padding: 0 0.25rem; border-radius: 0.25rem; }
  label { display: block; font-weight: 600; font-size: 0.9rem; margin-top: 1.25rem; }
  input { width: 100%; box-sizing: border-box; margin-top: 0.4rem; padding: 0.5rem 0.6rem; font: inherit; font-family: ui-monospace, monospace; border: 1px solid #cbd5e1; border-radius: 0.375rem; }
  button { margin-top: 1rem; padding: 0.5rem 1rem; font: inherit; font-weight: 600; color: #fff; background: #0f172a; border: 0; border-radius: 0.375rem; cursor: pointer; }
  .error { color: #b91c1c; font-weight: 600; }
</style>
</head>
<body>
<main>
  <h1>Image Studio needs its access token</h1>
  <p>Open the address <code>scripts/start.sh</code> printed when it started the dashboard (it ends in
  <code>?token=…</code>), or paste the token below. It is in the file <code>auth-token</code> of the
  dashboard's data folder, readable by its owner only.</p>
  ${failed ? '<p class="error" role="alert" data-testid="login-error">That token is not valid (it may have been rotated).</p>' : ""}
  <form method="post" action="${AUTH_ROUTES.login}">
    <input type="hidden" name="next" value="${escapeHtml(next)}">
    <label for="token">Access token</label>
    <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required autofocus data-testid="login-token">
    <button type="submit" data-testid="login-submit">Open the dashboard</button>
  </form>
</main>
</body>
</html>
`;
}
