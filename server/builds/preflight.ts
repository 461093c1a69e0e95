// Before a build is queued: can this machine build this profile at all? A user that can run
// mkosi (root, or one with subordinate ids), mkosi 24 or later, the tools the profile's output needs, and disk space. A build that would fail for
// one of these reasons fails here, at once, with what to do, instead of minutes later.
import { statfs } from "node:fs/promises";
import { AppError } from "@/server/errors";
import { identity, type Identity } from "@/server/host/identity";
import { FORMAT_TOOLS, installCommand, probeTools, SETUP_COMMAND, type ToolStatus } from "@/server/host/tools";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { effectivePartitions } from "@/server/mkosi/render";
import { valueOrDefault } from "@/server/mkosi/settings";
import { signingKeyProblem } from "@/server/keys/store";
import type { Problem } from "@/server/mkosi/validate";

/** Free space a build needs in the data folder (a Debian image with its caches takes about 2 GiB). */
export const MIN_FREE_BYTES = 4 * 1024 ** 3;

export interface BuildNeeds {
  tools: { name: string; path: Problem["path"]; why: string }[];
  /** The build should produce a UKI (checked after the build: mkosi 24 falls back silently). */
  uki: boolean;
  /** The output holds a disk image (.raw). */
  disk: boolean;
  /** A package the image lacks for its UKI, with why (what a build without a UKI names as the cause). */
  stubPackage?: { name: string; why: string };
}

/** Debian releases whose systemd-boot still pulls in systemd-boot-efi (the stub's package). */
const STUB_PULLED_IN = ["bullseye", "bookworm"];

/** Pure: the tools a profile's build runs, each with the field that asks for it. */
export function buildNeeds(doc: ProfileDocument): BuildNeeds {
  const s = doc.settings;
  const format = valueOrDefault(s, "Format");
  // Bootable=auto makes the image bootable when it gets a kernel.
  const bootable = format === "uki" || format === "esp" || s.Bootable === "yes" || (s.Bootable !== "no" && (s.Packages ?? []).some((p) => p.startsWith("linux-image")));
  const disk = format === "disk";
  const tools: BuildNeeds["tools"] = [{ name: "mkosi", path: ["host", "tools", "mkosi"], why: "builds images" }, { name: "bwrap", path: ["host", "tools", "bwrap"], why: "mkosi runs every tool in its sandbox" }];
  if (disk || format === "esp") {
    tools.push({ name: "systemd-repart", path: ["settings", "Format"], why: `writes the partitions of a ${format} image` });
    tools.push({ name: "sfdisk", path: ["settings", "Format"], why: `reads the partition table of a ${format} image` });
  }
  if (disk) {
    const parts = effectivePartitions(doc);
    // Without repart definitions mkosi's own layout: an ESP when bootable and an ext4 root.
    const formats: { format: string; path: Problem["path"] }[] =
      parts.length > 0
        ? parts.flatMap((p, i) => (p.format ? [{ format: p.format, path: i < doc.partitions.length ? ["partitions", i, "format"] : ["overlay", "format"] }] : []))
        : [...(bootable ? [{ format: "vfat", path: ["settings", "Bootable"] }] : []), { format: "ext4", path: ["partitions"] }];
    for (const f of formats)
      for (const name of FORMAT_TOOLS[f.format] ?? []) tools.push({ name, path: f.path, why: `makes ${f.format} file systems` });
  }
  const bootloader = valueOrDefault(s, "Bootloader");
  const uki = bootable && (bootloader === "systemd-boot" || bootloader === "uki" || format === "uki");
  if (bootable) {
    tools.push({ name: "depmod", path: ["settings", "Bootable"], why: "prepares the kernel modules of a bootable image" });
    tools.push({ name: "cpio", path: ["settings", "Bootable"], why: "packs the initrd of a bootable image" });
    tools.push({ name: "zstd", path: ["settings", "Bootable"], why: "compresses the initrd of a bootable image" });
    if (bootloader === "systemd-boot") tools.push({ name: "bootctl", path: ["settings", "Bootloader"], why: "installs systemd-boot" });
  }
  if (uki) tools.push({ name: "ukify", path: ["settings", "Bootloader"], why: "builds the unified kernel image (without it mkosi 24 silently leaves the UKI out)" });
  if (s.SecureBoot === true) {
    tools.push({ name: "sbsign", path: ["settings", "SecureBoot"], why: "signs systemd-boot and the UKI for Secure Boot" });
    // mkosi 24 signs the PCR policy with the Secure Boot key, and only with Secure Boot on.
    if (uki && s.SignExpectedPcr !== "no") {
      tools.push({ name: "systemd-measure", path: ["settings", "SignExpectedPcr"], why: "predicts and signs the PCR 11 values of the UKI" });
      tools.push({ name: "libtss2-esys", path: ["settings", "SignExpectedPcr"], why: "is the TPM2 library systemd-measure signs the PCR policy with" });
    }
  }
  const release = s.Release ?? "";
  const stubPackage =
    uki && s.Distribution !== "ubuntu" && !(s.Packages ?? []).includes("systemd-boot-efi") && !STUB_PULLED_IN.includes(release)
      ? { name: "systemd-boot-efi", why: `Debian ${release || "13"} ships systemd-stub in systemd-boot-efi, which systemd-boot no longer pulls in` }
      : undefined;
  return { tools, uki, disk, ...(stubPackage ? { stubPackage } : {}) };
}

