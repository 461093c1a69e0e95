// The boot check: boot a build in a VM, wait for a login on the serial console, log in, and
// run probes that show the image is what its profile says (root format, overlay, persistent
// data, systemd-boot and the UKI; Secure Boot, the verity root and PCR 11 for a verified-boot
// image), rebooting once when a reboot is part of the proof; then, for verified boot, the
// same run boots a copy with a changed root byte and a copy whose UKI another key signed.
import { randomBytes } from "node:crypto";
import { readBuildProfile } from "@/server/builds/job";
import { buildPaths } from "@/server/builds/paths";
import type { CheckItem, VmRunRow } from "@/server/db/schema";
import { expectedOf, ukiSections } from "@/server/artifacts/verified-boot";
import {
  AUTOLOGIN,
  checkPlan,
  firstBootProbes,
  KERNEL_STARTED,
  LOGIN_PROMPT,
  judge,
  REFUSED,
  secondBootProbes,
  TAMPER_READ,
  tamperRootItem,
  tamperUkiItem,
  type CheckPlan,
  type ProbeResult,
} from "./check-plan";
import { foreignUki, removeCopies, tamperRoot } from "./tamper";
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
  let uki: string | null = null;
  if (plan.verity || plan.measured || plan.secureBoot) {
    const expected = await expectedOf(vms.queue.dataDir, buildId);
    plan.expected = { rootHash: expected.rootHash, pcr11: expected.pcr11.map(({ phase, value }) => ({ phase, value })) };
    uki = expected.uki;
  }
  const run = await vms.start(buildId, opts, "check");
  void runCheck(vms, run.id, plan, opts, uki).catch((e) => console.error(`boot check ${run.id}:`, e));
  return run;
}

/** How long the firmware gets to refuse (or start) the foreign UKI under emulation. */
const REFUSAL_TIMEOUT_MS = 240_000;

/**
 * The tamper boots: the same run boots a copy with a changed root byte (the read must fail)
 * and a copy whose UKI another key signed (the firmware must refuse it). Each adds its item.
 */
async function tamperChecks(vms: VmManager, runId: number, plan: CheckPlan, opts: CheckOptions, uki: string | null, baseline: ProbeResult | undefined): Promise<CheckItem[]> {
  const items: CheckItem[] = [];
  const run = vms.getRun(runId);
  const image = await vms.diskImage(run.buildId);
  const dir = vms.runDir(runId);
  const boot = async (disk: string, label: string, drive: (d: ConsoleDriver) => Promise<void>) => {
    const from = vms.getRun(runId).consoleBytes ?? 0;
    await vms.restart(runId, disk, label);
    const stop = new AbortController();
    const driver = new ConsoleDriver(vms.logs.follow(runId, from, stop.signal), (t) => vms.input(runId, t), stop.signal);
    try {
      await drive(driver);
    } finally {
      stop.abort();
      if (vms.isLive(runId)) await vms.stop(runId, `${label}: done`);
    }
  };
  try {
    if (plan.verity) {
      let description = "a copy of the disk with one byte of the root file system changed";
      let result: ProbeResult | undefined;
      let failure: string | undefined;
      let transcript = "";
      try {
        if (!uki) throw new Error("the build has no UKI to find the kernel's bytes by");
        const kernel = (await ukiSections(uki)).get(".linux");
        if (!kernel) throw new Error("the UKI has no .linux section");
        const t = await tamperRoot(image, kernel, dir);
        description = t.description;
        await boot(t.disk, description, async (d) => {
          try {
            await loginOn(d, plan, opts.loginTimeoutS * 1000, "on the tampered disk");
            result = await d.run(TAMPER_READ, PROBE_TIMEOUT_MS);
            // The kernel's verity message, if it came, is the evidence beside the failed read.
            await d.run("dmesg | grep -i verity | tail -n 3", PROBE_TIMEOUT_MS).then((r) => (transcript = r.output), () => undefined);
          } catch (e) {
            failure = e instanceof Error ? e.message : String(e);
          }
          transcript = `${d.seen()}\n${transcript}`;
        });
      } catch (e) {
        failure = e instanceof Error ? e.message : String(e);
      }
      items.push(tamperRootItem(baseline, { result, console: transcript, failure, description }));
    }
    if (plan.secureBoot) {
      let outcome: Parameters<typeof tamperUkiItem>[0] = { kernelStarted: false, waitedS: REFUSAL_TIMEOUT_MS / 1000, description: "a copy of the disk whose UKI another key signed" };
      try {
        if (!uki) throw new Error("the build has no UKI to sign with another key");
        const t = await foreignUki(image, uki, dir);
        outcome = { ...outcome, description: t.description };
        await boot(t.disk, t.description, async (d) => {
          const seen = new RegExp(`(${REFUSED.source})|(${KERNEL_STARTED.source})|(${LOGIN_PROMPT.source})`, "i");
          try {
            const m = await d.waitFor(seen, REFUSAL_TIMEOUT_MS, "the firmware's answer to the foreign UKI");
            // The whole console line the answer is on (systemd-boot's "Error loading …: Access denied").
            const text = d.seen();
            const end = text.indexOf("\n", m.index + m[0].length);
            const line = text.slice(text.lastIndexOf("\n", m.index) + 1, end < 0 ? undefined : end).trim() || m[0];
            outcome = m[1] ? { ...outcome, refusal: line } : { ...outcome, kernelStarted: true };
          } catch (e) {
            // Nothing at all within the time: no kernel started, which is the promise, though without the firmware's word.
            outcome = { ...outcome, failure: e instanceof Error ? e.message : String(e) };
            if (!KERNEL_STARTED.test(d.seen())) outcome = { ...outcome, failure: undefined };
          }
        });
      } catch (e) {
        outcome = { ...outcome, failure: `the copy could not be booted: ${e instanceof Error ? e.message : String(e)}`, refusal: undefined };
      }
      items.push(tamperUkiItem(outcome));
    }
  } finally {
    await removeCopies(dir);
  }
  return items;
}

