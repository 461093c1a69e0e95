// Starting points for a new profile. Pure: facts about the host (its apt sources) come in
// as an argument, so no mirror address is ever written here.
import { reposForRelease } from "./apt-sources";
import { initialSettings } from "./settings";
import { profileDocumentSchema, type ProfileDocument, type ProfileDocumentInput, type Repository } from "./profile";

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
// read-only squashfs root holding the whole tree, found at boot by GPT auto-discovery.
const IMMUTABLE_LAYOUT: ProfileDocumentInput["partitions"] = [
  { type: "esp", format: "vfat", label: "esp", copyFiles: ["/boot:/", "/efi:/"], sizeMin: "512M", sizeMax: "512M" },
  { type: "root", format: "squashfs", label: "root", copyFiles: ["/"], minimize: "best" },
];

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

// Settled at build time so systemd-firstboot never stops the boot at a prompt.
const FIRSTBOOT_SETTLED = { Locale: "C.UTF-8", Timezone: "UTC", RootPassword: "root" } as const;
const KERNEL_CMDLINE = ["console=ttyS0", "systemd.firstboot=off"];

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
