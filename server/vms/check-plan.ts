// What the boot check proves about an image, read from the profile the build was made from,
// and how the console output of each probe is judged. Pure: the driver that types the
// commands and collects their output lives in boot-check.ts.
import { ROOT_X86_64_TYPE } from "@/server/artifacts/partitions";
import type { CheckItem } from "@/server/db/schema";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { HASHED_PASSWORD_PREFIX, valueOrDefault } from "@/server/mkosi/settings";
import { measuredBoot, verityRoot } from "@/server/mkosi/verity";

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
  /** Secure Boot: the firmware must enforce it, and refuse a UKI signed by another key. */
  secureBoot: boolean;
  /** The root is a dm-verity device: it must be, with the build's root hash, and catch a changed byte. */
  verity: boolean;
  /** The UKI predicts PCR 11 and the VM has a TPM: the value must match. */
  measured: boolean;
  /** What the build recorded (filled in from its outputs before the check). */
  expected: { rootHash: string | null; pcr11: { phase: string; value: string }[] };
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
    secureBoot: doc.settings.SecureBoot === true,
    verity: verityRoot(doc) !== undefined,
    measured: measuredBoot(doc),
    expected: { rootHash: null, pcr11: [] },
  };
}

/** The EFI global variables' vendor GUID (SecureBoot, SetupMode). */
export const EFI_GLOBAL_GUID = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
/** The file the root tamper changes a byte of: the kernel image, read by nothing during boot. */
export const TAMPER_READ = "for f in /usr/lib/modules/*/vmlinuz /boot/vmlinuz-*; do [ -e \"$f\" ] || continue; if cat \"$f\" > /dev/null; then echo \"read $f\"; else echo \"FAILED $f\"; fi; done";
/** What the console shows when the firmware or systemd-boot refuses an image that is not signed by a trusted key. */
export const REFUSED = /Security Violation|Access Denied|not signed|verification failed/i;
/** What the console shows once a kernel runs. */
export const KERNEL_STARTED = /Linux version \d|EFI stub: /;

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
  if (plan.secureBoot)
    probes.push({
      id: "secure-boot",
      // The value is the last byte (after 4 bytes of attributes); efivarfs reads only through a pipe.
      command: `for v in SecureBoot SetupMode; do echo "$v $(cat /sys/firmware/efi/efivars/$v-${EFI_GLOBAL_GUID} | od -An -tu1 | tr -s ' ' | sed 's/^ //')"; done`,
    });
  if (plan.verity) {
    probes.push({
      id: "verity",
      command:
        "for d in /sys/block/dm-*; do [ -e \"$d/dm/name\" ] && echo \"dm $(cat $d/dm/name) $(cat $d/dm/uuid) ro=$(cat $d/ro)\"; done; findmnt -rn -o SOURCE,TARGET,FSTYPE,OPTIONS -t erofs,squashfs,ext4,btrfs,xfs; tr ' ' '\\n' < /proc/cmdline | grep '^roothash='",
    });
    probes.push({ id: "tamper-baseline", command: TAMPER_READ });
  }
  if (plan.measured) probes.push({ id: "pcr11", command: "cat /sys/class/tpm/tpm0/pcr-sha256/11" });
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
  items.push(...verifiedBootItems(plan, results));
  return items;
}

/** The last number of a "Name 7 0 0 0 1" line (an EFI variable's value byte). */
function efiByte(output: string, name: string): number | undefined {
  const line = output.split("\n").find((l) => l.trim().startsWith(`${name} `));
  const n = line?.trim().split(/\s+/).pop();
  return n !== undefined && /^\d+$/.test(n) ? Number(n) : undefined;
}

