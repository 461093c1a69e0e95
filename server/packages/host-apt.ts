// Where this machine's own apt sources have a package: for a name the profile's repositories
// lack, "it is in bookworm-backports/main, which this machine uses and the profile does not".
// Read with the host's apt-cache from the lists it already has (nothing is fetched).
import { runOwned } from "@/server/processes/registry";

export interface HostSource {
  uri: string;
  /** "bookworm-backports/main" as apt prints it. */
  dist: string;
  version: string;
}

/** Parses `apt-cache policy NAME...`: per name, the version table's sources (not dpkg's status). */
export function parsePolicy(text: string): Map<string, HostSource[]> {
  const out = new Map<string, HostSource[]>();
  let name: string | null = null;
  let version: string | null = null;
  for (const line of text.split("\n")) {
    const head = /^(\S+):$/.exec(line);
    if (head) {
      name = head[1]!.replace(/:[a-z0-9]+$/, "");
      version = null;
      out.set(name, out.get(name) ?? []);
      continue;
    }
    if (!name) continue;
    const ver = /^ (?:\*\*\*| {3}) (\S+) -?\d+$/.exec(line);
    if (ver) {
      version = ver[1]!;
      continue;
    }
    const src = /^\s+-?\d+ (\S+) (\S+) \S+ Packages$/.exec(line);
    if (src && version && !src[1]!.startsWith("/")) out.get(name)!.push({ uri: src[1]!, dist: src[2]!, version });
  }
  return out;
}

/** The host's sources that have each of `names` (names it does not know are left out). */
export async function hostSourcesOf(names: readonly string[], signal?: AbortSignal): Promise<Map<string, HostSource[]>> {
  if (names.length === 0) return new Map();
  const r = await runOwned("apt-cache policy", "apt-cache", ["policy", "--", ...names], { env: { LC_ALL: "C.UTF-8" }, timeout: 30_000, signal });
  const found = parsePolicy(String(r.stdout ?? ""));
  for (const [n, s] of found) if (s.length === 0) found.delete(n);
  return found;
}
