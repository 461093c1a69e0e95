// "Check with mkosi": render the profile into a temporary folder and let the installed mkosi
// parse it (`mkosi --json summary`, no build). mkosi's complaints are tied to form fields
// where the message or the value mkosi read back tells which field it is.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mkosiVersion } from "@/server/host/facts";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { effectiveCommandLine, effectivePartitions, render, repartPath } from "@/server/mkosi/render";
import { SETTINGS } from "@/server/mkosi/settings";
import { validateDocument } from "@/server/mkosi/validate";
import { runOwned } from "@/server/processes/registry";
import { writeProject } from "./project-dir";

export interface CheckProblem {
  /** The document field it concerns, or null when that cannot be told. */
  path: (string | number)[] | null;
  message: string;
  /** An error makes the project unusable; a warning is something mkosi or repart let pass. */
  severity: "error" | "warning";
}

export interface CheckResult {
  ok: boolean;
  mkosiVersion: string | null;
  problems: CheckProblem[];
  /** mkosi's view of the image (Images[0] of the summary) when it parsed. */
  summary?: Record<string, unknown>;
  durationMs: number;
}

// mkosi 24 prints these on machines where systemd is not PID 1; they say nothing about the project.
const HARMLESS = [/^System has not been booted with systemd/, /^Failed to connect to bus/];

export interface CheckOptions {
  /** Checks the package names against the profile's repositories (server/packages). */
  packages?: (doc: ProfileDocument, signal?: AbortSignal) => Promise<CheckProblem[]>;
}

export async function checkWithMkosi(input: unknown, signal?: AbortSignal, opts: CheckOptions = {}): Promise<CheckResult> {
  const started = Date.now();
  const done = (r: Omit<CheckResult, "durationMs">): CheckResult => ({ ...r, durationMs: Date.now() - started });

  // The form's own rules first: a document that fails them is never written to disk.
  const valid = validateDocument(input);
  if (!valid.ok) return done({ ok: false, mkosiVersion: null, problems: valid.problems.map((p) => ({ ...p, severity: "error" })) });
  const doc = valid.doc;
  // Beside mkosi's parse, not after it: the first check of a profile may fetch its package index.
  const packageProblems = (opts.packages?.(doc, signal) ?? Promise.resolve([])).catch((e: unknown): CheckProblem[] => [
    { path: ["settings", "Packages"], message: `package names were not checked: ${e instanceof Error ? e.message : String(e)}`, severity: "warning" },
  ]);

  const mkosi = await mkosiVersion();
  if (!mkosi)
    return done({
      ok: false,
      mkosiVersion: null,
      problems: [{ path: null, message: "mkosi is not installed on this machine: run scripts/setup-host.sh as root", severity: "error" }],
    });

  const dir = await mkdtemp(join(tmpdir(), "image-studio-check-"));
  try {
    const project = join(dir, "project");
    await writeProject(project, render(doc, { mkosiMajor: mkosi.major }));
    const r = await runOwned("mkosi summary", "mkosi", ["--json", "summary"], { cwd: project, timeout: 60_000, signal });
    const severity = r.exitCode === 0 ? "warning" : "error";
    const problems: CheckProblem[] = meaningfulLines(r.stderr).map((message) => ({ path: locate(message, doc), message, severity }));
    if (r.exitCode !== 0) {
      if (problems.length === 0) problems.push({ path: null, message: `mkosi exited with status ${r.exitCode}`, severity });
      problems.push(...(await packageProblems));
      return done({ ok: false, mkosiVersion: mkosi.version, problems });
    }
    const summary = (JSON.parse(String(r.stdout)) as { Images?: Record<string, unknown>[] }).Images?.[0] ?? {};
    problems.push(...readBack(doc, summary), ...(await checkRepart(dir, doc, signal)), ...(await packageProblems));
    return done({ ok: !problems.some((p) => p.severity === "error"), mkosiVersion: mkosi.version, problems, summary });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function meaningfulLines(text: unknown): string[] {
  return String(text ?? "")
    .split("\n")
    .map((l) => l.replace(/\x1b\[[0-9;]*m/g, "").replace(/^‣\s*/, "").trim())
    .filter((l) => l && !HARMLESS.some((h) => h.test(l)));
}

/**
 * mkosi's summary does not read the repart definitions; systemd-repart does, and only warns
 * about a misspelt key. A dry run against an empty tree (sparse file in the temp folder) tells.
 */
async function checkRepart(dir: string, doc: ProfileDocument, signal?: AbortSignal): Promise<CheckProblem[]> {
  if (effectivePartitions(doc).length === 0) return [];
  const root = join(dir, "root");
  for (const sub of ["boot", "efi"]) await mkdir(join(root, sub), { recursive: true });
  const r = await runOwned(
    "systemd-repart dry run",
    "systemd-repart",
    ["--dry-run=yes", "--empty=create", "--size=auto", "--offline=yes", `--root=${root}`,
      `--definitions=${join(dir, "project", "mkosi.repart")}`, join(dir, "disk.raw")],
    { timeout: 60_000, signal },
  );
  // Keep what names a definition file, or everything when repart failed.
  const lines = meaningfulLines(r.stderr).filter((l) => r.exitCode !== 0 ? /fail|error|invalid|unknown/i.test(l) : /\.conf:\d+:/.test(l));
  return lines.map((l) => {
    const message = l.replace(/^\S*\/(mkosi\.repart\/)/, "$1");
    return { path: locate(message, doc), message, severity: r.exitCode === 0 ? "warning" : "error" };
  });
}

/** Which field a message of mkosi's concerns, from the setting or file it names. */
export function locate(message: string, doc: ProfileDocument): (string | number)[] | null {
  for (const def of SETTINGS) if (new RegExp(`\\b${def.key}\\b`).test(message)) return ["settings", def.key];
  const parts = effectivePartitions(doc);
  for (let i = 0; i < parts.length; i++)
    if (message.includes(repartPath(parts[i]!, i))) return i < doc.partitions.length ? ["partitions", i] : ["overlay"];
  const extra = doc.extraFiles.findIndex((f) => message.includes(`mkosi.extra/${f.path}`));
  if (extra >= 0) return ["extraFiles", extra];
  const raw = doc.rawSettings.findIndex((s) => new RegExp(`\\b${s.key}\\b`).test(message));
  if (raw >= 0) return ["rawSettings", raw];
  if (/sources|repositor|apt/i.test(message)) return ["repositories"];
  return null;
}

const FEATURE_READ = { yes: "enabled", no: "disabled", auto: "auto" } as const;

/** Settings mkosi read back differently from what the form holds (a sign the file said something else). */
export function readBack(doc: ProfileDocument, summary: Record<string, unknown>): CheckProblem[] {
  const problems: CheckProblem[] = [];
  const values: Record<string, unknown> = { ...doc.settings, KernelCommandLine: effectiveCommandLine(doc) };
  for (const def of SETTINGS) {
    const want = values[def.key];
    if (want === undefined || ("secret" in def && def.secret) || !(def.key in summary)) continue;
    if (def.kind.type === "list" && (want as string[]).length === 0) continue;
    const expected = def.kind.type === "feature" ? FEATURE_READ[want as keyof typeof FEATURE_READ] : want;
    const got = summary[def.key];
    if (JSON.stringify(got) !== JSON.stringify(expected))
      problems.push({
        path: ["settings", def.key],
        message: `mkosi read ${def.key} as ${JSON.stringify(got)}, the form says ${JSON.stringify(expected)}`,
        severity: "error",
      });
  }
  return problems;
}
