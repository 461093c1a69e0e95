"use client";
// A build's log in the terminal: the builds.log subscription (which replays a finished log
// from disk and follows a running one) feeds a LogSink that the terminal drains per frame.
import { useSubscription } from "@trpc/tanstack-react-query";
import { LazyLogTerminal } from "@/components/log-terminal/lazy-log-terminal";
import { StreamBytes, StreamDownload, StreamStopped } from "@/components/log-terminal/stream-status";
import { useStreamSink } from "@/components/log-terminal/use-stream-sink";
import { useTRPC } from "@/components/trpc/client";
import { cn } from "@/components/ui/cn";

export function BuildLogPanel({ id, state, className }: { id: number; state: string; className?: string }) {
  const trpc = useTRPC();
  const stream = useStreamSink();
  const sub = useSubscription(trpc.builds.log.subscriptionOptions({ id }, { onData: (ev) => stream.push(ev.id, ev.data.text) }));

  const placeholder =
    state === "queued" ? "The build is waiting in the queue; mkosi's output appears here when it starts." : stream.bytes === 0 && sub.status !== "error" ? "Waiting for output…" : undefined;

  return (
    <section className={cn("flex min-h-0 flex-col gap-1", className)} aria-label="Build log" data-testid="build-log">
      <LazyLogTerminal
        sink={stream.sink}
        placeholder={placeholder}
        className="h-full"
        actions={
          <>
            <StreamBytes bytes={stream.bytes} reconnecting={sub.status === "connecting"} testId="log-bytes" />
            <StreamDownload href={`/api/builds/${id}/log`} testId="log-download" title="The whole log as a file (the panel keeps the last 20 000 lines)">
              Download log
            </StreamDownload>
          </>
        }
      />
      {sub.status === "error" ? <StreamStopped what="log" message={sub.error?.message} onReconnect={() => sub.reset()} /> : null}
    </section>
  );
}
