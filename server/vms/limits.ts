// Limits the VM API enforces and the page states: kept here, with no I/O, so the browser can
// import them instead of restating them (manager.ts and boot-check.ts pull in Node modules).

/** Largest piece of typed console input taken in one vms.input call, in UTF-8 bytes. */
export const MAX_INPUT_BYTES = 64 * 1024;

/**
 * Typed console input a VM takes: one full piece at once, then this many bytes a second
 * (far beyond typing, and a paste goes through at that pace).
 */
export const INPUT_RATE = { bytesPerSecond: 16 * 1024, burstBytes: MAX_INPUT_BYTES } as const;

/** Seconds a boot check waits from QEMU's start for the login prompt (and again after its reboot). */
export const LOGIN_TIMEOUT_S = { min: 30, max: 3600, default: 600 } as const;

/** A VM's memory, in MiB. */
export const MEMORY_MIB = { min: 512, max: 65536, default: 2048 } as const;
/** A VM's virtual CPUs. */
export const CPUS = { min: 1, max: 64, default: 2 } as const;
