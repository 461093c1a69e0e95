// What /proc says about a build folder: processes that name it on their command line, and
// mounts under it. Used to clean up after a server restart and to check that a cancel left
// nothing behind.
import { readdir, readFile } from "node:fs/promises";

/** A process's argv, or undefined when it is gone (or a kernel thread). */
export async function commandLine(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, "utf8");
    if (raw === "") return undefined;
    return raw.replace(/\0$/, "").split("\0");
  } catch {
    return undefined;
  }
}

/** Processes (other than this one) whose command line mentions `text`. */
export async function processesMentioning(text: string): Promise<{ pid: number; argv: string[] }[]> {
  const found: { pid: number; argv: string[] }[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const argv = await commandLine(pid);
    if (argv?.some((a) => a.includes(text))) found.push({ pid, argv });
  }
  return found;
}

/** Mount points (this namespace's /proc/mounts) at or under `dir`. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile("/proc/mounts", "utf8").catch(() => "");
  const prefix = dir.replace(/\/+$/, "");
  return text
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m): m is string => m !== undefined)
    // /proc/mounts escapes spaces and the like as octal.
    .map((m) => m.replace(/\\([0-7]{3})/g, (_s, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m === prefix || m.startsWith(`${prefix}/`));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops what is left of a build after a restart: first its pty helper (recorded pid, only if
 * it is still that helper: its command line names the build folder), which stops mkosi and
 * everything under it; then, after at most `graceMs`, kills anything that still names the folder.
 * Returns how many processes had to be killed outright.
 */
export async function stopLeftovers(buildDir: string, pid: number | null, graceMs = 10_000): Promise<number> {
  if (pid !== null && (await commandLine(pid))?.some((a) => a.includes(buildDir))) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      /* gone meanwhile */
    }
    const deadline = Date.now() + graceMs;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  }
  let killed = 0;
  for (let round = 0; round < 20; round++) {
    const left = await processesMentioning(buildDir);
    if (left.length === 0) break;
    for (const p of left) {
      try {
        process.kill(p.pid, "SIGKILL");
        killed++;
      } catch {
        /* gone meanwhile */
      }
    }
    await sleep(100);
  }
  return killed;
}
