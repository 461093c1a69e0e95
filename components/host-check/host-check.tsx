"use client";
// Which of the tools Image Studio drives this machine has, in which version, what is missing,
// and the command that installs it.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc/client";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { Table, TableBody, TableHead, Td, Th } from "@/components/ui/table";
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/routers";
import { CommandLine } from "./command-line";

type Identity = inferRouterOutputs<AppRouter>["host"]["facts"]["identity"];

export function HostCheck() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // The server looks the tools up once per run; "Check again" makes it look again.
  const tools = useQuery({ ...trpc.host.tools.queryOptions(), staleTime: 60_000, refetchOnWindowFocus: false });
  const recheck = useMutation(
    trpc.host.refreshTools.mutationOptions({ onSuccess: (fresh) => queryClient.setQueryData(trpc.host.tools.queryKey(), fresh) }),
  );
  const checking = tools.isFetching || recheck.isPending;
  const facts = useQuery({ ...trpc.host.facts.queryOptions(), staleTime: 5 * 60_000 });

  const data = tools.data;
  const blocking = data?.tools.filter((t) => t.requiredForBuilds && (!t.found || t.problem)) ?? [];
  const optional = data?.tools.filter((t) => !t.requiredForBuilds && (!t.found || t.problem)) ?? [];

  return (
    <div className="space-y-4" data-testid="host-check">
      <div className="flex flex-wrap items-end gap-3">
        <div>
          <h1 className="text-lg font-semibold">Host tools</h1>
          <p className="text-sm text-slate-500">
            The tools Image Studio runs on this machine{facts.data ? ` (${facts.data.osId})` : ""}: whether they are here, their versions, and how to install what is missing.
          </p>
        </div>
        <Button className="ml-auto" onClick={() => recheck.mutate()} disabled={checking} data-testid="host-recheck">
          {checking ? "Checking…" : "Check again"}
        </Button>
      </div>

      {facts.data ? <RunsAs who={facts.data.identity} /> : null}

      {recheck.isError ? (
        <p role="alert" className="rounded-lg border border-red-200 bg-red-50 px-4 py-2 text-sm text-red-800">
          Could not check again: {recheck.error.message}
        </p>
      ) : null}
      {tools.isPending ? (
        <p className="text-sm text-slate-500">Asking each tool for its version…</p>
      ) : tools.isError ? (
        <p role="alert" className="rounded-lg border border-red-200 bg-red-50 px-4 py-2 text-sm text-red-800">
          Could not check the host: {tools.error.message}
        </p>
      ) : data ? (
        <>
          {blocking.length === 0 ? (
            <div className="rounded-lg border border-emerald-200 bg-emerald-50 px-4 py-3 text-sm text-emerald-900" data-testid="host-ready">
              <p className="font-medium">This machine has every tool a build needs.</p>
              {optional.length > 0 ? (
                <p className="mt-0.5 text-emerald-800">
                  Missing, for other things: {optional.map((t) => `${t.name} (${t.neededFor})`).join(", ")}.
                </p>
              ) : null}
            </div>
          ) : (
            <div role="alert" className="rounded-lg border border-red-300 bg-red-50 px-4 py-3 text-sm text-red-900" data-testid="host-missing">
              <p className="font-medium">
                Builds cannot run yet: {blocking.map((t) => (t.found ? `${t.name} does not work` : `${t.name} is missing`)).join(", ")}.
              </p>
            </div>
          )}

          {data.installCommand ? (
            <section className="space-y-1.5 rounded-lg border border-slate-200 bg-white px-4 py-3">
              <h2 className="text-sm font-semibold">Install what is missing</h2>
              <p className="text-xs text-slate-500">
                Run as root{data.installCommand === data.setupCommand ? ", from the Image Studio folder (it enables bookworm-backports for mkosi and ukify)" : ""}. Packages:{" "}
                {data.missingPackages.join(", ")}.
              </p>
              <CommandLine command={data.installCommand} testId="install-command" />
            </section>
          ) : null}
          <section className="space-y-1.5 rounded-lg border border-slate-200 bg-white px-4 py-3">
            <h2 className="text-sm font-semibold">Set up a new build machine</h2>
            <p className="text-xs text-slate-500">Installs everything Image Studio uses (run as root from the Image Studio folder).</p>
            <CommandLine command={data.setupCommand} testId="setup-command" />
          </section>

          <section className="overflow-hidden rounded-lg border border-slate-200 bg-white">
            <div className="overflow-x-auto">
              <Table data-testid="host-tools">
                <TableHead>
                  <Th>Tool</Th>
                  <Th>Status</Th>
                  <Th>Version</Th>
                  <Th>Needed for</Th>
                  <Th>Package</Th>
                  <Th>Where</Th>
                </TableHead>
                <TableBody>
                  {data.tools.map((t) => {
                    const ok = t.found && !t.problem;
                    return (
                      <tr key={t.name} data-testid="host-tool" data-tool={t.name} data-found={t.found} className={cn(!ok && t.requiredForBuilds && "bg-red-50/50")}>
                        <Td className="font-mono text-xs font-medium text-slate-900">{t.name}</Td>
                        <Td>
                          {ok ? (
                            <Badge tone="green">found</Badge>
                          ) : t.found ? (
                            <Badge tone="amber" title={t.problem ?? undefined}>
                              broken
                            </Badge>
                          ) : (
                            <Badge tone={t.requiredForBuilds ? "red" : "slate"}>missing</Badge>
                          )}
                          {t.problem ? <p className="mt-0.5 max-w-md text-xs text-amber-800">{t.problem}</p> : null}
                        </Td>
                        <Td className="font-mono text-xs text-slate-700">{t.version ?? (t.found ? "unknown" : "–")}</Td>
                        <Td className="text-xs text-slate-600">
                          {t.neededFor}
                          {t.requiredForBuilds ? <span className="ml-1 text-slate-400">(every build)</span> : null}
                        </Td>
                        <Td className="font-mono text-xs text-slate-600">{t.fixPackage && t.fixPackage !== t.package ? `${t.package} → ${t.fixPackage}` : t.package}</Td>
                        <Td className="font-mono text-[11px] text-slate-500">{t.path ?? "–"}</Td>
                      </tr>
                    );
                  })}
                </TableBody>
              </Table>
            </div>
          </section>
        </>
      ) : null}
    </div>
  );
}

/** The user the dashboard and everything it starts run as, and whether that user can build. */
function RunsAs({ who }: { who: Identity }) {
  const range = who.subuid ? `${who.subuid.start}–${who.subuid.start + who.subuid.count - 1}` : null;
  return (
    <div
      className={cn("rounded-lg border px-4 py-2 text-sm", who.root || who.problems.length ? "border-amber-200 bg-amber-50 text-amber-900" : "border-slate-200 bg-white text-slate-700")}
      data-testid="host-user"
      data-user={who.user}
      data-root={who.root}
    >
      <p>
        Image Studio runs as <strong className="font-medium">{who.user}</strong> (uid {who.uid}), and so do its builds, checks, conversions and VMs
        {who.root
          ? ": as root. Start it with scripts/start.sh, which runs it as the image-studio user."
          : range
            ? `; mkosi builds in a user namespace with the subordinate ids ${range} (root in the image is ${who.user} outside it).`
            : "."}
      </p>
      {who.problems.map((p) => (
        <p key={p} className="mt-1 text-amber-900">
          {p}
        </p>
      ))}
    </div>
  );
}
