// Starting points for a new profile. Pure: facts about the host (its apt sources) come in
// as an argument, so no mirror address is ever written here.
import { initialSettings } from "./settings";
import { debianReposFor, reposForRelease } from "./apt-sources";
import { profileDocumentSchema, type ProfileDocument, type ProfileDocumentInput, type Repository } from "./profile";
import { withVerityRoot } from "./verity";

export interface HostFacts {
  /** The host's own apt entries, used as the default mirror for its distribution. */
  aptRepositories: Repository[];
  /** ID from the host's os-release, e.g. debian. */
  osId?: string;
}

export interface Preset {
  id: string;
  name: string;
  description: string;
  build: (host: HostFacts) => ProfileDocument;
}

// An ESP fed from both /boot and /efi (systemd-boot and the UKI are found there), and a
// read-only squashfs root holding the whole tree, found at boot by GPT auto-discovery. zstd
// at level 3 makes the root in 2 s where mksquashfs's default gzip took 77 s on two cores, at
// about the same size (docs/mkosi-notes.md, "Squashfs compression").
type PartitionInput = ProfileDocumentInput["partitions"] extends (infer P)[] | undefined ? P : never;
const ESP: PartitionInput = { type: "esp", format: "vfat", label: "esp", copyFiles: ["/boot:/", "/efi:/"], sizeMin: "512M", sizeMax: "512M" };
const WHOLE_TREE: PartitionInput = { type: "root", label: "root", copyFiles: ["/"], minimize: "best" };
const ROOT: PartitionInput = { ...WHOLE_TREE, format: "squashfs", compression: "zstd", compressionLevel: 3 };
const IMMUTABLE_LAYOUT: ProfileDocumentInput["partitions"] = [ESP, ROOT];

// mkosi's Autologin= covers tty1 and hvc0 but not the serial console; this drop-in does.
const SERIAL_AUTOLOGIN = {
  path: "etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf",
  content: [
    "[Service]",
    "ExecStart=",
    "ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 %I $TERM",
    "",
  ].join("\n"),
  mode: "0644" as const,
};

// mkosi 24 puts every kernel module into the UKI's initrd (122 MB of Debian's 125 MB UKI):
// mkosi-initrd's own list plus the disk drivers it lacks (virtio-blk, USB sticks) mounts the
// root, and the root has every module for what comes after (docs/mkosi-notes.md, "The kernel
// modules initrd").
const INITRD_MODULES = {
  KernelModulesInitrdExclude: [".*"],
  KernelModulesInitrdInclude: ["default", "/virtio_blk.ko", "/usb-storage.ko", "/uas.ko", "/xhci-pci.ko"],
};

// Settled at build time so systemd-firstboot never stops the boot at a prompt.
const FIRSTBOOT_SETTLED = { Locale: "C.UTF-8", Timezone: "UTC", RootPassword: "root" } as const;
const KERNEL_CMDLINE = ["console=ttyS0", "systemd.firstboot=off"];

// Debian 13 ships systemd-stub in systemd-boot-efi, which systemd-boot no longer pulls in:
// without it mkosi 24 finds no stub and installs boot loader entries instead of a UKI. And
// login is no longer essential, so mkosi leaves it out: agetty then cannot start a session
// (docs/mkosi-notes.md, "Verified boot").
const DEBIAN_13_BOOT = ["systemd", "systemd-sysv", "systemd-boot", "systemd-boot-efi", "udev", "dbus", "login", "linux-image-amd64"];
// systemd-pcrphase extends PCR 11 at each boot phase through libtss2, which systemd only dlopen()s.
const DEBIAN_13_TPM = ["libtss2-esys-3.0.2-0t64", "libtss2-mu-4.0.1-0t64", "libtss2-rc0t64", "libtss2-tcti-device0t64"];

function debian13(host: HostFacts, opts: { id: string; root: "squashfs" | "erofs" }): ProfileDocument {
  const repos = host.osId === "debian" ? debianReposFor(host.aptRepositories, "trixie") : [];
  return profileDocumentSchema.parse({
    settings: {
      ...initialSettings(),
      Distribution: "debian",
      Release: "trixie",
      Architecture: "x86-64",
      ...(repos[0] ? { Mirror: repos[0].uri } : {}),
      Format: "disk",
      SplitArtifacts: true,
      ImageId: opts.id,
      ImageVersion: "1",
      Packages: DEBIAN_13_BOOT,
      WithDocs: false,
      Bootable: "yes",
      Bootloader: "systemd-boot",
      KernelCommandLine: KERNEL_CMDLINE,
      ...INITRD_MODULES,
      Hostname: opts.id,
      ...FIRSTBOOT_SETTLED,
      Autologin: true,
      Checksum: true,
    },
    repositories: repos,
    partitions: [ESP, opts.root === "squashfs" ? ROOT : { ...WHOLE_TREE, format: opts.root }],
    overlay: { scheme: "tmpfs" },
    extraFiles: [SERIAL_AUTOLOGIN],
  });
}

