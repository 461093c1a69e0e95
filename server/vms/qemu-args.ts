// The QEMU command line for booting a build's disk image. Pure: what exists on the host
// (firmware, a working KVM) is found elsewhere and passed in.
import type { VmAccel } from "@/server/db/schema";

/** UEFI firmware: read-only code plus a template of the variable store the VM may write. */
export interface Firmware {
  code: string;
  varsTemplate: string;
}

/** Where distributions install OVMF, most specific first (Debian's 4M build, then others). */
export const FIRMWARE_CANDIDATES: readonly Firmware[] = [
  { code: "/usr/share/OVMF/OVMF_CODE_4M.fd", varsTemplate: "/usr/share/OVMF/OVMF_VARS_4M.fd" },
  { code: "/usr/share/OVMF/OVMF_CODE.fd", varsTemplate: "/usr/share/OVMF/OVMF_VARS.fd" },
  { code: "/usr/share/edk2/ovmf/OVMF_CODE.fd", varsTemplate: "/usr/share/edk2/ovmf/OVMF_VARS.fd" },
  { code: "/usr/share/edk2/x64/OVMF_CODE.4m.fd", varsTemplate: "/usr/share/edk2/x64/OVMF_VARS.4m.fd" },
];

/**
 * Secure Boot firmware: OVMF built with SMM (it must run with smm=on and a secure flash), with
 * an empty variable store into which each run enrols the profile's certificate (virt-fw-vars).
 */
export const SECURE_BOOT_FIRMWARE_CANDIDATES: readonly Firmware[] = [
  { code: "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", varsTemplate: "/usr/share/OVMF/OVMF_VARS_4M.fd" },
  { code: "/usr/share/OVMF/OVMF_CODE.secboot.fd", varsTemplate: "/usr/share/OVMF/OVMF_VARS.fd" },
  { code: "/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", varsTemplate: "/usr/share/edk2/ovmf/OVMF_VARS.fd" },
];

export const QEMU_BINARY = "qemu-system-x86_64";
/** The one architecture the VMs run (QEMU_BINARY's), in mkosi's Architecture= terms. */
export const VM_ARCHITECTURE = "x86-64";

/** mkosi's name for this machine's architecture (what an unset Architecture= builds). */
export function hostArchitecture(nodeArch: string = process.arch): string {
  return ({ x64: "x86-64", arm64: "arm64", ia32: "x86", arm: "arm", riscv64: "riscv64", ppc64: "ppc64-le", s390x: "s390x" } as Record<string, string>)[nodeArch] ?? nodeArch;
}

export interface VmOptions {
  memoryMib: number;
  cpus: number;
  /** A user-mode NIC (outbound only); off by default. */
  network: boolean;
}

export interface QemuPlan extends VmOptions {
  accel: VmAccel;
  firmware: Firmware;
  /** The VM's own copy of the variable store (written by the firmware). */
  varsFile: string;
  /** The raw disk image, attached as a snapshot: the VM never changes it. */
  image: string;
  /** Secure Boot firmware: it runs only with SMM and its flash locked to SMM. */
  secureBoot?: boolean;
  /** A swtpm control socket: the VM gets a TPM 2.0 (TIS) on it. */
  tpmSocket?: string;
}

/** QEMU's argv (without the binary). The serial console is QEMU's stdin and stdout. */
export function qemuArgs(p: QemuPlan): string[] {
  const path = (s: string) => s.replaceAll(",", ",,"); // QEMU's option syntax escapes ',' by doubling
  return [
    "-machine", p.secureBoot ? "q35,smm=on" : "q35",
    ...(p.secureBoot ? ["-global", "driver=cfi.pflash01,property=secure,value=on"] : []),
    "-accel", p.accel,
    // Under KVM the host's CPU. Under emulation QEMU's default model, x86-64-v1 (what Debian and
    // Ubuntu are built for): glibc then takes its SSE2 string functions, which TCG runs faster
    // than the SSE4.2 and AVX2 ones of `max` (the Debian 12 preset's login in 49-57 s against
    // 62-68 s, Nehalem's x86-64-v2 65 s; a quarter less CPU).
    "-cpu", p.accel === "kvm" ? "host" : "qemu64",
    "-m", String(p.memoryMib),
    "-smp", String(p.cpus),
    "-nodefaults",
    "-display", "none",
    "-drive", `if=pflash,format=raw,readonly=on,file=${path(p.firmware.code)}`,
    "-drive", `if=pflash,format=raw,file=${path(p.varsFile)}`,
    "-drive", `if=none,id=disk,format=raw,snapshot=on,file=${path(p.image)}`,
    "-device", "virtio-blk-pci,drive=disk",
    ...(p.network ? ["-nic", "user,model=virtio-net-pci"] : ["-nic", "none"]),
    // signal=off: a Ctrl+C typed into the console goes to the VM, not to QEMU.
    "-chardev", "stdio,id=console,signal=off",
    "-serial", "chardev:console",
    "-device", "virtio-rng-pci",
    ...(p.tpmSocket
      ? ["-chardev", `socket,id=chrtpm,path=${path(p.tpmSocket)}`, "-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-tis,tpmdev=tpm0"]
      : []),
  ];
}