/** Secure Boot, the verity root and PCR 11 from the first boot's probes. */
export function verifiedBootItems(plan: CheckPlan, results: ReadonlyMap<string, ProbeResult>): CheckItem[] {
  const items: CheckItem[] = [];
  const lost = "the console gave no answer to this probe";
  if (plan.secureBoot) {
    const sb = results.get("secure-boot");
    const on = sb ? efiByte(sb.output, "SecureBoot") : undefined;
    const setup = sb ? efiByte(sb.output, "SetupMode") : undefined;
    items.push(
      item(
        "secure-boot",
        "Secure Boot is on and enforcing",
        on === 1 && setup === 0,
        !sb ? lost : `SecureBoot=${on ?? "unreadable"} (1 is on), SetupMode=${setup ?? "unreadable"} (0: keys enrolled, so signatures are enforced)`,
      ),
    );
  }
  if (plan.verity) {
    const v = results.get("verity");
    const text = v?.output ?? "";
    const dm = text.split("\n").map((l) => l.trim().split(/\s+/)).filter((f) => f[0] === "dm");
    const verityDev = dm.find((f) => /^CRYPT-VERITY-/.test(f[2] ?? ""));
    const mounted = text.split("\n").map((l) => l.trim().split(/\s+/)).find((f) => verityDev && (f[0] === `/dev/mapper/${verityDev[1]}` || /^\/dev\/dm-\d+$/.test(f[0] ?? "")));
    const onCmdline = /(?:^|\n)roothash=([0-9a-f]{64})/.exec(text)?.[1];
    const want = plan.expected.rootHash;
    // Under a tmpfs overlay the read-only root may only be the overlay's lower layer, not a mount of its own.
    const ok = !!verityDev && onCmdline !== undefined && onCmdline === want;
    items.push(
      item(
        "verity-root",
        "/ sits on dm-verity, with the root hash the build recorded",
        ok,
        !v
          ? lost
          : [
              verityDev ? `dm device ${verityDev[1]} is ${verityDev[2]} (${verityDev[3]})` : "no dm-verity device (no dm uuid CRYPT-VERITY-*)",
              mounted ? `${mounted[0]} is mounted at ${mounted[1]} (${mounted[2]})` : "its file system is not mounted on its own (the overlay's lower layer)",
              onCmdline ? `roothash=${onCmdline} on /proc/cmdline` : "no roothash= on /proc/cmdline",
              want ? (onCmdline === want ? "equal to the build's" : `the build recorded ${want}`) : "the build recorded no root hash",
            ].join("; "),
      ),
    );
  }
  if (plan.measured) {
    const p = results.get("pcr11");
    const value = p?.output.trim().toLowerCase() ?? "";
    const final = plan.expected.pcr11.at(-1);
    const matched = plan.expected.pcr11.find((x) => x.value === value);
    items.push(
      item(
        "pcr11",
        "PCR 11 in the VM equals the value the build predicted",
        !!final && value === final.value,
        !p || p.status !== 0
          ? p ? `the TPM's PCR 11 could not be read: ${shown(p.output)}` : lost
          : !final
            ? `PCR 11 is ${value}, but the UKI has no signed prediction (.pcrsig)`
            : value === final.value
              ? `PCR 11 is ${value}, the prediction for ${final.phase}`
              : `PCR 11 is ${value}; the build predicted ${final.value} for ${final.phase}${matched ? ` (it equals the prediction for ${matched.phase})` : ""}`,
      ),
    );
  }
  return items;
}

/** Judges the read of the kernel file on the untouched disk and on the copy with a changed byte. */
export function tamperRootItem(baseline: ProbeResult | undefined, tampered: { result?: ProbeResult; console: string; failure?: string; description: string }): CheckItem {
  const clean = baseline !== undefined && /^read /m.test(baseline.output) && !/^FAILED /m.test(baseline.output);
  const caughtRead = tampered.result !== undefined && /^FAILED /m.test(tampered.result.output);
  const lines = tampered.console.split("\n");
  // The kernel's own word: "device-mapper: verity: 254:0: data block 31337 is corrupted".
  const verityLine = (lines.find((l) => /device-mapper: verity/i.test(l) && /corrupt/i.test(l)) ?? lines.find((l) => /verity/i.test(l) && /corrupt/i.test(l)))?.trim();
  // The boot stopping on the changed block counts as caught too, when the console says it was verity.
  const caughtBoot = tampered.result === undefined && verityLine !== undefined;
  const detail = [
    `untouched disk: ${baseline ? firstLine(baseline.output) || "no output" : "the read was not run"}`,
    `${tampered.description}: ${tampered.result ? tampered.result.output.trim().split("\n").join(", ") || "no output" : tampered.failure ?? "no answer"}`,
    ...(verityLine ? [`kernel: ${verityLine.slice(0, 200)}`] : []),
  ].join("; ");
  return item("tamper-root", "A byte changed in the root file system's data is caught (the read fails)", clean && (caughtRead || caughtBoot), detail);
}

/** Judges the boot of the copy whose UKI is signed by another key. */
export function tamperUkiItem(outcome: { refusal?: string; kernelStarted: boolean; waitedS: number; description: string; failure?: string }): CheckItem {
  const passed = !outcome.kernelStarted && (outcome.refusal !== undefined || outcome.failure === undefined);
  const what = outcome.kernelStarted
    ? "the kernel started: the firmware ran a UKI it should have refused"
    : outcome.refusal
      ? `refused: '${outcome.refusal.trim().slice(0, 200)}'`
      : outcome.failure ?? `no kernel started within ${outcome.waitedS} s`;
  return item("tamper-uki", "A UKI signed with another key does not boot", passed, `${outcome.description}: ${what}`);
}
