"use client";
// The selected run: its state, how it runs (KVM or emulation, memory, CPUs, network), the time
// to the login prompt, Stop; for a boot check where it is up to, and its items with their details.
import { useMutation } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { formatDuration, shellLine } from "@/components/builds/format";
import { apiError } from "@/components/trpc/errors";
import { useTRPC } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { Fact, Facts } from "@/components/ui/fact";
import { RelativeTime } from "@/components/ui/relative-time";
import { BootCheckBadge } from "./boot-check-badge";
import { accelLabel, checkPhase, purposeLabel, seconds } from "./format";
import type { VmRun } from "./types";
import { VmStateBadge } from "./vm-state-badge";

export function VmRunDetails({ run, now, onStopped }: { run: VmRun; now: number | null; onStopped: (run: VmRun) => void }) {
  const trpc = useTRPC();
  const [stopError, setStopError] = useState<string | null>(null);
  const stop = useMutation(
    trpc.vms.stop.mutationOptions({
      onMutate: () => setStopError(null),
      onSuccess: onStopped,
      onError: (e) => setStopError(apiError(e).message),
    }),
  );
  const accel = accelLabel(run.accel);
  const started = new Date(run.startedAt).getTime();
  const end = run.endedAt ? new Date(run.endedAt).getTime() : now;

  return (
    <div className="space-y-2" data-testid="vm-run" data-run-id={run.id} data-state={run.state} data-purpose={run.purpose}>
      <div className="flex flex-wrap items-center gap-2">
        <h3 className="text-sm font-semibold">
          Run #{run.id} · {purposeLabel(run.purpose)}
        </h3>
        <VmStateBadge run={run} className="text-xs" />
        {run.purpose === "check" && (run.verdict || run.live) ? <BootCheckBadge check={{ runId: run.id, verdict: run.verdict ?? "running" }} className="text-xs" /> : null}
        {/* A passed check's message only repeats its badge. */}
        {run.message && run.verdict !== "passed" ? (
          <span className={cn("text-xs", run.state === "failed" ? "text-red-700" : "text-slate-500")} data-testid="vm-message">
            {run.message}
          </span>
        ) : null}
        {run.live ? (
          <Button
            variant="danger"
            size="sm"
            className="ml-auto"
            onClick={() => stop.mutate({ runId: run.id })}
            disabled={stop.isPending}
            data-testid="vm-stop"
            title={run.purpose === "check" ? "Turn the VM off: the check ends as failed" : "Turn the VM off (its disk changes are thrown away with the snapshot)"}
          >
            {stop.isPending ? "Stopping…" : run.purpose === "check" ? "Stop (ends the check)" : "Stop"}
          </Button>
        ) : null}
      </div>
      {stopError ? (
        <p role="alert" className="text-xs text-red-700" data-testid="vm-stop-error">
          Not stopped: {stopError}
        </p>
      ) : null}

      <Facts>
        <Fact label="Acceleration">
          <span className={run.accel === "tcg" ? "text-amber-800" : undefined} data-testid="vm-accel" data-accel={run.accel ?? undefined}>
            {accel.long}
          </span>
        </Fact>
        <Fact label="Memory">{run.memoryMib} MiB</Fact>
        <Fact label="CPUs">{run.cpus}</Fact>
        <Fact label="Network">{run.network ? "user-mode, outbound only" : "none"}</Fact>
        <Fact label="Started">
          <RelativeTime iso={run.startedAt} />
        </Fact>
        <Fact label={run.live ? "Up for" : "Ran for"}>
          <span className="tabular-nums">{end === null || !Number.isFinite(started) ? "–" : formatDuration(end - started)}</span>
        </Fact>
        <Fact label="Time to login">
          <span className="tabular-nums" data-testid="vm-login-time">
            {run.loginMs !== null
              ? seconds(run.loginMs)
              : run.purpose === "console"
                ? "not measured in a console session (the boot check measures it)"
                : run.live
                  ? "not yet"
                  : "no login seen"}
          </span>
        </Fact>
      </Facts>

      {run.purpose === "check" ? <CheckProgress run={run} now={now} /> : null}

      {run.command ? (
        <details className="text-xs">
          <summary className="cursor-pointer text-slate-600 hover:text-slate-900">QEMU command</summary>
          <pre className="mt-1 rounded bg-slate-900 px-3 py-2 font-mono break-all whitespace-pre-wrap text-slate-100" data-testid="vm-command">
            {shellLine(run.command)}
          </pre>
        </details>
      ) : null}
    </div>
  );
}

/** Where the check is up to (as far as the run records it), then its items. */
function CheckProgress({ run, now }: { run: VmRun; now: number | null }) {
  const phase = checkPhase(run, now);
  const steps: { id: string; label: ReactNode }[] = [
    { id: "starting", label: "Starting QEMU" },
    {
      id: "waiting-login",
      label:
        phase.id === "waiting-login" ? (
          <>
            Waiting for the login prompt{phase.sinceMs !== null ? <span className="tabular-nums"> · {Math.floor(phase.sinceMs / 1000)} s</span> : null}
          </>
        ) : phase.id === "checking" ? (
          `Login prompt after ${seconds(phase.loginMs)}`
        ) : (
          "Login prompt"
        ),
    },
    { id: "checking", label: "Logged in: running the probes (and one reboot when the profile needs it)" },
  ];
  const at = steps.findIndex((s) => s.id === phase.id);

  return (
    <div className="space-y-2 rounded-md border border-slate-200 bg-slate-50 px-3 py-2" data-testid="vm-check-progress" data-phase={phase.id}>
      {phase.id === "done" || phase.id === "ended" ? null : (
        <ol className="flex flex-wrap items-center gap-x-2 gap-y-1 text-xs" aria-label="Boot check progress" data-testid="vm-check-phase">
          {steps.map((s, i) => (
            <li key={s.id} className={cn("flex items-center gap-1.5", i < at ? "text-emerald-800" : i === at ? "font-medium text-sky-800" : "text-slate-400")} aria-current={i === at ? "step" : undefined}>
              {i > 0 ? <span aria-hidden className="text-slate-300">→</span> : null}
              {i < at ? <span aria-hidden>✓</span> : i === at ? <span className="h-2 w-2 animate-pulse rounded-full bg-sky-500" aria-hidden /> : null}
              {s.label}
            </li>
          ))}
        </ol>
      )}
      {phase.id === "ended" ? (
        <p className="text-xs text-amber-800">The VM ended before the check recorded a verdict{run.message ? `: ${run.message}` : "."}</p>
      ) : null}
      {run.items.length > 0 ? (
        <ul className="space-y-1 text-sm" data-testid="vm-check-items">
          {run.items.map((item) => (
            <li key={item.id} className="flex gap-2" data-testid="vm-check-item" data-item={item.id} data-passed={item.passed}>
              <span aria-hidden className={cn("w-4 shrink-0 text-center font-bold", item.passed ? "text-emerald-600" : "text-red-600")}>
                {item.passed ? "✓" : "✗"}
              </span>
              <span className="min-w-0">
                <span className={item.passed ? "text-slate-900" : "font-medium text-red-800"}>{item.label}</span>
                <span className="sr-only">{item.passed ? " passed" : " failed"}</span>
                {item.detail ? <span className="block text-xs break-words text-slate-500">{item.detail}</span> : null}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      <p className="text-xs text-slate-500">
        The console below is the check&apos;s transcript;{" "}
        <a href={run.consoleUrl} download className="text-sky-800 underline" data-testid="vm-check-transcript">
          download it
        </a>
        .
      </p>
    </div>
  );
}
