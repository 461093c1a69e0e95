"use client";
// A terminal's stream as the page shows it, the same for a build log and a VM's console: bytes
// shown so far and a link to the whole file in the toolbar, an alert with Reconnect below the
// terminal when the stream has stopped.
import { Button } from "@/components/ui/button";
import { formatBytes } from "@/server/mkosi/size";

/** For the toolbar. `reconnecting` only shows once something was shown (before that the placeholder says it). */
export function StreamBytes({ bytes, reconnecting, testId }: { bytes: number; reconnecting: boolean; testId: string }) {
  return (
    <span className="text-[11px] text-slate-400 tabular-nums" data-testid={testId}>
      {formatBytes(bytes)}
      {reconnecting && bytes > 0 ? " · reconnecting…" : ""}
    </span>
  );
}

/** Below the terminal when its subscription ended in an error; `what` names the stream ("log", "console"). */
export function StreamStopped({ what, message, onReconnect }: { what: string; message: string | undefined; onReconnect: () => void }) {
  return (
    <p role="alert" className="flex items-center gap-2 rounded border border-red-200 bg-red-50 px-3 py-1.5 text-xs text-red-800">
      The {what} stream stopped: {message ?? "unknown error"}
      <Button size="sm" onClick={onReconnect}>
        Reconnect
      </Button>
    </p>
  );
}

/** A download link styled for the terminal's dark toolbar. */
export function StreamDownload({ href, title, testId, children }: { href: string; title: string; testId: string; children: string }) {
  return (
    <a
      href={href}
      download
      data-testid={testId}
      className="inline-flex h-7 items-center rounded-md border border-slate-700 px-2 text-xs font-medium text-slate-200 hover:bg-slate-800 hover:text-white"
      title={title}
    >
      {children}
    </a>
  );
}
