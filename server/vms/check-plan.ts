// What the boot check proves about an image, read from the profile the build was made from,
// and how the console output of each probe is judged. Pure: the driver that types the
// commands and collects their output lives in boot-check.ts.
import { ROOT_X86_64_TYPE } from "@/server/artifacts/partitions";
import type { CheckItem } from "@/server/db/schema";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { HASHED_PASSWORD_PREFIX, valueOrDefault } from "@/server/mkosi/settings";

/** The vendor GUID under which systemd-boot and systemd-stub publish EFI variables. */
const LOADER_GUID = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";
/** "<hostname> login: " from agetty. */
export const LOGIN_PROMPT = /(?:^|\n)[^\n]*\blogin: /;
/** What agetty prints after the prompt when it logs in by itself. */
export const AUTOLOGIN = /\s*root \(automatic login\)/;
/** A file the check writes to prove (or disprove) that a write survives a reboot. */
export const PROBE_NAME = ".image-studio-boot-check";

export interface CheckPlan {
  overlay: ProfileDocument["overlay"];
  /** File system of the root partition, when the profile has one. */
  rootFormat: string | undefined;
  systemdBoot: boolean;
  uki: boolean;
  login: { autologin: boolean; password: string | undefined };
  /** A second boot is needed to see what a reboot keeps. */
  reboot: boolean;
}

/** UnifiedKernelImages= values that turn the UKI off: mkosi 24's booleans and ConfigFeature, 26's none. */
const NO_UKI = /^(0|false|no|n|f|off|never|disabled|none)$/i;

export function checkPlan(doc: ProfileDocument): CheckPlan {
  const s = doc.settings;
  const root = doc.partitions.find((p) => p.type === "root");
  const systemdBoot = valueOrDefault(s, "Bootloader") === "systemd-boot";
  const password = s.RootPassword !== undefined && !s.RootPassword.startsWith(HASHED_PASSWORD_PREFIX) ? s.RootPassword : undefined;
  // The model leaves UnifiedKernelImages= out, so an imported one is a raw setting; the last one counts.
  const ukiSetting = doc.rawSettings.filter((r) => r.key === "UnifiedKernelImages").pop()?.value.trim();
  return {
    overlay: doc.overlay,
    rootFormat: root?.format,
    systemdBoot,
    // With systemd-boot mkosi builds a UKI unless told not to.
    uki: systemdBoot && !(ukiSetting !== undefined && NO_UKI.test(ukiSetting)),
    login: { autologin: s.Autologin === true, password },
    reboot: doc.overlay.scheme !== "readonly",
  };
}

/** A command typed at the VM's shell; its output and exit status are judged by `judge`. */
export interface Probe {
  id: string;
  command: string;
}

export interface ProbeResult {
  output: string;
  status: number;
}

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
// An efivarfs file starts with 4 bytes of attributes; the value is UTF-16 (NULs dropped).
// efivarfs cannot seek, so the file is read through a pipe.
const efiVar = (name: string) => `cat /sys/firmware/efi/efivars/${name}-${LOADER_GUID} | tail -c +5 | tr -d '\\000'`;

/** Probes of the first boot. `nonce` is what gets written where a reboot is to be tested. */
export function firstBootProbes(plan: CheckPlan, nonce: string): Probe[] {
  const probes: Probe[] = [
    // Kernel messages on the console would land in the middle of command output.
    { id: "quiet", command: "dmesg -n 1" },
    { id: "root-mount", command: "findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS /" },
    { id: "partitions", command: "lsblk -rn -o NAME,PARTTYPE,FSTYPE" },
    plan.overlay.scheme === "tmpfs"
      ? { id: "root-write", command: `echo ${nonce} > /${PROBE_NAME}` }
      : { id: "root-write", command: `touch /${PROBE_NAME}` },
  ];
  if (plan.overlay.scheme === "persistent") {
    const mp = plan.overlay.mountPoint;
    probes.push(
      { id: "persistent-mount", command: `findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS ${q(mp)}` },
      { id: "persistent-write", command: `echo ${nonce} > ${q(`${mp}/${PROBE_NAME}`)} && sync` },
    );
  }
  if (plan.systemdBoot) probes.push({ id: "loader", command: efiVar("LoaderInfo") });
  if (plan.uki) probes.push({ id: "stub", command: efiVar("StubInfo") });
  return probes;
}

/** Probes after the reboot. */
export function secondBootProbes(plan: CheckPlan): Probe[] {
  if (plan.overlay.scheme === "tmpfs") return [{ id: "root-read", command: `cat /${PROBE_NAME}` }];
  if (plan.overlay.scheme === "persistent") return [{ id: "persistent-read", command: `cat ${q(`${plan.overlay.mountPoint}/${PROBE_NAME}`)}` }];
  return [];
}

interface Mount {
  target: string;
  source: string;
  fstype: string;
  options: string[];
}

/** One `findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS` line (raw mode escapes spaces as \x20). */
export function parseMount(output: string): Mount | undefined {
  const line = output.split("\n").find((l) => l.trim() !== "");
  const f = line?.trim().split(/\s+/);
  if (!f || f.length < 4) return undefined;
  return { target: f[0]!, source: f[1]!, fstype: f[2]!, options: f[3]!.split(",") };
}

