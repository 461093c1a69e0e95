// "Validate with mkosi": render the profile into a temporary folder and let the installed mkosi
// parse it (`mkosi --json summary`, no build). mkosi's complaints are tied to form fields
// where the message or the value mkosi read back tells which field it is.
//
// mkosi runs some project files while it parses (executable credentials; in 25 and later an
// executable mkosi.version and the like): the validation writes no file with a run bit, leaves out
// those mkosi 25 would refuse to read instead, and says which files were not run
// (server/mkosi/scripts.ts decides). A project whose settings lead mkosi to files outside it
// is not handed to mkosi at all. Credentials never come back in the summary.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mkosiVersion } from "@/server/host/facts";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { effectivePartitions, render, repartPath } from "@/server/mkosi/render";
import { checkPlan, type OutsideSetting } from "@/server/mkosi/scripts";
import { SETTINGS } from "@/server/mkosi/settings";
import { mkosiMessages, readBack } from "@/server/mkosi/summary";
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
  /** mkosi's view of the image (Images[0] of the summary) when it parsed; credentials' values hidden. */
  summary?: Record<string, unknown>;
  /** Files of the project mkosi would run while reading it (or right after, in a build), which the validation did not run. */
  notRun: string[];
  durationMs: number;
}

/** What the summary shows in place of a credential's value. */
export const HIDDEN_CREDENTIAL = "(not shown)";

export interface CheckOptions {
  /** Checks the package names against the profile's repositories (server/packages). */
  packages?: (doc: ProfileDocument, signal?: AbortSignal) => Promise<CheckProblem[]>;
}

export async function validateWithMkosi(input: unknown, signal?: AbortSignal, opts: CheckOptions = {}): Promise<CheckResult> {
  const started = Date.now();
  const done = (r: Omit<CheckResult, "durationMs">): CheckResult => ({ ...r, durationMs: Date.now() - started });

  // The form's own rules first: a document that fails them is never written to disk.
  const valid = validateDocument(input);
  if (!valid.ok) return done({ ok: false, mkosiVersion: null, problems: valid.problems.map((p) => ({ ...p, severity: "error" })), notRun: [] });
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
      notRun: [],
    });

  const plan = checkPlan(render(doc, { mkosiMajor: mkosi.major }), mkosi.major);
  const notRun = plan.notRun;
  if (plan.outside.length > 0)
    return done({ ok: false, mkosiVersion: mkosi.version, problems: plan.outside.map((o) => ({ path: outsidePath(o, doc), message: o.message, severity: "error" })), notRun });

  const dir = await mkdtemp(join(tmpdir(), "image-studio-check-"));
  try {
    const project = join(dir, "project");
    await writeProject(project, plan.files);
    // Not the server's environment: PassEnvironment= would copy it into the summary.
    const env = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: process.env.HOME ?? "/root", LANG: "C.UTF-8" };
    const r = await runOwned("mkosi summary", "mkosi", ["--json", "summary"], { cwd: project, timeout: 60_000, signal, env, extendEnv: false });
    const severity = r.exitCode === 0 ? "warning" : "error";
    const problems: CheckProblem[] = mkosiMessages(r.stderr).map((message) => ({ path: locate(message, doc), message, severity }));
    if (r.exitCode !== 0) {
      if (problems.length === 0) problems.push({ path: null, message: `mkosi exited with status ${r.exitCode}`, severity });
      problems.push(...(await packageProblems));
      return done({ ok: false, mkosiVersion: mkosi.version, problems, notRun });
    }
    const summary = hideCredentials((JSON.parse(String(r.stdout)) as { Images?: Record<string, unknown>[] }).Images?.[0] ?? {});
    problems.push(...readBack(doc, summary, mkosi.major), ...(await checkRepart(dir, doc, signal)), ...(await packageProblems));
    return done({ ok: !problems.some((p) => p.severity === "error"), mkosiVersion: mkosi.version, problems, summary, notRun });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The summary with every credential's value replaced: a credential may be a secret, or what a script printed. */
export function hideCredentials(summary: Record<string, unknown>): Record<string, unknown> {
  const c = summary.Credentials;
  if (c === undefined || c === null) return summary;
  const names = typeof c === "object" && !Array.isArray(c) ? Object.keys(c) : [];
  return { ...summary, Credentials: Object.fromEntries(names.map((n) => [n, HIDDEN_CREDENTIAL])) };
}

/** The field of a setting that leads outside the project: a raw setting of mkosi.conf, or the raw file that holds it. */
function outsidePath(o: OutsideSetting, doc: ProfileDocument): (string | number)[] | null {
  const file = doc.rawFiles.findIndex((f) => f.path === o.file);
  if (file >= 0) return ["rawFiles", file];
  const raw = doc.rawSettings.findIndex((s) => s.key.replace(/^@/, "") === o.key && s.value.split(/[,\n]/).some((v) => v.trim() === o.value));
  return raw >= 0 ? ["rawSettings", raw] : locate(o.message, doc);
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
  const lines = mkosiMessages(r.stderr).filter((l) => r.exitCode !== 0 ? /fail|error|invalid|unknown/i.test(l) : /\.conf:\d+:/.test(l));
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
