"use client";
// One VM run's serial console in the terminal: the vms.console subscription (replay from the
// transcript, then live; resumed by byte offset) feeds a LogSink like the build log does, and
// while a console session's VM runs, what is typed in the terminal goes to the VM.
import { useSubscription } from "@trpc/tanstack-react-query";
import { useState } from "react";
import { LazyLogTerminal } from "@/components/log-terminal/lazy-log-terminal";
import { LogSink } from "@/components/log-terminal/log-sink";
import { StreamOffset } from "@/components/log-terminal/stream-offset";
import { useTRPC } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { formatBytes } from "@/server/mkosi/size";
import type { VmRun } from "./types";
import { useVmInput } from "./use-vm-input";

/** Keyed by run id by its parent: another run gets a fresh terminal and stream. */
export function VmConsole({ run, className }: { run: VmRun; className?: string }) {
  const trpc = useTRPC();
  const [sink] = useState(() => new LogSink());
  const [shown] = useState(() => new StreamOffset());
  const [bytes, setBytes] = useState(0);
  const input = useVmInput(run.id);

  const sub = useSubscription(
    trpc.vms.console.subscriptionOptions(
      { runId: run.id },
      {
        onData: (ev) => {
          sink.push(shown.take(ev.id, ev.data.text));
          setBytes(shown.bytes);
        },
      },
    ),
  );

  // A boot check types into its own console: a person typing there would break its probes.
  const typing = run.live && run.state === "running" && run.purpose === "console";
  const placeholder =
    bytes > 0 || sub.status === "error"
      ? undefined
      : run.live
        ? "Waiting for the VM's console: the firmware and the boot loader print first."
        : "This run's console is empty.";

  return (
    <section className={cn("flex min-h-0 flex-col gap-1", className)} aria-label={`Console of VM run ${run.id}`} data-testid="vm-console" data-run-id={run.id}>
      <LazyLogTerminal
        sink={sink}
        testId="vm-terminal"
        onInput={typing ? input.send : undefined}
        placeholder={placeholder}
        className="h-full"
        actions={
          <>
            <span className="text-[11px] text-slate-400" data-testid="vm-console-mode">
              {typing ? "click and type: keys go to the VM" : run.live ? "read-only while the check runs" : "transcript"}
            </span>
            <span className="text-[11px] text-slate-400 tabular-nums" data-testid="vm-console-bytes">
              {formatBytes(bytes)}
              {sub.status === "connecting" && bytes > 0 ? " · reconnecting…" : ""}
            </span>
            <a
              href={run.consoleUrl}
              download
              data-testid="vm-transcript"
              className="inline-flex h-7 items-center rounded-md border border-slate-700 px-2 text-xs font-medium text-slate-200 hover:bg-slate-800 hover:text-white"
              title="The whole console transcript as a file"
            >
              Transcript
            </a>
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
      {sub.status === "error" ? (
        <p role="alert" className="flex items-center gap-2 rounded border border-red-200 bg-red-50 px-3 py-1.5 text-xs text-red-800">
          The console stream stopped: {sub.error?.message ?? "unknown error"}
          <Button size="sm" onClick={() => sub.reset()}>
            Reconnect
          </Button>
        </p>
      ) : null}
    </section>
  );
}
