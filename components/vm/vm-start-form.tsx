"use client";
// Boot a build, or run its boot check: memory, CPUs, network and the check's login timeout in a
// small form, the two buttons, and the API's refusal (no image, a VM already up, QEMU or firmware
// missing) beside them.
import { useMutation } from "@tanstack/react-query";
import { useId, useState } from "react";
import { apiError, type ApiError } from "@/components/trpc/errors";
import { useTRPC } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { FieldMessages } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { CPUS, LOGIN_TIMEOUT_S, MEMORY_MIB } from "@/server/vms/limits";
import type { VmRun } from "./types";

type Limits = { min: number; max: number };
type Parsed = { value: number } | { problem: string };

/** The whole number in `text` within `r`, or the reason it is not one (`unit` after the numbers, e.g. " s"). */
function parseWhole(text: string, r: Limits, unit = ""): Parsed {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return { problem: `a whole number from ${r.min} to ${r.max}${unit}` };
  const n = Number(t);
  if (n < r.min) return { problem: `at least ${r.min}${unit}` };
  if (n > r.max) return { problem: `at most ${r.max}${unit}` };
  return { value: n };
}

/** A labelled number input with, under it, why its text is not a whole number within its limits. */
function WholeField({
  label,
  text,
  onText,
  parsed,
  testId,
  title,
  className,
}: {
  label: string;
  text: string;
  onText: (text: string) => void;
  parsed: Parsed;
  testId: string;
  title: string;
  className: string;
}) {
  const id = useId();
  const problem = "problem" in parsed ? parsed.problem : null;
  return (
    <div className={className}>
      <label htmlFor={id} className="mb-1 block text-xs font-medium text-slate-700">
        {label}
      </label>
      <Input
        id={id}
        inputMode="numeric"
        value={text}
        onChange={(e) => onText(e.target.value)}
        invalid={problem !== null}
        aria-describedby={problem !== null ? `${id}-problem` : undefined}
        data-testid={testId}
        title={title}
      />
      <FieldMessages id={`${id}-problem`} messages={problem !== null ? [{ message: problem }] : []} />
    </div>
  );
}

export function VmStartForm({ buildId, upRun, onStarted }: { buildId: number; upRun: VmRun | undefined; onStarted: (run: VmRun) => void }) {
  const trpc = useTRPC();
  const [memory, setMemory] = useState(String(MEMORY_MIB.default));
  const [cpus, setCpus] = useState(String(CPUS.default));
  const [network, setNetwork] = useState(false);
  const [loginTimeout, setLoginTimeout] = useState(String(LOGIN_TIMEOUT_S.default));
  const [error, setError] = useState<{ action: string; e: ApiError } | null>(null);

  const memoryParsed = parseWhole(memory, MEMORY_MIB, " MiB");
  const cpusParsed = parseWhole(cpus, CPUS);
  const options =
    "value" in memoryParsed && "value" in cpusParsed ? { buildId, memoryMib: memoryParsed.value, cpus: cpusParsed.value, network } : null;
  // Only the check waits for a login: a bad timeout blocks the check, not Boot.
  const loginTimeoutParsed = parseWhole(loginTimeout, LOGIN_TIMEOUT_S, " s");
  const checkOptions = options && "value" in loginTimeoutParsed ? { ...options, loginTimeoutS: loginTimeoutParsed.value } : null;

  const start = useMutation(
    trpc.vms.start.mutationOptions({
      onMutate: () => setError(null),
      onSuccess: onStarted,
      onError: (e) => setError({ action: "The VM did not start", e: apiError(e) }),
    }),
  );
  const check = useMutation(
    trpc.vms.bootCheck.mutationOptions({
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
      <WholeField
        className="w-32"
        label="Memory (MiB)"
        text={memory}
        onText={setMemory}
        parsed={memoryParsed}
        testId="vm-memory"
        title={`${MEMORY_MIB.min} to ${MEMORY_MIB.max} MiB`}
      />
      <WholeField className="w-20" label="CPUs" text={cpus} onText={setCpus} parsed={cpusParsed} testId="vm-cpus" title={`${CPUS.min} to ${CPUS.max}`} />
      {/* mt-5: level with the inputs under their labels, so a message under a field moves nothing else. */}
      <label className="mt-5 inline-flex h-8 items-center gap-1.5 text-sm text-slate-700" title="A user-mode network card: the VM can reach out, nothing can reach in. Off: no network at all.">
        <input type="checkbox" checked={network} onChange={(e) => setNetwork(e.target.checked)} className="accent-sky-600" data-testid="vm-network" />
        Network
      </label>
      <WholeField
        className="w-32"
        label="Login timeout (s)"
        text={loginTimeout}
        onText={setLoginTimeout}
        parsed={loginTimeoutParsed}
        testId="vm-login-timeout"
        title={`Boot check only: how long to wait for the login prompt after QEMU starts (and again after the reboot), ${LOGIN_TIMEOUT_S.min} to ${LOGIN_TIMEOUT_S.max} s`}
      />
      <div className="mt-5 flex items-center gap-2">
        <Button type="submit" variant="primary" disabled={!options || pending || blocked} data-testid="vm-boot" title="Boot the disk image in QEMU (as a snapshot: the image is not changed) with its serial console below">
          {start.isPending ? "Starting…" : "Boot"}
        </Button>
        <Button
          disabled={!checkOptions || pending || blocked}
          onClick={() => checkOptions && check.mutate(checkOptions)}
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