export const PRESETS: readonly Preset[] = [
  {
    id: "immutable-debian-12",
    name: "Immutable Debian 12",
    description: "Debian bookworm, squashfs root with a tmpfs overlay, systemd-boot and a UKI. Builds on this machine.",
    build: (host) => {
      const repos = host.osId === "debian" ? reposForRelease(host.aptRepositories, "bookworm") : [];
      return profileDocumentSchema.parse({
        settings: {
          ...initialSettings(),
          Distribution: "debian",
          Release: "bookworm",
          Architecture: "x86-64",
          ...(repos[0] ? { Mirror: repos[0].uri } : {}),
          Format: "disk",
          SplitArtifacts: true,
          ImageId: "immutable-debian",
          ImageVersion: "1",
          Packages: ["systemd", "systemd-sysv", "systemd-boot", "udev", "dbus", "linux-image-amd64"],
          WithDocs: false,
          Bootable: "yes",
          Bootloader: "systemd-boot",
          KernelCommandLine: KERNEL_CMDLINE,
          ...INITRD_MODULES,
          Hostname: "immutable-debian",
          ...FIRSTBOOT_SETTLED,
          Autologin: true,
          Checksum: true,
        },
        repositories: repos,
        partitions: IMMUTABLE_LAYOUT,
        overlay: { scheme: "tmpfs" },
        extraFiles: [SERIAL_AUTOLOGIN],
      });
    },
  },
  {
    id: "immutable-debian-13",
    name: "Immutable Debian 13",
    description: "Debian trixie, squashfs root with a tmpfs overlay, systemd-boot and a UKI. Builds on this machine.",
    build: (host) => debian13(host, { id: "immutable-debian", root: "squashfs" }),
  },
  {
    id: "immutable-debian-13-verified-boot",
    name: "Immutable Debian 13, verified boot",
    description:
      "Debian trixie with an erofs root under dm-verity and a signed root hash, Secure Boot with a key of its own (generated when the profile is made), a signed PCR 11 prediction for measured boot, and a tmpfs overlay.",
    build: (host) => {
      const base = debian13(host, { id: "verified-debian", root: "erofs" });
      const doc = withVerityRoot(base, "signed");
      return profileDocumentSchema.parse({
        ...doc,
        // Verity= is left to its default (auto): only mkosi 25 and later have it, so a 24 export would lose it.
        settings: { ...doc.settings, Packages: [...DEBIAN_13_BOOT, ...DEBIAN_13_TPM], SecureBoot: true, SignExpectedPcr: "yes" },
      });
    },
  },
  {
    id: "immutable-ubuntu-24.04",
    name: "Immutable Ubuntu 24.04",
    description: "Ubuntu noble, the original project's image: squashfs root, tmpfs overlay, systemd-boot, UKI, autologin.",
    // This host's apt sources are not Ubuntu's, so mkosi's own mirror and list are kept.
    build: () =>
      profileDocumentSchema.parse({
        settings: {
          ...initialSettings(),
          Distribution: "ubuntu",
          Release: "noble",
          Architecture: "x86-64",
          Repositories: ["main", "universe"],
          Format: "disk",
          SplitArtifacts: true,
          ImageId: "immutable-ubuntu",
          ImageVersion: "1",
          Packages: ["systemd", "systemd-sysv", "systemd-boot", "systemd-boot-efi", "udev", "dbus", "linux-image-generic"],
          WithDocs: false,
          Bootable: "yes",
          Bootloader: "systemd-boot",
          KernelCommandLine: KERNEL_CMDLINE,
          ...INITRD_MODULES,
          Hostname: "immutable-ubuntu",
          ...FIRSTBOOT_SETTLED,
          Autologin: true,
          Checksum: true,
        },
        partitions: IMMUTABLE_LAYOUT,
        overlay: { scheme: "tmpfs" },
        extraFiles: [SERIAL_AUTOLOGIN],
      }),
  },
];

export function findPreset(id: string): Preset | undefined {
  return PRESETS.find((p) => p.id === id);
}