export interface PreflightOptions {
  dataDir: string;
  /** For tests: who builds (otherwise the user the server runs as). */
  identity?: Pick<Identity, "root" | "problems">;
  /** For tests: the tools' status (otherwise probed now). */
  tools?: ToolStatus[];
  /** For tests: the free bytes (otherwise read from the file system). */
  freeBytes?: number;
}

/** Throws PRECONDITION_FAILED naming everything that stops this build, and how to fix it. */
export async function preflight(doc: ProfileDocument, opts: PreflightOptions): Promise<BuildNeeds> {
  const needs = buildNeeds(doc);
  const problems: Problem[] = [];
  const packages: string[] = [];

  // Root builds as it is; another user needs subordinate ids for mkosi's user namespace.
  const who = opts.identity ?? identity();
  for (const message of who.problems) problems.push({ path: ["host", "user"], message });

  const names = [...new Set(needs.tools.map((t) => t.name))];
  const status = opts.tools ?? (await probeTools(names));
  for (const name of names) {
    const t = status.find((x) => x.name === name);
    if (!t) continue;
    const need = needs.tools.find((n) => n.name === name)!;
    if (!t.found) {
      problems.push({ path: need.path, message: `${name} is missing (it ${need.why}): install the ${t.package} package` });
      packages.push(t.package);
    } else if (t.problem) {
      problems.push({ path: need.path, message: `${name} does not work (${t.problem}): install the ${t.fixPackage ?? t.package} package` });
      packages.push(t.fixPackage ?? t.package);
    }
  }

  // The signing key must be in the store, unexpired and match its certificate.
  if (doc.signingKey !== undefined) {
    const problem = await signingKeyProblem(opts.dataDir, doc.signingKey);
    if (problem) throw AppError.field(["signingKey"], problem);
  }

  const free = opts.freeBytes ?? (await freeBytes(opts.dataDir));
  if (free !== undefined && free < MIN_FREE_BYTES)
    problems.push({
      path: ["host", "diskSpace"],
      message: `only ${(free / 1024 ** 3).toFixed(1)} GiB free in ${opts.dataDir}; a build needs ${MIN_FREE_BYTES / 1024 ** 3} GiB: delete old builds or move the data folder (IMAGE_STUDIO_DATA)`,
    });

  if (problems.length > 0) {
    const install = installCommand(packages);
    const todo = install ? ` To install what is missing, run as root: ${install}${install === SETUP_COMMAND ? "" : ` (or ${SETUP_COMMAND} for everything)`}.` : "";
    throw new AppError(
      "PRECONDITION_FAILED",
      `this machine cannot build this profile yet: ${problems.map((p) => p.message).join("; ")}.${todo}`,
      problems,
      { missingPackages: [...new Set(packages)], installCommand: install, setupCommand: SETUP_COMMAND },
    );
  }
  return needs;
}

async function freeBytes(dir: string): Promise<number | undefined> {
  // The data folder may not exist yet: its nearest existing parent is on the same file system.
  for (let d = dir; ; ) {
    try {
      const s = await statfs(d);
      return s.bavail * s.bsize;
    } catch {
      const parent = d.replace(/\/[^/]*\/?$/, "") || "/";
      if (parent === d) return undefined;
      d = parent;
    }
  }
}
