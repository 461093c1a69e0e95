// What `mkosi --json summary` says back about a profile, compared with what the form holds.
// The spelling of each value comes from the settings model (summaryValue). Pure.
import type { ProfileDocument } from "./profile";
import { effectiveCommandLine } from "./render";
import { SETTINGS, summaryValue, type SettingDef } from "./settings";

// mkosi 24 prints these on machines where systemd is not PID 1; they say nothing about the project.
const HARMLESS = [/^System has not been booted with systemd/, /^Failed to connect to bus/];

/** What mkosi (or systemd-repart) said on stderr, line by line, without colours, markers or noise. */
export function mkosiMessages(stderr: unknown): string[] {
  return String(stderr ?? "")
    .split("\n")
    .map((l) => l.replace(/\x1b\[[0-9;]*m/g, "").replace(/^‣\s*/, "").trim())
    .filter((l) => l && !HARMLESS.some((h) => h.test(l)));
}

export interface ReadBackProblem {
  path: ["settings", string];
  message: string;
  severity: "error";
}

/** The form's values as mkosi should read them: the overlay's word is on the kernel command line. */
function effectiveValues(doc: ProfileDocument): Record<string, unknown> {
  return { ...doc.settings, KernelCommandLine: effectiveCommandLine(doc) };
}

/** Settings mkosi read back differently from what the form holds (a sign the files said something else). */
export function readBack(doc: ProfileDocument, summary: Record<string, unknown>, mkosiMajor: number): ReadBackProblem[] {
  const problems: ReadBackProblem[] = [];
  const values = effectiveValues(doc);
  for (const def of SETTINGS as readonly SettingDef[]) {
    const want = values[def.key];
    if (want === undefined || !(def.key in summary)) continue;
    // An empty list is not written, so mkosi's default applies.
    if (Array.isArray(want) && want.length === 0) continue;
    const expected = summaryValue(def, want, mkosiMajor);
    const got = summary[def.key];
    if (JSON.stringify(got) === JSON.stringify(expected)) continue;
    problems.push({
      path: ["settings", def.key],
      // A secret is not repeated in a message that may be shown or logged.
      message: def.secret
        ? `mkosi read ${def.key} differently from what the form says`
        : `mkosi read ${def.key} as ${JSON.stringify(got)}, the form says ${JSON.stringify(expected)}`,
      severity: "error",
    });
  }
  return problems;
}
