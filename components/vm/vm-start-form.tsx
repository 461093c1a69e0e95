"use client";
// Boot a build, or run its boot check: memory, CPUs and network in a small form, the two
// buttons, and the API's refusal (no image, a VM already up, QEMU or firmware missing) beside them.
import { useMutation } from "@tanstack/react-query";
import { useId, useState } from "react";
import { apiError, type ApiError } from "@/components/trpc/errors";
import { useTRPC } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { FieldMessages } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { CPUS, MEMORY_MIB } from "@/server/vms/qemu-args";
import type { VmRun } from "./types";

type Limits = { min: number; max: number };

/** The whole number in `text` within `r`, or the reason it is not one. */
function parseWhole(text: string, r: Limits): { value: number } | { problem: string } {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return { problem: `a whole number from ${r.min} to ${r.max}` };
  const n = Number(t);
  if (n < r.min) return { problem: `at least ${r.min}` };
  if (n > r.max) return { problem: `at most ${r.max}` };
  return { value: n };
}

export function VmStartForm({ buildId, upRun, onStarted }: { buildId: number; upRun: VmRun | undefined; onStarted: (run: VmRun) => void }) {
  const trpc = useTRPC();
  const id = useId();
  const [memory, setMemory] = useState(String(MEMORY_MIB.default));
  const [cpus, setCpus] = useState(String(CPUS.default));
  const [network, setNetwork] = useState(false);
  const [error, setError] = useState<{ action: string; e: ApiError } | null>(null);

  const memoryParsed = parseWhole(memory, MEMORY_MIB);
  const cpusParsed = parseWhole(cpus, CPUS);
  const options =
    "value" in memoryParsed && "value" in cpusParsed ? { buildId, memoryMib: memoryParsed.value, cpus: cpusParsed.value, network } : null;

  const start = useMutation(
    trpc.vms.start.mutationOptions({
      onMutate: () => setError(null),
      onSuccess: onStarted,
      onError: (e) => setError({ action: "The VM did not start", e: apiError(e) }),
    }),
  );
  const check = useMutation(
    trpc.vms.check.mutationOptions({
      onMutate: () => setError(null),
      onSuccess: onStarted,
      onError: (e) => setError({ action: "The boot check did not start", e: apiError(e) }),
    }),
  );
  const pending = start.isPending || check.isPending;
  const blocked = upRun !== undefined;

  return (
    <form
      className="flex flex-wrap items-start gap-x-4 gap-y-2"
      data-testid="vm-start-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (options && !pending && !blocked) start.mutate(options);
      }}
    >
      <div className="w-32">
        <label htmlFor={`${id}-memory`} className="mb-1 block text-xs font-medium text-slate-700">
          Memory (MiB)
        </label>
        <Input
          id={`${id}-memory`}
          inputMode="numeric"
          value={memory}
          onChange={(e) => setMemory(e.target.value)}
          invalid={"problem" in memoryParsed}
          data-testid="vm-memory"
          title={`${MEMORY_MIB.min} to ${MEMORY_MIB.max} MiB`}
        />
        <FieldMessages messages={"problem" in memoryParsed ? [{ message: memoryParsed.problem }] : []} />
      </div>
      <div className="w-20">
        <label htmlFor={`${id}-cpus`} className="mb-1 block text-xs font-medium text-slate-700">
          CPUs
        </label>
        <Input
          id={`${id}-cpus`}
          inputMode="numeric"
          value={cpus}
          onChange={(e) => setCpus(e.target.value)}
          invalid={"problem" in cpusParsed}
          data-testid="vm-cpus"
          title={`${CPUS.min} to ${CPUS.max}`}
        />
        <FieldMessages messages={"problem" in cpusParsed ? [{ message: cpusParsed.problem }] : []} />
      </div>
      {/* mt-5: level with the inputs under their labels, so a message under a field moves nothing else. */}
      <label className="mt-5 inline-flex h-8 items-center gap-1.5 text-sm text-slate-700" title="A user-mode network card: the VM can reach out, nothing can reach in. Off: no network at all.">
        <input type="checkbox" checked={network} onChange={(e) => setNetwork(e.target.checked)} className="accent-sky-600" data-testid="vm-network" />
        Network
      </label>
      <div className="mt-5 flex items-center gap-2">
        <Button type="submit" variant="primary" disabled={!options || pending || blocked} data-testid="vm-boot" title="Boot the disk image in QEMU (as a snapshot: the image is not changed) with its serial console below">
          {start.isPending ? "Starting…" : "Boot"}
        </Button>
        <Button
          disabled={!options || pending || blocked}
          onClick={() => options && check.mutate(options)}
          data-testid="vm-check"
          title="Boot, wait for a login, log in and check the root file system, the overlay, persistent data, systemd-boot and the UKI; then turn the VM off"
        >
          {check.isPending ? "Starting check…" : "Run boot check"}
        </Button>
      </div>
      {blocked ? (
        <p className="basis-full text-xs text-slate-500" data-testid="vm-busy">
          Run #{upRun.id} is up, and a build boots in one VM at a time: stop it to start another
          {upRun.purpose === "check" ? ", or wait: the check turns its VM off when it ends." : "."}
        </p>
      ) : null}
      {error ? (
        <div role="alert" className="flex basis-full items-start gap-2 rounded border border-red-200 bg-red-50 px-3 py-1.5 text-sm text-red-800" data-testid="vm-start-error">
          <p className="min-w-0 flex-1">
            <span className="font-medium">{error.action}:</span> {error.e.message}
          </p>
          <Button size="sm" variant="ghost" onClick={() => setError(null)} aria-label="Dismiss">
            ✕
          </Button>
        </div>
      ) : null}
    </form>
  );
}
