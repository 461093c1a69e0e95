// Which of the tools Image Studio drives this machine has, where, and in which version; the
// Debian package of each, and the command that installs what is missing.
import { accessSync, constants, existsSync } from "node:fs";
import { join } from "node:path";
import { runOwned } from "@/server/processes/registry";
import { FIRMWARE_CANDIDATES, SECURE_BOOT_FIRMWARE_CANDIDATES } from "@/server/vms/qemu-args";

/** What a tool is needed for, from the most to the least common. */
export const TOOL_PURPOSES = ["builds", "disk images", "bootable images", "UKIs", "file systems", "verified boot", "conversions", "virtual machines"] as const;
export type ToolPurpose = (typeof TOOL_PURPOSES)[number];

export interface ToolDef {
  name: string;
  /** Where to look: a command name searched in PATH (and the sbin folders), or absolute paths. */
  find: { command: string } | { paths: string[] };
  /** Arguments that make it print its version; for a file, a command that prints the package's version. */
  version: { args: string[]; pattern?: RegExp } | { packageVersion: true };
  /** Debian package that provides it. */
  package: string;
  neededFor: ToolPurpose;
  /** Whether a build of an ordinary profile (a bootable disk with a UKI) needs it. */
  requiredForBuilds: boolean;
  /** Run it with mkosi's Python (ukify is a Python script that needs python3-pefile). */
  python?: boolean;
  /** Oldest major version that works. */
  minMajor?: number;
  /** Packages that fix a tool that is there but fails, by what it says. */
  fixes?: [RegExp, string][];
  /** The package differs between releases (systemd split into more packages): ask dpkg when found. */
  packageVaries?: boolean;
}

// The first version-looking word of the output.
const VERSION = /(\d+(?:\.\d+)+(?:[-~+.][\w.~+-]*)?|\d+)/;
const SYSTEMD = /^systemd (\d+ \([^)]*\))/m;

