// PCR 11 as systemd-stub and systemd-pcrphase leave it, predicted from a UKI's sections, and
// the TPM2 policy digest each prediction is signed under in the UKI's .pcrsig section. Pure.
// Measured against a UKI that mkosi 24.3 built (docs/mkosi-notes.md, "Verified boot"): the
// values below give exactly the "pol" entries of its .pcrsig, .sbat included.
import { createHash } from "node:crypto";

/** The sections systemd-stub measures into PCR 11, in its order; .pcrsig is never measured. */
export const MEASURED_SECTIONS = [".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname", ".sbat", ".pcrpkey", ".profile", ".dtbauto", ".hwids"] as const;

/** The boot phases systemd-pcrphase extends into PCR 11, and the ones systemd-measure signs by default. */
export const PCR_PHASES = ["enter-initrd", "leave-initrd", "sysinit", "ready"] as const;

const sha256 = (...parts: Buffer[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};

/** TPM2_PCR_Extend with SHA-256 of the data, as the stub and systemd-pcrphase do. */
export const extend = (pcr: Buffer, data: Buffer) => sha256(pcr, sha256(data));

export interface PcrPrediction {
  /** "enter-initrd", "enter-initrd:leave-initrd", ...: the phases passed. */
  phase: string;
  /** PCR 11 after them, hex. */
  value: string;
  /** The TPM2 PolicyPCR digest of that value, hex: what .pcrsig signs. */
  policy: string;
}

/** PCR 11 after systemd-stub measured these sections (name with NUL, then the data), then after each phase. */
export function predictPcr11(sections: ReadonlyMap<string, Buffer>): PcrPrediction[] {
  let pcr = Buffer.alloc(32);
  for (const name of MEASURED_SECTIONS) {
    const data = sections.get(name);
    if (!data) continue;
    pcr = extend(pcr, Buffer.from(`${name}\0`, "latin1"));
    pcr = extend(pcr, data);
  }
  const out: PcrPrediction[] = [];
  const passed: string[] = [];
  for (const phase of PCR_PHASES) {
    pcr = extend(pcr, Buffer.from(phase, "utf8"));
    passed.push(phase);
    out.push({ phase: passed.join(":"), value: pcr.toString("hex"), policy: policyPcr(11, pcr).toString("hex") });
  }
  return out;
}

/** TPM2_PolicyPCR from an empty policy, for one SHA-256 PCR holding `value`. */
export function policyPcr(index: number, value: Buffer): Buffer {
  const select = Buffer.alloc(3);
  select[Math.floor(index / 8)] = 1 << index % 8;
  // TPML_PCR_SELECTION: count 1, TPM_ALG_SHA256, sizeofSelect 3, the bitmap.
  const selection = Buffer.concat([Buffer.from([0, 0, 0, 1, 0x00, 0x0b, 3]), select]);
  const TPM_CC_POLICY_PCR = Buffer.from([0x00, 0x00, 0x01, 0x7f]);
  return sha256(Buffer.alloc(32), TPM_CC_POLICY_PCR, selection, sha256(value));
}

export interface PcrSignature {
  pcrs: number[];
  /** Fingerprint of the public key that signed it. */
  pkfp: string;
  pol: string;
}

/** The sha256 bank of a .pcrsig section's JSON; [] when it holds none. */
export function parsePcrSig(text: string): PcrSignature[] {
  const json = JSON.parse(text.replace(/\0+$/, "")) as { sha256?: { pcrs?: unknown; pkfp?: unknown; pol?: unknown }[] };
  return (json.sha256 ?? []).flatMap((e) =>
    Array.isArray(e.pcrs) && typeof e.pol === "string" ? [{ pcrs: e.pcrs.filter((n): n is number => typeof n === "number"), pkfp: String(e.pkfp ?? ""), pol: e.pol.toLowerCase() }] : [],
  );
}
