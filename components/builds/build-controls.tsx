"use client";
// The editor's build controls: the Build button with its "incremental" option, the profile's
// recent builds, and why a build could not start.
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { CommandLine } from "@/components/host-check/command-line";
import { useTRPC } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { BootCheckBadge } from "@/components/vm/boot-check-badge";
import { BuildStateBadge } from "./build-state-badge";
import type { BuildStart } from "./use-build-start";

export function BuildButton({ ctl, dirty }: { ctl: BuildStart; dirty: boolean }) {
  const trpc = useTRPC();
  // What the machine lacks for any build, said before the press (the server's preflight is exact).
  const tools = useQuery({ ...trpc.host.tools.queryOptions(), staleTime: 5 * 60_000, refetchOnWindowFocus: false });
  const missing = tools.data?.tools.filter((t) => t.requiredForBuilds && (!t.found || t.problem)) ?? [];

  return (
    <div className="flex items-center gap-2">
      {missing.length > 0 ? (
        <Link
          href="/host"
          className="text-xs text-amber-700 underline decoration-dotted hover:text-amber-900"
          title={`Missing or broken: ${missing.map((t) => t.name).join(", ")}`}
          data-testid="build-host-warning"
        >
          {missing.length} build tool{missing.length === 1 ? "" : "s"} missing
        </Link>
      ) : null}
      <label className="inline-flex items-center gap-1 text-xs text-slate-600" title="Reuse a cached image tree of this profile (mkosi --incremental): faster rebuilds">
        <input
          type="checkbox"
          checked={ctl.incremental}
          onChange={(e) => ctl.setIncremental(e.target.checked)}
          className="accent-sky-600"
          data-testid="build-incremental"
        />
        incremental
      </label>
      <Button
        variant="primary"
        onClick={ctl.build}
        disabled={ctl.busy}
        data-testid="build-button"
        className="bg-sky-700! hover:bg-sky-600! disabled:bg-sky-300!"
        title={dirty ? "You have unsaved changes: they are saved first, then the saved profile is built" : "Build the saved profile with mkosi on this machine"}
      >
        {ctl.busy ? "Starting…" : dirty ? "Save and build" : "Build"}
      </Button>
    </div>
  );
}

/** The profile's last builds, in a small menu. */
export function RecentBuilds({ ctl, profileId }: { ctl: BuildStart; profileId: number }) {
  const last = ctl.recent[0];
  return (
    <details className="relative" data-testid="recent-builds">
      <summary className="inline-flex h-8 cursor-pointer list-none items-center gap-1.5 rounded-md px-2 text-sm text-slate-600 hover:bg-slate-100 hover:text-slate-900">
        Builds
        {last ? <BuildStateBadge state={last.state} /> : null}
        <span aria-hidden className="text-[10px]">
          ▾
        </span>
      </summary>
      <div className="absolute right-0 z-30 mt-1 w-80 rounded-lg border border-slate-200 bg-white py-1 text-sm shadow-lg">
        {ctl.recent.length === 0 ? <p className="px-3 py-2 text-xs text-slate-500">This profile has not been built yet.</p> : null}
        {ctl.recent.map((b) => (
          <Link key={b.id} href={`/builds/${b.id}`} className="flex items-center gap-2 px-3 py-1.5 hover:bg-slate-50">
            <span className="font-medium text-sky-800">#{b.id}</span>
            <BuildStateBadge state={b.state} />
            <BootCheckBadge check={b.bootCheck} />
            <span className="ml-auto text-xs text-slate-500">{new Date(b.queuedAt).toLocaleString()}</span>
          </Link>
        ))}
        <Link href={`/builds?profile=${profileId}`} className="block border-t border-slate-100 px-3 py-1.5 text-xs text-slate-600 hover:bg-slate-50" data-testid="profile-builds-link">
          All builds of this profile →
        </Link>
      </div>
    </details>
  );
}

/** Why the build did not start: the server says what to install or do. */
export function BuildStartError({ ctl }: { ctl: BuildStart }) {
  const e = ctl.error;
  if (!e) return null;
  const install = typeof e.details?.installCommand === "string" ? e.details.installCommand : null;
  const precondition = e.code === "PRECONDITION_FAILED";
  return (
    <div role="alert" className="rounded-lg border border-red-300 bg-red-50 px-4 py-2 text-sm text-red-900" data-testid="build-error">
      <div className="flex items-start gap-3">
        <div className="min-w-0 flex-1 space-y-1.5">
          <p className="font-medium">{precondition ? "This machine cannot build the profile yet" : "The build did not start"}</p>
          {precondition && e.problems.length > 0 ? (
            <ul className="list-disc space-y-0.5 pl-5 text-red-800">
              {e.problems.map((p, i) => (
                <li key={i}>{p.message}</li>
              ))}
            </ul>
          ) : (
            <p className="text-red-800">{e.message}</p>
          )}
          {install ? (
            <div className="space-y-1">
              <p className="text-xs text-red-800">To install what is missing, run as root:</p>
              <CommandLine command={install} className="max-w-2xl" testId="build-install-command" />
            </div>
          ) : null}
          {precondition ? (
            <p className="text-xs">
              <Link href="/host" className="underline">
                See every tool this machine has on the Host page
              </Link>
            </p>
          ) : null}
        </div>
        <Button size="sm" variant="ghost" onClick={ctl.dismissError} aria-label="Dismiss">
          ✕
        </Button>
      </div>
    </div>
  );
}
