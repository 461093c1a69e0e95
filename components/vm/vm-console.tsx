"use client";
// One VM run's serial console in the terminal: the vms.console subscription (replay from the
// transcript, then live; resumed by byte offset) feeds a LogSink like the build log does, and
// while a console session's VM runs, what is typed in the terminal goes to the VM.
import { useSubscription } from "@trpc/tanstack-react-query";
import { LazyLogTerminal } from "@/components/log-terminal/lazy-log-terminal";
import { StreamBytes, StreamDownload, StreamStopped } from "@/components/log-terminal/stream-status";
import { useStreamSink } from "@/components/log-terminal/use-stream-sink";
import { useTRPC } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import type { VmRun } from "./types";
import { useVmInput } from "./use-vm-input";

/** Keyed by run id by its parent: another run gets a fresh terminal and stream. */
export function VmConsole({ run, className }: { run: VmRun; className?: string }) {
  const trpc = useTRPC();
  const stream = useStreamSink();
  const input = useVmInput(run.id);
  const sub = useSubscription(trpc.vms.console.subscriptionOptions({ runId: run.id }, { onData: (ev) => stream.push(ev.id, ev.data.text) }));

  // A boot check types into its own console: a person typing there would break its probes.
  const typing = run.live && run.state === "running" && run.purpose === "console";
  const placeholder =
    stream.bytes > 0 || sub.status === "error"
      ? undefined
      : run.live
        ? "Waiting for the VM's console: the firmware and the boot loader print first."
        : "This run's console is empty.";

  return (
    <section className={cn("flex min-h-0 flex-col gap-1", className)} aria-label={`Console of VM run ${run.id}`} data-testid="vm-console" data-run-id={run.id}>
      <LazyLogTerminal
        sink={stream.sink}
        testId="vm-terminal"
        onInput={typing ? input.send : undefined}
        placeholder={placeholder}
        className="h-full"
        actions={
          <>
            <span className="text-[11px] text-slate-400" data-testid="vm-console-mode">
              {typing ? "click and type: keys go to the VM" : run.live ? "read-only while the check runs" : "transcript"}
            </span>
            <StreamBytes bytes={stream.bytes} reconnecting={sub.status === "connecting"} testId="vm-console-bytes" />
            <StreamDownload href={run.consoleUrl} testId="vm-transcript" title="The whole console transcript as a file">
              Transcript
            </StreamDownload>
          </>
        }
      />
      {input.error ? (
        <p role="alert" className="flex items-center gap-2 rounded border border-amber-200 bg-amber-50 px-3 py-1.5 text-xs text-amber-900" data-testid="vm-input-error">
          {input.error}
          <Button size="sm" variant="ghost" onClick={input.dismissError} aria-label="Dismiss">
            ✕
          </Button>
        </p>
      ) : null}
      {sub.status === "error" ? <StreamStopped what="console" message={sub.error?.message} onReconnect={() => sub.reset()} /> : null}
    </section>
  );
}
