// PCR 11 predicted from a UKI's sections, against systemd-measure (the host's systemd, which
// ukify runs to sign .pcrsig) on the same section files, and the policy digests .pcrsig signs.
import { execa } from "execa";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePcrSig, policyPcr, predictPcr11 } from "@/server/artifacts/pcr";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pcr-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SECTIONS = new Map<string, Buffer>([
  [".linux", Buffer.from("a kernel, in bytes")],
  [".osrel", Buffer.from("ID=debian\nVERSION_ID=13\n")],
  [".cmdline", Buffer.from("roothash=00 console=ttyS0")],
  [".uname", Buffer.from("6.12.0-amd64")],
  [".sbat", Buffer.from("sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n")],
  [".initrd", Buffer.alloc(4096, 7)],
  // Never measured.
  [".pcrsig", Buffer.from("{}")],
]);

describe("the PCR 11 prediction", () => {
  it("equals systemd-measure's for every phase", async () => {
    const args: string[] = [];
    for (const [name, data] of SECTIONS) {
      if (name === ".pcrsig") continue;
      const f = join(dir, name.slice(1));
      await writeFile(f, data);
      args.push(`--${name.slice(1)}=${f}`);
    }
    const ours = predictPcr11(SECTIONS);
    const r = await execa("/usr/lib/systemd/systemd-measure", ["calculate", ...args, "--bank=sha256", ...ours.map((p) => `--phase=${p.phase}`), "--json=short"]);
    const theirs = (JSON.parse(r.stdout) as { sha256: { phase: string; hash: string }[] }).sha256;
    expect(ours.map((p) => ({ phase: p.phase, hash: p.value }))).toEqual(theirs.map(({ phase, hash }) => ({ phase, hash })));
  });

  it("changes with any measured byte, not with .pcrsig", () => {
    const base = predictPcr11(SECTIONS).at(-1)!.value;
    const cmd = new Map(SECTIONS).set(".cmdline", Buffer.from("roothash=01 console=ttyS0"));
    expect(predictPcr11(cmd).at(-1)!.value).not.toBe(base);
    const sig = new Map(SECTIONS).set(".pcrsig", Buffer.from('{"sha256":[]}'));
    expect(predictPcr11(sig).at(-1)!.value).toBe(base);
  });

  it("gives the TPM2 PolicyPCR digest .pcrsig signs, and reads .pcrsig's entries", () => {
    // PolicyPCR of PCR 11 = 0…0: a fixed value (computed by the TPM2 spec's formula).
    expect(policyPcr(11, Buffer.alloc(32)).toString("hex")).toHaveLength(64);
    const p = predictPcr11(SECTIONS)[0]!;
    expect(policyPcr(11, Buffer.from(p.value, "hex")).toString("hex")).toBe(p.policy);
    const sig = parsePcrSig(`${JSON.stringify({ sha256: [{ pcrs: [11], pkfp: "ab", pol: p.policy.toUpperCase(), sig: "x" }] })}\0\0`);
    expect(sig).toEqual([{ pcrs: [11], pkfp: "ab", pol: p.policy }]);
  });
});
