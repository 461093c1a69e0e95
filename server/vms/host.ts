// What this machine offers for running VMs: QEMU, UEFI firmware and whether KVM really works.
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { VmAccel } from "@/server/db/schema";
import { AppError } from "@/server/errors";
import { locateTool, toolDef } from "@/server/host/tools";
import { startOwned } from "@/server/processes/registry";
import { FIRMWARE_CANDIDATES, QEMU_BINARY, type Firmware } from "./qemu-args";

export function findQemu(): string {
  const path = locateTool(toolDef(QEMU_BINARY));
  if (!path) throw new AppError("PRECONDITION_FAILED", `QEMU is not installed (${QEMU_BINARY} not found): apt-get install -y qemu-system-x86`);
  return path;
}

export function findFirmware(candidates: readonly Firmware[] = FIRMWARE_CANDIDATES): Firmware {
  const fw = candidates.find((f) => existsSync(f.code) && existsSync(f.varsTemplate));
  if (!fw)
    throw new AppError("PRECONDITION_FAILED", `no UEFI firmware for the VM (looked for ${candidates.map((f) => f.code).join(", ")}): apt-get install -y ovmf`);
  return fw;
}

export interface AccelChoice {
  accel: VmAccel;
  /** Why KVM is not used, when it is not. */
  reason: string | null;
}

/** How long KVM must run the firmware without an error to count as working. */
const KVM_PROBE_MS = 2_500;

/**
 * Whether KVM works here, found by trying: on some machines /dev/kvm exists but QEMU fails
 * at once (MSR errors) or the firmware stops with an emulation failure. The probe runs the
 * real firmware under KVM for a moment and watches QEMU's errors.
 */
export async function probeKvm(qemu: string, firmware: Firmware): Promise<AccelChoice> {
  if (!existsSync("/dev/kvm")) return { accel: "tcg", reason: "/dev/kvm does not exist" };
  const dir = await mkdtemp(join(tmpdir(), "image-studio-kvm-"));
  try {
    const vars = join(dir, "vars.fd");
    await copyFile(firmware.varsTemplate, vars);
    const controller = new AbortController();
    const p = startOwned("kvm probe", qemu, [
      "-machine", "q35", "-accel", "kvm", "-cpu", "host", "-m", "256", "-nodefaults", "-display", "none",
      "-drive", `if=pflash,format=raw,readonly=on,file=${firmware.code.replaceAll(",", ",,")}`,
      "-drive", `if=pflash,format=raw,file=${vars.replaceAll(",", ",,")}`,
      "-serial", "none", "-monitor", "none",
    ], { signal: controller.signal, forceKillAfterMs: 1_000 });
    let errors = "";
    p.stderr.on("data", (d: Buffer) => (errors += d.toString()));
    p.stdout.resume();
    const timer = setTimeout(() => controller.abort(), KVM_PROBE_MS);
    const r = await p.done;
    clearTimeout(timer);
    const failed = /error|failure/i.test(errors) || !controller.signal.aborted;
    if (!failed) return { accel: "kvm", reason: null };
    const first = errors.split("\n").find((l) => /error|failure/i.test(l)) ?? r.failure ?? `QEMU exited (${r.exitCode ?? r.signal})`;
    return { accel: "tcg", reason: `KVM does not work here: ${first.trim()}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** IMAGE_STUDIO_VM_ACCEL: kvm, tcg, or auto (the default: try KVM, else emulate). */
export function accelFromEnv(env: NodeJS.ProcessEnv = process.env): VmAccel | "auto" {
  const v = env.IMAGE_STUDIO_VM_ACCEL?.trim() || "auto";
  if (v === "kvm" || v === "tcg" || v === "auto") return v;
  throw new AppError("BAD_REQUEST", `IMAGE_STUDIO_VM_ACCEL must be kvm, tcg or auto, not '${v}'`);
}