/**
 * Waits for the login prompt (telling `atPrompt`) and logs in, automatically or with the
 * profile's root password.
 */
async function loginOn(driver: ConsoleDriver, plan: CheckPlan, limitMs: number, which: string, atPrompt?: () => void): Promise<void> {
  await driver.waitFor(LOGIN_PROMPT, limitMs, `the login prompt ${which}`);
  atPrompt?.();
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
  // Kernel messages would land in the middle of command output.
  await driver.run("dmesg -n 1", PROBE_TIMEOUT_MS);
}

async function runCheck(vms: VmManager, runId: number, plan: CheckPlan, opts: CheckOptions, uki: string | null): Promise<void> {
  const stop = new AbortController();
  const driver = new ConsoleDriver(vms.logs.follow(runId, 0, stop.signal), (s) => vms.input(runId, s), stop.signal);
  const nonce = `nonce-${randomBytes(6).toString("hex")}`;
  const results = new Map<string, ProbeResult>();
  const items: CheckItem[] = [];
  const limitMs = opts.loginTimeoutS * 1000;
  let failure: string | null = null;
  let loginMs: number | null = null;

  /** Logs in; the VM's uptime when the prompt came. */
  const login = async (which: string) => {
    let at = 0;
    await loginOn(driver, plan, limitMs, which, () => (at = vms.uptimeMs(runId) ?? 0));
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
  if (loginMs !== null && failure === null && (plan.verity || plan.secureBoot)) {
    vms.update(runId, { items: [...items] });
    if (vms.isLive(runId)) await vms.stop(runId, "the untouched disk is checked: booting the tampered copies");
    try {
      items.push(...(await tamperChecks(vms, runId, plan, opts, uki, results.get("tamper-baseline"))));
    } catch (e) {
      failure = `the tamper checks could not run: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  const verdict = items.length > 0 && items.every((i) => i.passed) && failure === null ? "passed" : "failed";
  vms.update(runId, { items, verdict, loginMs });
  stop.abort();
  const failed = items.filter((i) => !i.passed).map((i) => i.label.toLowerCase());
  const message = failure ? `boot check failed: ${failure}` : verdict === "passed" ? "boot check passed" : `boot check failed: ${failed.join("; ")}`;
  if (vms.isLive(runId)) await vms.stop(runId, message);
  else vms.update(runId, { message });
}