export const TOOLS: readonly ToolDef[] = [
  { name: "mkosi", find: { command: "mkosi" }, version: { args: ["--version"] }, package: "mkosi", neededFor: "builds", requiredForBuilds: true, minMajor: 24 },
  // mkosi runs every tool in a bubblewrap sandbox.
  { name: "bwrap", find: { command: "bwrap" }, version: { args: ["--version"] }, package: "bubblewrap", neededFor: "builds", requiredForBuilds: true },
  { name: "systemd-repart", find: { command: "systemd-repart" }, version: { args: ["--version"], pattern: SYSTEMD }, package: "systemd-repart", neededFor: "disk images", requiredForBuilds: true, packageVaries: true },
  { name: "sfdisk", find: { command: "sfdisk" }, version: { args: ["--version"] }, package: "fdisk", neededFor: "disk images", requiredForBuilds: true },
  { name: "bootctl", find: { command: "bootctl" }, version: { args: ["--version"], pattern: SYSTEMD }, package: "systemd-boot", neededFor: "bootable images", requiredForBuilds: true, packageVaries: true },
  { name: "depmod", find: { command: "depmod" }, version: { args: ["--version"] }, package: "kmod", neededFor: "bootable images", requiredForBuilds: true },
  { name: "cpio", find: { command: "cpio" }, version: { args: ["--version"] }, package: "cpio", neededFor: "bootable images", requiredForBuilds: true },
  { name: "zstd", find: { command: "zstd" }, version: { args: ["--version"], pattern: /v(\d+\.\d+\.\d+)/ }, package: "zstd", neededFor: "bootable images", requiredForBuilds: true },
  {
    name: "ukify",
    find: { paths: ["/usr/lib/systemd/ukify", "/lib/systemd/ukify", "/usr/bin/ukify"] },
    version: { args: ["--version"], pattern: /ukify (\d+(?: \([^)]*\))?)/ },
    package: "systemd-ukify",
    neededFor: "UKIs",
    requiredForBuilds: true,
    python: true,
    minMajor: 254,
    fixes: [[/pefile/, "python3-pefile"], [/cryptography/, "python3-cryptography"]],
    packageVaries: true,
  },
  { name: "mkfs.vfat", find: { command: "mkfs.vfat" }, version: { args: ["--help"], pattern: /mkfs\.fat (\S+)/ }, package: "dosfstools", neededFor: "file systems", requiredForBuilds: true },
  { name: "mcopy", find: { command: "mcopy" }, version: { args: ["--version"] }, package: "mtools", neededFor: "file systems", requiredForBuilds: true },
  { name: "mksquashfs", find: { command: "mksquashfs" }, version: { args: ["-version"] }, package: "squashfs-tools", neededFor: "file systems", requiredForBuilds: true },
  // mkfs.erofs has no version option; the package version says it.
  { name: "mkfs.erofs", find: { command: "mkfs.erofs" }, version: { packageVersion: true }, package: "erofs-utils", neededFor: "file systems", requiredForBuilds: false },
  { name: "mkfs.ext4", find: { command: "mkfs.ext4" }, version: { args: ["-V"], pattern: /mke2fs (\S+)/ }, package: "e2fsprogs", neededFor: "file systems", requiredForBuilds: false },
  { name: "mkfs.btrfs", find: { command: "mkfs.btrfs" }, version: { args: ["--version"] }, package: "btrfs-progs", neededFor: "file systems", requiredForBuilds: false },
  { name: "mkfs.xfs", find: { command: "mkfs.xfs" }, version: { args: ["-V"] }, package: "xfsprogs", neededFor: "file systems", requiredForBuilds: false },
  // Verified boot (docs/mkosi-notes.md, "Verified boot"): signing, the PCR prediction, keys.
  { name: "sbsign", find: { command: "sbsign" }, version: { args: ["--version"] }, package: "sbsigntool", neededFor: "verified boot", requiredForBuilds: false },
  { name: "sbverify", find: { command: "sbverify" }, version: { args: ["--version"] }, package: "sbsigntool", neededFor: "verified boot", requiredForBuilds: false },
  {
    name: "systemd-measure",
    find: { paths: ["/usr/lib/systemd/systemd-measure", "/lib/systemd/systemd-measure"] },
    version: { args: ["--version"], pattern: SYSTEMD },
    package: "systemd",
    neededFor: "verified boot",
    requiredForBuilds: false,
    packageVaries: true,
  },
  // systemd-measure loads the TPM2 libraries only when it signs: without them it fails then.
  {
    name: "libtss2-esys",
    find: { paths: ["/usr/lib/x86_64-linux-gnu/libtss2-esys.so.0", "/usr/lib/aarch64-linux-gnu/libtss2-esys.so.0", "/usr/lib64/libtss2-esys.so.0"] },
    version: { packageVersion: true },
    package: "tpm2-tools",
    neededFor: "verified boot",
    requiredForBuilds: false,
  },
  { name: "openssl", find: { command: "openssl" }, version: { args: ["version"] }, package: "openssl", neededFor: "verified boot", requiredForBuilds: false },
  { name: "qemu-img", find: { command: "qemu-img" }, version: { args: ["--version"] }, package: "qemu-utils", neededFor: "conversions", requiredForBuilds: false },
  { name: "qemu-system-x86_64", find: { command: "qemu-system-x86_64" }, version: { args: ["--version"] }, package: "qemu-system-x86", neededFor: "virtual machines", requiredForBuilds: false },
  {
    name: "OVMF firmware",
    find: { paths: FIRMWARE_CANDIDATES.map((f) => f.code) },
    version: { packageVersion: true },
    package: "ovmf",
    neededFor: "virtual machines",
    requiredForBuilds: false,
  },
  {
    name: "OVMF Secure Boot firmware",
    find: { paths: SECURE_BOOT_FIRMWARE_CANDIDATES.map((f) => f.code) },
    version: { packageVersion: true },
    package: "ovmf",
    neededFor: "virtual machines",
    requiredForBuilds: false,
  },
  // Enrols a profile's certificate in a VM's variable store.
  { name: "virt-fw-vars", find: { command: "virt-fw-vars" }, version: { packageVersion: true }, package: "python3-virt-firmware", neededFor: "virtual machines", requiredForBuilds: false },
  // The software TPM of a VM with measured boot.
  { name: "swtpm", find: { command: "swtpm" }, version: { args: ["--version"] }, package: "swtpm", neededFor: "virtual machines", requiredForBuilds: false },
];

/** Which tool makes a partition format. */
export const FORMAT_TOOLS: Record<string, string[]> = {
  vfat: ["mkfs.vfat", "mcopy"],
  squashfs: ["mksquashfs"],
  erofs: ["mkfs.erofs"],
  ext4: ["mkfs.ext4"],
  btrfs: ["mkfs.btrfs"],
  xfs: ["mkfs.xfs"],
};

export function toolDef(name: string): ToolDef {
  const def = TOOLS.find((t) => t.name === name);
  if (!def) throw new Error(`unknown tool ${name}`);
  return def;
}

const SEARCH_EXTRA = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

