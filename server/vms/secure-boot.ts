// A VM for a verified-boot build: OVMF's Secure Boot firmware with a per-run copy of an
// empty variable store into which the build's certificate is enrolled as PK, KEK and db
// (virt-fw-vars), and a software TPM (swtpm) when the UKI carries a PCR 11 prediction.
import { randomUUID } from "node:crypto";
import { existsSync, watch } from "node:fs";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { buildPaths } from "@/server/builds/paths";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { measuredBoot } from "@/server/mkosi/verity";
import { AppError } from "@/server/errors";
import { locateTool, toolDef } from "@/server/host/tools";
import { runOwned, startOwned } from "@/server/processes/registry";
import { findFirmware } from "./host";
import { SECURE_BOOT_FIRMWARE_CANDIDATES, type Firmware } from "./qemu-args";

export interface VmFirmware {
  firmware: Firmware;
  /** Secure Boot firmware (needs SMM and a secure flash). */
  secureBoot: boolean;
  /** The run's variable store, written. */
  varsFile: string;
  /** What enrolled what, for the console transcript. */
  note: string | null;
}

const tool = (name: string, pkg: string) => {
  const path = locateTool(toolDef(name));
  if (!path) throw new AppError("PRECONDITION_FAILED", `${name} is not installed: it is needed to boot a verified-boot image (install the ${pkg} package, or run scripts/setup-host.sh)`);
  return path;
};

/** The firmware and variable store a run of this build boots with. */
export async function prepareFirmware(dataDir: string, buildId: number, doc: ProfileDocument | undefined, runDir: string, plain?: readonly Firmware[]): Promise<VmFirmware> {
  const varsFile = join(runDir, "efivars.fd");
  if (doc?.settings.SecureBoot !== true) {
    const firmware = findFirmware(plain);
    await copyFile(firmware.varsTemplate, varsFile);
    return { firmware, secureBoot: false, varsFile, note: null };
  }
  const firmware = findFirmware(SECURE_BOOT_FIRMWARE_CANDIDATES);
  const certificate = buildPaths(dataDir, buildId).certificate;
  if (!existsSync(certificate))
    throw AppError.field(["buildId"], `build ${buildId} is signed for Secure Boot but has no certificate beside its snapshot: build the profile again`, "PRECONDITION_FAILED");
  const owner = randomUUID();
  const args = ["--input", firmware.varsTemplate, "--output", varsFile, "--set-pk", owner, certificate, "--add-kek", owner, certificate, "--add-db", owner, certificate, "--secure-boot"];
  const r = await runOwned("virt-fw-vars", tool("virt-fw-vars", "python3-virt-firmware"), args, { timeout: 60_000 });
  if (r.exitCode !== 0)
    throw new AppError("PRECONDITION_FAILED", `virt-fw-vars could not enrol the certificate: ${String(r.stderr ?? "").trim().split("\n").pop() ?? `exit status ${r.exitCode}`}`);
  return { firmware, secureBoot: true, varsFile, note: `virt-fw-vars ${args.join(" ")}` };
}

export interface Tpm {
  socket: string;
  /** Ends swtpm (it also ends by itself when QEMU disconnects: --terminate). */
  stop: () => void;
  done: Promise<unknown>;
}

/** Waits for a file to appear in a folder (a socket a process creates), by watching it. */
async function appears(dir: string, name: string, ms: number, gone: Promise<unknown>): Promise<void> {
  if (existsSync(join(dir, name))) return;
  await new Promise<void>((resolve, reject) => {
    const w = watch(dir, () => {
      if (existsSync(join(dir, name))) finish();
    });
    const timer = setTimeout(() => finish(new Error(`swtpm did not create its socket within ${ms / 1000} s`)), ms);
    void gone.then(() => finish(new Error("swtpm ended before it created its socket")));
    function finish(e?: Error) {
      clearTimeout(timer);
      w.close();
      if (e) reject(e);
      else resolve();
    }
    if (existsSync(join(dir, name))) finish();
  });
}

/** A software TPM 2.0 for one boot; its state lives in the run's folder. */
export async function startTpm(runDir: string, label: string, signal?: AbortSignal): Promise<Tpm> {
  const dir = join(runDir, `tpm-${label}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const controller = new AbortController();
  signal?.addEventListener("abort", () => controller.abort(), { once: true });
  const child = startOwned(`swtpm (${label})`, tool("swtpm", "swtpm"), ["socket", "--tpm2", "--tpmstate", `dir=${dir}`, "--ctrl", `type=unixio,path=${join(dir, "sock")}`, "--terminate"], {
    signal: controller.signal,
    forceKillAfterMs: 2_000,
  });
  child.stdout.resume();
  let errors = "";
  child.stderr.on("data", (d: Buffer) => (errors = (errors + d.toString()).slice(-2048)));
  await appears(dir, "sock", 10_000, child.done).catch((e: Error) => {
    controller.abort();
    throw new Error(`${e.message}${errors.trim() ? `: ${errors.trim().split("\n").pop()}` : ""}`);
  });
  return { socket: join(dir, "sock"), stop: () => controller.abort(), done: child.done };
}

/** Whether a build's VM gets a TPM: a signed PCR 11 prediction is there to be checked. */
export const wantsTpm = (doc: ProfileDocument | undefined) => doc !== undefined && measuredBoot(doc);
