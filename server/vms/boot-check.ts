// The boot check: boot a build in a VM, wait for a login on the serial console, log in, and
// run probes that show the image is what its profile says (root format, overlay, persistent
// data, systemd-boot and the UKI), rebooting once when a reboot is part of the proof.
import { randomBytes } from "node:crypto";
import { readBuildProfile } from "@/server/builds/job";
import { buildPaths } from "@/server/builds/paths";
import type { CheckItem, VmRunRow } from "@/server/db/schema";
import { AUTOLOGIN, checkPlan, firstBootProbes, LOGIN_PROMPT, judge, secondBootProbes, type CheckPlan, type ProbeResult } from "./check-plan";
import { ConsoleDriver } from "./console-driver";
import type { VmManager } from "./manager";
import type { VmOptions } from "./qemu-args";

/** A probe is a short command: a minute is plenty even under emulation. */
const PROBE_TIMEOUT_MS = 60_000;

export interface CheckOptions extends VmOptions {
  /** Time allowed from QEMU's start to the login prompt (and again after the reboot). */
  loginTimeoutS: number;
}


/** Starts a boot check of a build; resolves with its run once QEMU runs. The check goes on in the background. */
export async function startBootCheck(vms: VmManager, buildId: number, opts: CheckOptions): Promise<VmRunRow> {
  const paths = buildPaths(vms.queue.dataDir, buildId);
  // Checked before QEMU starts, so a build without its document (or for another
  // architecture) fails at once with a clear error.
  await vms.diskImage(buildId);
  await vms.refuseForeignArchitecture(buildId);
  const plan = checkPlan(await readBuildProfile(paths));
  const run = await vms.start(buildId, opts, "check");
  void runCheck(vms, run.id, plan, opts).catch((e) => console.error(`boot check ${run.id}:`, e));
  return run;
}

async function runCheck(vms: VmManager, runId: number, plan: CheckPlan, opts: CheckOptions): Promise<void> {
  const stop = new AbortController();
  const driver = new ConsoleDriver(vms.logs.follow(runId, 0, stop.signal), (s) => vms.input(runId, s), stop.signal);
  const nonce = `nonce-${randomBytes(6).toString("hex")}`;
  const results = new Map<string, ProbeResult>();
  const items: CheckItem[] = [];
  const limitMs = opts.loginTimeoutS * 1000;
  let failure: string | null = null;
  let loginMs: number | null = null;

  const login = async (which: string) => {
    await driver.waitFor(LOGIN_PROMPT, limitMs, `the login prompt ${which}`);
    const at = vms.uptimeMs(runId) ?? 0;
    // The rest of agetty's line may come in the next chunk.
    if (!(await driver.next(AUTOLOGIN, 3_000))) {
      if (plan.login.password === undefined)
        throw new Error("the console asks for a login, but the profile sets neither a plain RootPassword= nor automatic login on the serial console");
      driver.send("root\n");
      await driver.waitFor(/Password: /, PROBE_TIMEOUT_MS, "the password prompt");
      driver.send(`${plan.login.password}\n`);
    }
    // The shell is ready when it answers; typed-ahead input could be eaten by login.
    await driver.waitFor(/[#$] $/m, PROBE_TIMEOUT_MS, `a shell prompt ${which}`).catch(() => undefined);
    return at;
  };

  try {
    loginMs = await login("after the first boot");
    items.push({ id: "login", label: "Reaches a login on the serial console", passed: true, detail: `after ${(loginMs / 1000).toFixed(1)} s (${vms.getRun(runId).accel})` });
    vms.update(runId, { loginMs, items: [...items] });
    for (const p of firstBootProbes(plan, nonce)) results.set(p.id, await driver.run(p.command, PROBE_TIMEOUT_MS));
    const second = secondBootProbes(plan);
    if (plan.reboot) {
      driver.send("systemctl reboot\n");
      const again = await login("after the reboot");
      items.push({ id: "reboot", label: "Boots again after a reboot", passed: true, detail: `login after ${((again - loginMs) / 1000).toFixed(1)} s more` });
      for (const p of second) results.set(p.id, await driver.run(p.command, PROBE_TIMEOUT_MS));
    }
  } catch (e) {
    failure = e instanceof Error ? e.message : String(e);
    if (loginMs === null) items.push({ id: "login", label: "Reaches a login on the serial console", passed: false, detail: failure });
    else if (plan.reboot && !items.some((i) => i.id === "reboot") && results.size > 0)
      items.push({ id: "reboot", label: "Boots again after a reboot", passed: false, detail: failure });
  }
  if (loginMs !== null) items.push(...judge(plan, nonce, results));
  const verdict = items.length > 0 && items.every((i) => i.passed) && failure === null ? "passed" : "failed";
  vms.update(runId, { items, verdict, loginMs });
  stop.abort();
  const failed = items.filter((i) => !i.passed).map((i) => i.label.toLowerCase());
  const message = failure ? `boot check failed: ${failure}` : verdict === "passed" ? "boot check passed" : `boot check failed: ${failed.join("; ")}`;
  if (vms.isLive(runId)) await vms.stop(runId, message);
  else vms.update(runId, { message });
}
