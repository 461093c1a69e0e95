"use client";
// A build's log in the terminal: the builds.log subscription (which replays a finished log
// from disk and follows a running one) feeds a LogSink that the terminal drains per frame.
import { useSubscription } from "@trpc/tanstack-react-query";
import { useState } from "react";
import { LazyLogTerminal } from "@/components/log-terminal/lazy-log-terminal";
import { LogSink } from "@/components/log-terminal/log-sink";
import { StreamOffset } from "@/components/log-terminal/stream-offset";
import { useTRPC } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { formatBytes } from "@/server/mkosi/size";

export function BuildLogPanel({ id, state, className }: { id: number; state: string; className?: string }) {
  const trpc = useTRPC();
  const [sink] = useState(() => new LogSink());
  // Event ids are byte offsets, so a stream that starts over (a retry after an error) skips
  // what is already shown instead of doubling it.
  const [shown] = useState(() => new StreamOffset());
  const [bytes, setBytes] = useState(0);

  const sub = useSubscription(
    trpc.builds.log.subscriptionOptions(
      { id },
      {
        onData: (ev) => {
          sink.push(shown.take(ev.id, ev.data.text));
          setBytes(shown.bytes);
        },
      },
    ),
  );

  const placeholder =
    state === "queued" ? "The build is waiting in the queue; mkosi's output appears here when it starts." : bytes === 0 && sub.status !== "error" ? "Waiting for output…" : undefined;

  return (
    <section className={cn("flex min-h-0 flex-col gap-1", className)} aria-label="Build log" data-testid="build-log">
      <LazyLogTerminal
        sink={sink}
        placeholder={placeholder}
        className="h-full"
        actions={
          <>
            <span className="text-[11px] text-slate-400 tabular-nums" data-testid="log-bytes">
              {formatBytes(bytes)}
              {sub.status === "connecting" && bytes > 0 ? " · reconnecting…" : ""}
            </span>
            <a
              href={`/api/builds/${id}/log`}
              download
              data-testid="log-download"
              className="inline-flex h-7 items-center rounded-md border border-slate-700 px-2 text-xs font-medium text-slate-200 hover:bg-slate-800 hover:text-white"
              title="The whole log as a file (the panel keeps the last 20 000 lines)"
            >
              Download log
            </a>
          </>
        }
      />
      {sub.status === "error" ? (
        <p role="alert" className="flex items-center gap-2 rounded border border-red-200 bg-red-50 px-3 py-1.5 text-xs text-red-800">
          The log stream stopped: {sub.error?.message ?? "unknown error"}
          <Button size="sm" onClick={() => sub.reset()}>
            Reconnect
          </Button>
        </p>
      ) : null}
    </section>
  );
}
