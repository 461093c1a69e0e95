"use client";
// The access token on the Host page: rotate it (every other browser and script holding the
// old one is out; this browser stays signed in) and sign out. The new address is shown once.
import { useState } from "react";
import { AUTH_ROUTES } from "@/server/http/auth-routes";
import { Button } from "@/components/ui/button";
import { Section } from "@/components/ui/section";
import { useCopy } from "@/components/ui/use-copy";

export function AccessToken() {
  const [rotating, setRotating] = useState(false);
  const [address, setAddress] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { copy, label } = useCopy();

  const rotate = async () => {
    if (!window.confirm("Rotate the access token? Every other browser and script that uses the current one must sign in again.")) return;
    setRotating(true);
    setError(null);
    try {
      const r = await fetch(AUTH_ROUTES.rotate, { method: "POST" });
      const body = (await r.json()) as { address?: string; error?: string };
      if (!r.ok || !body.address) throw new Error(body.error ?? `HTTP ${r.status}`);
      setAddress(body.address);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setRotating(false);
    }
  };

  return (
    <Section
      id="access"
      title="Access token"
      description="Whoever holds the token can run code on this machine through the dashboard. It is in the data folder's auth-token file; scripts send it as 'Authorization: Bearer <token>'."
      actions={
        <>
          <Button size="sm" variant="secondary" onClick={() => void rotate()} disabled={rotating} data-testid="token-rotate">
            {rotating ? "Rotating…" : "Rotate token"}
          </Button>
          <form method="post" action={AUTH_ROUTES.logout}>
            <Button size="sm" variant="secondary" type="submit" data-testid="sign-out">
              Sign out
            </Button>
          </form>
        </>
      }
    >
      <div className="space-y-2 px-4 py-3 text-sm">
        {address ? (
          <div className="space-y-1.5" data-testid="token-new">
            <p className="text-slate-700">The token was rotated. This browser stays signed in; elsewhere, open this address (shown only now):</p>
            <div className="flex items-center gap-2">
              <code className="min-w-0 flex-1 truncate rounded bg-slate-100 px-2 py-1 font-mono text-xs" data-testid="token-address">
                {address}
              </code>
              <Button size="sm" variant="secondary" onClick={() => void copy(address)}>
                {label}
              </Button>
            </div>
          </div>
        ) : (
          <p className="text-slate-600">
            From the command line: <code className="font-mono text-xs">scripts/rotate-token.sh</code> (then restart nothing: the server picks it up).
          </p>
        )}
        {error ? (
          <p role="alert" className="text-red-700">
            Not rotated: {error}
          </p>
        ) : null}
      </div>
    </Section>
  );
}
