"use client";
// A finished build in a virtual machine: boot it or run its boot check, the build's runs with
// their verdicts, and the selected run's details and serial console (typing goes to the VM).
import { useEffect, useRef, useState } from "react";
import { useNow } from "@/components/builds/use-now";
import { Button } from "@/components/ui/button";
import { isUp } from "./format";
import type { VmRun } from "./types";
import { useVmRuns } from "./use-vm-runs";
import { VmConsole } from "./vm-console";
import { VmRunDetails } from "./vm-run-details";
import { VmRunList } from "./vm-run-list";
import { VmStartForm } from "./vm-start-form";

/** "#vm-run-12" (a link from a verdict badge) selects run 12. */
const runFromHash = (): number | null => {
  const m = /^#vm-run-(\d+)$/.exec(window.location.hash);
  return m ? Number(m[1]) : null;
};

export function VmPanel({ buildId }: { buildId: number }) {
  const { runs, list, watch, addRun, putRun } = useVmRuns(buildId);
  const [chosen, setChosen] = useState<number | null>(null);
  const panelRef = useRef<HTMLElement>(null);
  const [scrollPending, setScrollPending] = useState(false);

  useEffect(() => {
    const pick = () => {
      const id = runFromHash();
      if (id === null) return;
      setChosen(id);
      setScrollPending(true);
    };
    pick();
    window.addEventListener("hashchange", pick);
    return () => window.removeEventListener("hashchange", pick);
  }, []);

  // The run shown: the one chosen (while it exists), else the newest.
  const current = runs.find((r) => r.id === chosen) ?? runs[0];
  const upRun = runs.find(isUp);
  const now = useNow(runs.some((r) => r.live));

  // A run named in the address is scrolled to once the list holds it.
  useEffect(() => {
    if (!scrollPending || !runs.some((r) => r.id === chosen)) return;
    setScrollPending(false);
    panelRef.current?.scrollIntoView({ block: "start" });
  }, [scrollPending, runs, chosen]);

  const started = (run: VmRun) => {
    addRun(run);
    setChosen(run.id);
  };

  return (
    <section ref={panelRef} id="vm" className="scroll-mt-24 rounded-lg border border-slate-200 bg-white" aria-labelledby="vm-title" data-testid="vm-panel">
      <header className="border-b border-slate-100 px-4 py-2.5">
        <h2 id="vm-title" className="text-sm font-semibold">
          Virtual machine
        </h2>
        <p className="mt-0.5 text-xs text-slate-500">
          Boot the disk image in QEMU (UEFI, the image attached as a snapshot, so it never changes) with its serial console here, or let the boot check log in
          and prove the image is what the profile says.
        </p>
      </header>
      <div className="space-y-3 px-4 py-3">
        <VmStartForm buildId={buildId} upRun={upRun} onStarted={started} />

        {watch.status === "error" ? (
          <p role="alert" className="flex items-center gap-2 rounded border border-amber-200 bg-amber-50 px-3 py-1.5 text-xs text-amber-900">
            Live updates of the VM runs stopped ({watch.error?.message}).
            <Button size="sm" onClick={() => watch.reset()}>
              Reconnect
            </Button>
          </p>
        ) : null}

        {list.isError && runs.length === 0 ? (
          <p role="alert" className="text-sm text-red-700">
            Could not load the VM runs: {list.error.message}
          </p>
        ) : runs.length === 0 ? (
          <p className="text-sm text-slate-500" data-testid="vm-no-runs">
            {list.isPending ? "Loading…" : "No VM has run for this build yet."}
          </p>
        ) : (
          <div className="grid items-start gap-3 lg:grid-cols-[18rem_minmax(0,1fr)]">
            <VmRunList runs={runs} selectedId={current?.id} onSelect={setChosen} now={now} />
            {current ? (
              <div className="min-w-0 space-y-2">
                <VmRunDetails run={current} now={now} onStopped={putRun} />
                <VmConsole key={current.id} run={current} className="h-[32rem]" />
              </div>
            ) : null}
          </div>
        )}
      </div>
    </section>
  );
}
