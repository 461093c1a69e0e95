"use client";
// Which of the tools Image Studio drives this machine has, in which version, what is missing,
// and the command that installs it.
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc/client";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { Table, TableBody, TableHead, Td, Th } from "@/components/ui/table";
import { CommandLine } from "./command-line";

export function HostCheck() {
  const trpc = useTRPC();
  const tools = useQuery({ ...trpc.host.tools.queryOptions(), staleTime: 60_000, refetchOnWindowFocus: false });
  const facts = useQuery({ ...trpc.host.facts.queryOptions(), staleTime: 5 * 60_000 });

  const data = tools.data;
  const blocking = data?.tools.filter((t) => t.requiredForBuilds && (!t.found || t.problem)) ?? [];
  const optional = data?.tools.filter((t) => !t.requiredForBuilds && (!t.found || t.problem)) ?? [];

  return (
    <div className="space-y-4" data-testid="host-check">
      <div className="flex flex-wrap items-end gap-3">
        <div>
          <h1 className="text-lg font-semibold">Host check</h1>
          <p className="text-sm text-slate-500">
            The tools Image Studio runs on this machine{facts.data ? ` (${facts.data.osId})` : ""}: whether they are here, their versions, and how to install what is missing.
          </p>
        </div>
        <Button className="ml-auto" onClick={() => void tools.refetch()} disabled={tools.isFetching} data-testid="host-recheck">
          {tools.isFetching ? "Checking…" : "Check again"}
        </Button>
      </div>

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
