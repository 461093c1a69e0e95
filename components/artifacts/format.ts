// How artifacts read on the page.
import type { ConversionFormat } from "./types";

/** "3f2a9c…e41b": enough to compare by eye; the full digest goes in a title and the clipboard. */
export function shortSha(sha: string): string {
  return sha.length <= 16 ? sha : `${sha.slice(0, 10)}…${sha.slice(-6)}`;
}

export function percent(progress: number): number {
  if (!Number.isFinite(progress)) return 0;
  return Math.max(0, Math.min(100, Math.floor(progress * 100)));
}

/** The conversion buttons, in the order a user is most likely to want them. */
export const CONVERSIONS: readonly { format: ConversionFormat; label: string; help: string }[] = [
  { format: "vdi", label: "VirtualBox (VDI)", help: "qemu-img convert -O vdi: the same image as `VBoxManage convertdd image.raw image.vdi --format VDI`" },
  { format: "vmdk", label: "VMware (VMDK)", help: "qemu-img convert -O vmdk" },
  { format: "qcow2", label: "qcow2", help: "qemu-img convert -O qcow2, for QEMU/KVM, libvirt and Proxmox" },
  { format: "zst", label: "raw .zst", help: "The raw image compressed with zstd: unpack with `zstd -d` and write it with dd" },
  { format: "xz", label: "raw .xz", help: "The raw image compressed with xz: smaller than zstd, slower to make" },
];

export const formatLabel = (f: ConversionFormat): string => CONVERSIONS.find((c) => c.format === f)?.label ?? f;
