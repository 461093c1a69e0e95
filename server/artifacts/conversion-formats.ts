// What each conversion of a disk image is: its words and the command that makes it. Pure, so
// the page reads the same table the server runs (conversions.ts) and lists (kinds.ts).
// The qemu-img options were checked with `qemu-img compare` (docs/mkosi-notes.md, "Conversions").
import type { ConversionFormat } from "@/server/db/schema";

export interface ConversionFormatInfo {
  /** On the button. */
  label: string;
  /** For the resulting file in the list of outputs (compressed copies are named by compressor there). */
  fileLabel?: string;
  /** Either qemu-img's output options (after `-f raw`), or the compressor's argv reading stdin. */
  command: { qemuImg: readonly string[] } | { compressor: readonly string[] };
  /** What it is for, after the command in the button's help. */
  use: string;
}

export const CONVERSION_FORMAT_INFO: Readonly<Record<ConversionFormat, ConversionFormatInfo>> = {
  vdi: {
    label: "VirtualBox (VDI)",
    fileLabel: "VirtualBox disk image (VDI)",
    // Dynamic size: the same result as `VBoxManage convertdd image.raw image.vdi --format VDI`.
    command: { qemuImg: ["-O", "vdi", "-o", "static=off"] },
    use: "the same image as `VBoxManage convertdd image.raw image.vdi --format VDI`",
  },
  vmdk: {
    label: "VMware (VMDK)",
    fileLabel: "VMware disk image (VMDK, stream-optimized)",
    command: { qemuImg: ["-O", "vmdk", "-o", "subformat=streamOptimized"] },
    use: "a stream-optimised VMDK, the kind VMware and VirtualBox import",
  },
  qcow2: {
    label: "qcow2",
    fileLabel: "QEMU disk image (qcow2)",
    command: { qemuImg: ["-O", "qcow2"] },
    use: "for QEMU/KVM, libvirt and Proxmox",
  },
  zst: {
    label: "raw .zst",
    command: { compressor: ["zstd", "-T0", "-q", "-c"] },
    use: "the raw image compressed with zstd: unpack with `zstd -d` and write it with dd",
  },
  xz: {
    label: "raw .xz",
    command: { compressor: ["xz", "-T0", "-c"] },
    use: "the raw image compressed with xz: smaller than zstd, slower to make",
  },
};

/** The order of the buttons: the one a user most likely wants first. */
export const CONVERSION_ORDER: readonly ConversionFormat[] = ["vdi", "vmdk", "qcow2", "zst", "xz"];

/** The command as a user would type it, for help texts. */
export function conversionCommandLine(format: ConversionFormat): string {
  const c = CONVERSION_FORMAT_INFO[format].command;
  return "qemuImg" in c ? `qemu-img convert -f raw ${c.qemuImg.join(" ")} image.raw image.${format}` : `${c.compressor.join(" ")} < image.raw > image.raw.${format}`;
}