/** Where a tool is, without running it (cheap enough for every build's preflight). */
export function locateTool(def: ToolDef): string | undefined {
  if ("paths" in def.find) return def.find.paths.find((p) => existsSync(p));
  const dirs = [...(process.env.PATH ?? "").split(":").filter(Boolean), ...SEARCH_EXTRA];
  for (const d of dirs) {
    const p = join(d, def.find.command);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

export interface ToolStatus {
  name: string;
  found: boolean;
  /** As the tool reports it; null when missing or when it would not say. */
  version: string | null;
  path: string | null;
  package: string;
  neededFor: ToolPurpose;
  requiredForBuilds: boolean;
  /** Found but not working (ukify without python3-pefile, mkosi older than 24): what is wrong. */
  problem: string | null;
  /** The package that fixes it: `package`, or another one for a tool that is there but fails. */
  fixPackage: string | null;
}

export interface HostTools {
  tools: ToolStatus[];
  /** Packages of the missing or broken tools. */
  missingPackages: string[];
  /** Installs everything Image Studio needs (mkosi from backports on Debian 12). */
  setupCommand: string;
  /** Installs just the missing packages, or null when nothing is missing. */
  installCommand: string | null;
}

export const SETUP_COMMAND = "scripts/setup-host.sh";
/** Packages that Debian 12 has only in bookworm-backports, which the setup script enables. */
export const BACKPORTED_PACKAGES = ["mkosi", "systemd-ukify", "python3-virt-firmware"] as const;

export function installCommand(packages: readonly string[]): string | null {
  // On Debian 12, mkosi and systemd's ukify come from bookworm-backports: the setup script enables it.
  if (packages.some((p) => (BACKPORTED_PACKAGES as readonly string[]).includes(p))) return SETUP_COMMAND;
  return packages.length > 0 ? `apt-get install -y ${[...new Set(packages)].join(" ")}` : null;
}

/** The installed package that holds `path` (trying both sides of the /usr merge), if dpkg knows. */
async function owningPackage(path: string, signal?: AbortSignal): Promise<string | undefined> {
  const candidates = [path, path.startsWith("/usr/") ? path.slice(4) : `/usr${path}`];
  for (const p of candidates) {
    const r = await runOwned("dpkg-query -S", "dpkg-query", ["-S", p], { timeout: 10_000, signal });
    const m = /^([^:\s]+)(?::\S+)?: /.exec(String(r.stdout ?? ""));
    if (r.exitCode === 0 && m) return m[1];
  }
  return undefined;
}

async function probe(def: ToolDef, signal?: AbortSignal): Promise<ToolStatus> {
  const path = locateTool(def) ?? null;
  const pkg = (path && def.packageVaries && (await owningPackage(path, signal))) || def.package;
  const base = { name: def.name, found: path !== null, path, package: pkg, neededFor: def.neededFor, requiredForBuilds: def.requiredForBuilds };
  if (!path) return { ...base, version: null, problem: null, fixPackage: pkg };
  const v = def.version;
  const [file, args] =
    "packageVersion" in v
      ? ["dpkg-query", ["-W", "-f=${Version}", def.package]]
      : def.python
        ? [existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3", [path, ...v.args]]
        : [path, v.args];
  const r = await runOwned(`version of ${def.name}`, file, args, { timeout: 10_000, signal });
  const text = `${String(r.stdout ?? "")}\n${String(r.stderr ?? "")}`.trim();
  const pattern = "pattern" in v && v.pattern ? v.pattern : VERSION;
  const version = pattern.exec(text)?.[1] ?? null;
  // A tool that fails to report its version is there but broken; its last line says why.
  let problem = r.exitCode !== 0 && version === null ? (text.split("\n").filter(Boolean).at(-1) ?? `exit status ${r.exitCode}`) : null;
  const major = version === null ? NaN : Number(/^\d+/.exec(version)?.[0]);
  if (!problem && def.minMajor !== undefined && major < def.minMajor)
    problem = `version ${version} is too old: ${def.minMajor} or later is needed`;
  const fixPackage = problem ? (def.fixes?.find(([re]) => re.test(problem!))?.[1] ?? pkg) : null;
  return { ...base, version, problem, fixPackage };
}

/** The status of the named tools, probed in parallel. */
export function probeTools(names: readonly string[], signal?: AbortSignal): Promise<ToolStatus[]> {
  return Promise.all(names.map((n) => probe(toolDef(n), signal)));
}

/** Every tool's status, probed now; versions are read in parallel, each with a timeout. */
async function probeAll(): Promise<HostTools> {
  const tools = await Promise.all(TOOLS.map((t) => probe(t)));
  const missingPackages = [...new Set(tools.flatMap((t) => (t.fixPackage ? [t.fixPackage] : [])))];
  return { tools, missingPackages, setupCommand: SETUP_COMMAND, installCommand: installCommand(missingPackages) };
}

// One look-up for the server's life (a probe starts a process per tool): the tools change only
// when someone installs one, and then "Check again" asks for a refresh. On globalThis so Next's
// dev reloads share it.
const cache = globalThis as { __imageStudioHostTools?: { result: Promise<HostTools>; settled: boolean } };

/**
 * Every tool's status: the look-up made earlier in this server run, or a new one with
 * `refresh` (which joins a look-up that is still running rather than starting another).
 */
export function hostTools(opts: { refresh?: boolean } = {}): Promise<HostTools> {
  const c = cache.__imageStudioHostTools;
  if (c && (!opts.refresh || !c.settled)) return c.result;
  const entry = { result: probeAll(), settled: false };
  cache.__imageStudioHostTools = entry;
  entry.result.then(
    () => (entry.settled = true),
    () => {
      // A failed look-up is not kept: the next call tries again.
      entry.settled = true;
      if (cache.__imageStudioHostTools === entry) cache.__imageStudioHostTools = undefined;
    },
  );
  return entry.result;
}