/** The file system of the first partition of the x86-64 root type, from `lsblk -rn -o NAME,PARTTYPE,FSTYPE`. */
export function rootPartitionFs(output: string): { name: string; fstype: string } | undefined {
  for (const line of output.split("\n")) {
    const [name, type, fstype] = line.trim().split(/\s+/);
    if (name && type?.toLowerCase() === ROOT_X86_64_TYPE) return { name, fstype: fstype ?? "" };
  }
  return undefined;
}

const item = (id: string, label: string, passed: boolean, detail: string): CheckItem => ({ id, label, passed, detail });
const firstLine = (s: string) => s.split("\n").find((l) => l.trim() !== "")?.trim() ?? "";
const shown = (s: string) => (firstLine(s) ? `'${firstLine(s).slice(0, 200)}'` : "nothing");

/** Judges what the probes printed. A probe missing from `results` (the VM went away) fails its items. */
export function judge(plan: CheckPlan, nonce: string, results: ReadonlyMap<string, ProbeResult>): CheckItem[] {
  const items: CheckItem[] = [];
  const r = (id: string) => results.get(id);
  const lost = "the console gave no answer to this probe";

  const rootMount = r("root-mount");
  const mount = rootMount ? parseMount(rootMount.output) : undefined;
  if (plan.rootFormat) {
    const parts = r("partitions");
    const rootPart = parts ? rootPartitionFs(parts.output) : undefined;
    const fs = rootPart?.fstype || (plan.overlay.scheme !== "tmpfs" ? mount?.fstype : undefined);
    items.push(
      item(
        "root-format",
        `Root file system is ${plan.rootFormat}`,
        fs === plan.rootFormat,
        !parts ? lost : rootPart ? `the root partition ${rootPart.name} holds ${fs || "no file system lsblk knows"}` : "no partition of the x86-64 root type was found",
      ),
    );
  }

  const write = r("root-write");
  if (plan.overlay.scheme === "tmpfs") {
    const overlaid = mount?.fstype === "overlay" && mount.options.some((o) => o.startsWith("upperdir=/run/"));
    items.push(
      item("root-overlay", "/ is a tmpfs overlay over the image", overlaid, mount ? `/ is ${mount.fstype} (${mount.options.filter((o) => /dir=/.test(o)).join(", ") || mount.options.join(",")})` : lost),
      item("root-writable", "/ is writable through the overlay", write?.status === 0, write ? (write.status === 0 ? `wrote /${PROBE_NAME}` : `the write failed: ${shown(write.output)}`) : lost),
    );
    const read = r("root-read");
    items.push(
      item(
        "overlay-discarded",
        "A write to / is gone after a reboot",
        read !== undefined && read.status !== 0 && write?.status === 0,
        !read ? lost : read.status === 0 ? `/${PROBE_NAME} is still there after the reboot: ${shown(read.output)}` : `/${PROBE_NAME} is gone after the reboot`,
      ),
    );
  } else {
    const ro = mount?.options.includes("ro") ?? false;
    items.push(
      item(
        "root-read-only",
        "/ is read-only",
        write !== undefined && write.status !== 0 && ro,
        !write || !mount ? lost : write.status === 0 ? `a write to / succeeded (/ is ${mount.fstype}, ${mount.options[0]})` : `/ is ${mount.fstype} mounted ${ro ? "ro" : "rw"}; a write failed: ${shown(write.output)}`,
      ),
    );
  }

  if (plan.overlay.scheme === "persistent") {
    const o = plan.overlay;
    const pm = r("persistent-mount");
    const pmount = pm ? parseMount(pm.output) : undefined;
    const ok = pmount !== undefined && pmount.target === o.mountPoint && pmount.fstype === o.format && pmount.options.includes("rw");
    items.push(
      item(
        "persistent-mounted",
        `${o.mountPoint} is the persistent ${o.format} partition, writable`,
        ok,
        !pm ? lost : pmount ? `${pmount.target} is ${pmount.source} (${pmount.fstype}, ${pmount.options[0]})` : `nothing is mounted at ${o.mountPoint}`,
      ),
    );
    const w = r("persistent-write");
    const read = r("persistent-read");
    items.push(
      item(
        "persistent-kept",
        `A file in ${o.mountPoint} survives a reboot`,
        w?.status === 0 && read?.status === 0 && firstLine(read.output) === nonce,
        !w || !read ? lost : w.status !== 0 ? `the write failed: ${shown(w.output)}` : read.status === 0 && firstLine(read.output) === nonce ? "the file written before the reboot was read back after it" : `after the reboot the file held ${shown(read.output)}`,
      ),
    );
  }

  if (plan.systemdBoot) {
    const l = r("loader");
    items.push(item("systemd-boot", "Booted through systemd-boot", !!l && /^systemd-boot\b/.test(firstLine(l.output)), l ? `the boot loader says ${shown(l.output)}` : lost));
  }
  if (plan.uki) {
    const st = r("stub");
    items.push(item("uki", "Booted a unified kernel image (systemd-stub)", !!st && /^systemd-stub\b/.test(firstLine(st.output)), st ? `the stub says ${shown(st.output)}` : lost));
  }
  return items;
}
