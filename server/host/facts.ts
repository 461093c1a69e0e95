// What this machine is: its apt sources (the default mirror) and its mkosi version.
import { execa } from "execa";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDeb822Lenient, parseOneLine } from "@/server/mkosi/apt-sources";
import type { HostFacts } from "@/server/mkosi/presets";
import type { Repository } from "@/server/mkosi/profile";

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

export function hostAptRepositories(root = "/etc/apt"): Repository[] {
  const repos: Repository[] = [];
  const list = readText(join(root, "sources.list"));
  if (list) repos.push(...parseOneLine(list));
  let entries: string[] = [];
  try {
    entries = readdirSync(join(root, "sources.list.d")).sort();
  } catch {
    /* no drop-in folder */
  }
  for (const name of entries) {
    const text = readText(join(root, "sources.list.d", name));
    if (!text) continue;
    if (name.endsWith(".sources")) repos.push(...parseDeb822Lenient(text));
    else if (name.endsWith(".list")) repos.push(...parseOneLine(text));
  }
  return repos;
}

export function osId(): string | undefined {
  return /^ID=("?)([^"\n]*)\1$/m.exec(readText("/etc/os-release") ?? "")?.[2];
}

export function hostFacts(): HostFacts {
  return { aptRepositories: hostAptRepositories(), osId: osId() };
}

export interface MkosiVersion {
  version: string;
  major: number;
}

let cached: Promise<MkosiVersion | undefined> | undefined;

/** The major of an mkosi version as `mkosi --version` prints it ("24.3", "25~devel"). */
export function majorOf(version: string): number | undefined {
  const m = /^(\d+)/.exec(version);
  return m ? Number(m[1]) : undefined;
}

/** The installed mkosi's version, or undefined when mkosi is missing. */
export function mkosiVersion(): Promise<MkosiVersion | undefined> {
  cached ??= execa("mkosi", ["--version"], { reject: false, timeout: 15_000 }).then((r) => {
    const version = r.stdout.trim().replace(/^mkosi\s+/, "");
    const major = majorOf(version);
    if (r.exitCode !== 0 || major === undefined) return undefined;
    return { version, major };
  });
  return cached;
}
