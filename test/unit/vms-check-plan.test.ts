// The boot check's plan and judgement: what each overlay scheme is checked for, the probes
// typed for it, and the verdicts on real probe output (taken from a Debian 12 boot) and on
// output that must fail.
import { describe, expect, it } from "vitest";
import { PRESETS } from "@/server/mkosi/presets";
import { profileDocumentSchema, type ProfileDocument } from "@/server/mkosi/profile";
import { checkPlan, firstBootProbes, judge, parseMount, PROBE_NAME, rootPartitionFs, secondBootProbes, tamperRootItem, tamperUkiItem, verifiedBootItems, type ProbeResult } from "@/server/vms/check-plan";
import { qemuArgs } from "@/server/vms/qemu-args";

const debian = PRESETS.find((p) => p.id === "immutable-debian-12")!.build({ aptRepositories: [], osId: "debian" });
const withOverlay = (overlay: ProfileDocument["overlay"]): ProfileDocument => profileDocumentSchema.parse({ ...debian, overlay });
const persistent = withOverlay({ scheme: "persistent", mountPoint: "/var/lib/data", label: "data", format: "ext4", size: "256M" });
const readonly = withOverlay({ scheme: "readonly" });

// Real output of the probes on the Debian preset under QEMU.
const LSBLK = "vda  \nvda1 c12a7328-f81f-11d2-ba4b-00a0c93ec93b vfat\nvda2 4f68bce3-e8cd-4db1-96e7-fbcaf984b709 squashfs\n";
const OVERLAY_ROOT = "/ overlay overlay rw,relatime,lowerdir=/sysroot,upperdir=/run/systemd/overlay-sysroot/upper,workdir=/run/systemd/overlay-sysroot/work\n";
const SQUASHFS_ROOT = "/ /dev/vda2 squashfs ro,relatime,errors=continue\n";
const LOADER = "systemd-boot 252.39-1~deb12u2";
const STUB = "systemd-stub 252.39-1~deb12u2";
const ok = (output = ""): ProbeResult => ({ output, status: 0 });
const bad = (output: string, status = 1): ProbeResult => ({ output, status });
const nonce = "nonce-abc123";

const verdicts = (items: { id: string; passed: boolean }[]) => Object.fromEntries(items.map((i) => [i.id, i.passed]));

describe("checkPlan", () => {
  it("reads the Debian preset: squashfs root, tmpfs overlay, systemd-boot, a UKI, automatic login, a reboot", () => {
    const plan = checkPlan(debian);
    expect(plan).toMatchObject({ rootFormat: "squashfs", systemdBoot: true, uki: true, reboot: true, login: { autologin: true, password: "root" } });
    expect(plan.overlay.scheme).toBe("tmpfs");
  });

  it("needs no reboot for a read-only root, and no password it cannot type", () => {
    const doc = profileDocumentSchema.parse({ ...readonly, settings: { ...readonly.settings, RootPassword: "hashed:$6$x$y", Autologin: false } });
    const plan = checkPlan(doc);
    expect(plan.reboot).toBe(false);
    expect(plan.login).toEqual({ autologin: false, password: undefined });
  });

  it("expects no UKI when an imported UnifiedKernelImages= (kept raw) turns it off", () => {
    for (const value of ["no", "disabled", "none", "false"]) {
      const doc = profileDocumentSchema.parse({ ...debian, rawSettings: [{ section: "Content", key: "UnifiedKernelImages", value }] });
      expect(checkPlan(doc), value).toMatchObject({ systemdBoot: true, uki: false });
    }
    const on = profileDocumentSchema.parse({ ...debian, rawSettings: [{ section: "Content", key: "UnifiedKernelImages", value: "yes" }] });
    expect(checkPlan(on).uki).toBe(true);
  });

  it("takes mkosi's default boot loader (systemd-boot) when the profile sets none", () => {
    const { Bootloader: _, ...settings } = debian.settings;
    expect(checkPlan(profileDocumentSchema.parse({ ...debian, settings })).systemdBoot).toBe(true);
  });

  it("checks no systemd-boot or UKI for another boot loader", () => {
    const doc = profileDocumentSchema.parse({ ...debian, settings: { ...debian.settings, Bootloader: "grub" } });
    expect(checkPlan(doc)).toMatchObject({ systemdBoot: false, uki: false });
  });
});

describe("probes", () => {
  it("write a nonce through the tmpfs overlay and look for it after the reboot", () => {
    const plan = checkPlan(debian);
    const cmds = firstBootProbes(plan, nonce).map((p) => p.command);
    expect(cmds).toContain(`echo ${nonce} > /${PROBE_NAME}`);
    expect(cmds.some((c) => c.includes("LoaderInfo-4a67b082"))).toBe(true);
    expect(cmds.some((c) => c.includes("StubInfo-4a67b082"))).toBe(true);
    expect(secondBootProbes(plan).map((p) => p.command)).toEqual([`cat /${PROBE_NAME}`]);
  });

  it("quote the persistent mount point and write the nonce there", () => {
    const cmds = firstBootProbes(checkPlan(persistent), nonce).map((p) => p.command);
    expect(cmds).toContain("findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS '/var/lib/data'");
    expect(cmds).toContain(`echo ${nonce} > '/var/lib/data/${PROBE_NAME}' && sync`);
    expect(secondBootProbes(checkPlan(persistent)).map((p) => p.command)).toEqual([`cat '/var/lib/data/${PROBE_NAME}'`]);
  });

  it("are single lines (a newline would start another command)", () => {
    for (const doc of [debian, persistent, readonly])
      for (const p of [...firstBootProbes(checkPlan(doc), nonce), ...secondBootProbes(checkPlan(doc))]) expect(p.command).not.toMatch(/[\n\r]/);
  });
});

describe("parsers", () => {
  it("read findmnt and lsblk raw output", () => {
    expect(parseMount(SQUASHFS_ROOT)).toEqual({ target: "/", source: "/dev/vda2", fstype: "squashfs", options: ["ro", "relatime", "errors=continue"] });
    expect(parseMount("\n")).toBeUndefined();
    expect(rootPartitionFs(LSBLK)).toEqual({ name: "vda2", fstype: "squashfs" });
    expect(rootPartitionFs("vda1 c12a7328-f81f-11d2-ba4b-00a0c93ec93b vfat\n")).toBeUndefined();
  });
});

describe("judge", () => {
  it("passes the Debian preset on what its VM printed", () => {
    const results = new Map<string, ProbeResult>([
      ["root-mount", ok(OVERLAY_ROOT)],
      ["partitions", ok(LSBLK)],
      ["root-write", ok()],
      ["loader", ok(LOADER)],
      ["stub", ok(STUB)],
      ["root-read", bad(`cat: /${PROBE_NAME}: No such file or directory\n`)],
    ]);
    const items = judge(checkPlan(debian), nonce, results);
    expect(verdicts(items)).toEqual({ "root-format": true, "root-overlay": true, "root-writable": true, "overlay-discarded": true, "systemd-boot": true, uki: true });
  });

  it("fails a tmpfs overlay whose write survives the reboot, or a root that is not squashfs", () => {
    const results = new Map<string, ProbeResult>([
      ["root-mount", ok(OVERLAY_ROOT)],
      ["partitions", ok(LSBLK.replace("squashfs", "ext4"))],
      ["root-write", ok()],
      ["loader", ok(LOADER)],
      ["stub", ok(STUB)],
      ["root-read", ok(`${nonce}\n`)],
    ]);
    const items = judge(checkPlan(debian), nonce, results);
    expect(verdicts(items)).toMatchObject({ "root-format": false, "overlay-discarded": false });
    expect(items.find((i) => i.id === "root-format")!.detail).toMatch(/holds ext4/);
  });

  it("fails a read-only scheme whose root takes a write, and passes one that refuses it", () => {
    const plan = checkPlan(readonly);
    const base: [string, ProbeResult][] = [["root-mount", ok(SQUASHFS_ROOT)], ["partitions", ok(LSBLK)], ["loader", ok(LOADER)], ["stub", ok(STUB)]];
    const refused = judge(plan, nonce, new Map([...base, ["root-write", bad("touch: cannot touch '/x': Read-only file system\n")]]));
    expect(refused.every((i) => i.passed)).toBe(true);
    const taken = judge(plan, nonce, new Map([...base, ["root-write", ok()]]));
    expect(verdicts(taken)["root-read-only"]).toBe(false);
  });

  it("passes a persistent partition that keeps the file, and fails one that loses it or is not mounted", () => {
    const plan = checkPlan(persistent);
    const base: [string, ProbeResult][] = [
      ["root-mount", ok(SQUASHFS_ROOT)],
      ["partitions", ok(LSBLK)],
      ["root-write", bad("touch: cannot touch: Read-only file system\n")],
      ["persistent-write", ok()],
      ["loader", ok(LOADER)],
      ["stub", ok(STUB)],
    ];
    const mounted: [string, ProbeResult] = ["persistent-mount", ok("/var/lib/data /dev/vda3 ext4 rw,relatime\n")];
    expect(judge(plan, nonce, new Map([...base, mounted, ["persistent-read", ok(`${nonce}\n`)]])).every((i) => i.passed)).toBe(true);
    const lost = verdicts(judge(plan, nonce, new Map([...base, mounted, ["persistent-read", bad("cat: No such file or directory\n")]])));
    expect(lost["persistent-kept"]).toBe(false);
    const unmounted = verdicts(judge(plan, nonce, new Map([...base, ["persistent-mount", bad("", 1)], ["persistent-read", ok(`${nonce}\n`)]])));
    expect(unmounted["persistent-mounted"]).toBe(false);
  });

  it("fails every item whose probe got no answer", () => {
    const items = judge(checkPlan(debian), nonce, new Map());
    expect(items.length).toBeGreaterThan(3);
    expect(items.every((i) => !i.passed && /no answer/.test(i.detail))).toBe(true);
  });
});

describe("qemuArgs", () => {
  const plan = { memoryMib: 2048, cpus: 2, network: false, accel: "tcg" as const, firmware: { code: "/fw/CODE.fd", varsTemplate: "/fw/VARS.fd" }, varsFile: "/data/vms/1/efivars.fd", image: "/data/builds/1/output/a,b.raw" };
  it("attaches the disk as a snapshot, the console on stdio, no network unless asked", () => {
    const args = qemuArgs(plan);
    const after = (flag: string) => args.filter((_a, i) => args[i - 1] === flag);
    expect(after("-accel")).toEqual(["tcg"]);
    expect(after("-cpu")).toEqual(["qemu64"]);
    expect(after("-m")).toEqual(["2048"]);
    expect(after("-drive")).toContain("if=none,id=disk,format=raw,snapshot=on,file=/data/builds/1/output/a,,b.raw");
    expect(after("-drive")).toContain("if=pflash,format=raw,readonly=on,file=/fw/CODE.fd");
    expect(after("-nic")).toEqual(["none"]);
    expect(after("-serial")).toEqual(["chardev:console"]);
    expect(qemuArgs({ ...plan, network: true, accel: "kvm" }).join(" ")).toMatch(/-accel kvm -cpu host .*-nic user,model=virtio-net-pci/);
  });
});

describe("verified boot", () => {
  const verified = { ...PRESETS.find((p) => p.id === "immutable-debian-13-verified-boot")!.build({ aptRepositories: [], osId: "debian" }), signingKey: "k" };
  const HASH = "69a88d3583d93d61f73007f22aa253e65b5d6772d022023dfad73b4aff191265";
  const READY = "6436326ed47a60868b7100b0bc8b543e573b109ec0f949f78f2a34837feb1342";
  const plan = () => ({
    ...checkPlan(profileDocumentSchema.parse(verified)),
    expected: { rootHash: HASH, pcr11: [{ phase: "enter-initrd", value: "11".repeat(32) }, { phase: "enter-initrd:leave-initrd:sysinit:ready", value: READY }] },
  });
  // Output as a Debian 13 boot under OVMF's Secure Boot firmware prints it.
  const SB = "SecureBoot 6 0 0 0 1\nSetupMode 6 0 0 0 0\n";
  const VERITY = `dm root CRYPT-VERITY-69a88d3583d93d61f73007f22aa253e6-root ro=1\nroothash=${HASH}\n`;

  it("plans Secure Boot, verity and measured boot for the preset, and none of them for the plain one", () => {
    expect(plan()).toMatchObject({ secureBoot: true, verity: true, measured: true, rootFormat: "erofs" });
    const plain = checkPlan(PRESETS.find((p) => p.id === "immutable-debian-13")!.build({ aptRepositories: [], osId: "debian" }));
    expect(plain).toMatchObject({ secureBoot: false, verity: false, measured: false });
    expect(firstBootProbes(plan(), nonce).map((p) => p.id)).toEqual(expect.arrayContaining(["secure-boot", "verity", "tamper-baseline", "pcr11"]));
    expect(firstBootProbes(plain, nonce).map((p) => p.id)).not.toContain("secure-boot");
  });

  it("passes on what an enforcing, verity-protected, measured boot prints", () => {
    const items = verifiedBootItems(plan(), new Map([["secure-boot", ok(SB)], ["verity", ok(VERITY)], ["pcr11", ok(`${READY.toUpperCase()}\n`)]]));
    expect(verdicts(items)).toEqual({ "secure-boot": true, "verity-root": true, pcr11: true });
    expect(items.find((i) => i.id === "pcr11")!.detail).toMatch(/the prediction for enter-initrd:leave-initrd:sysinit:ready/);
  });

  it("fails Secure Boot in setup mode or off, a root without verity or with another root hash, and another PCR 11", () => {
    const setup = verifiedBootItems(plan(), new Map([["secure-boot", ok("SecureBoot 6 0 0 0 1\nSetupMode 6 0 0 0 1\n")]]));
    expect(setup.find((i) => i.id === "secure-boot")).toMatchObject({ passed: false, detail: expect.stringMatching(/SetupMode=1/) });
    const off = verifiedBootItems(plan(), new Map([["secure-boot", ok("SecureBoot 6 0 0 0 0\nSetupMode 6 0 0 0 0\n")]]));
    expect(off.find((i) => i.id === "secure-boot")!.passed).toBe(false);
    const noVerity = verifiedBootItems(plan(), new Map([["verity", ok(`roothash=${HASH}\n`)]]));
    expect(noVerity.find((i) => i.id === "verity-root")).toMatchObject({ passed: false, detail: expect.stringMatching(/no dm-verity device/) });
    const other = verifiedBootItems(plan(), new Map([["verity", ok(VERITY.replace(`roothash=${HASH}`, `roothash=${"0".repeat(64)}`))]]));
    expect(other.find((i) => i.id === "verity-root")).toMatchObject({ passed: false, detail: expect.stringMatching(/the build recorded 69a8/) });
    const early = verifiedBootItems(plan(), new Map([["pcr11", ok(`${"11".repeat(32)}\n`)]]));
    expect(early.find((i) => i.id === "pcr11")).toMatchObject({ passed: false, detail: expect.stringMatching(/equals the prediction for enter-initrd\)/) });
  });

  it("judges the tampered copies: a failed read (or a verity stop) is caught, a kernel that started is not", () => {
    const baseline = ok("read /usr/lib/modules/6.12.48+deb13-amd64/vmlinuz\n");
    const caught = tamperRootItem(baseline, { result: ok("FAILED /usr/lib/modules/6.12.48+deb13-amd64/vmlinuz\n"), console: "", description: "a copy" });
    expect(caught.passed).toBe(true);
    expect(tamperRootItem(baseline, { result: ok("read /usr/lib/modules/x/vmlinuz\n"), console: "", description: "a copy" }).passed).toBe(false);
    // The untouched disk must read fine for the failure to mean anything.
    expect(tamperRootItem(ok("FAILED /x\n"), { result: ok("FAILED /x\n"), console: "", description: "a copy" }).passed).toBe(false);
    const stopped = tamperRootItem(baseline, { console: "[ 9.1] device-mapper: verity: 254:0: data block 1234 is corrupted\n", failure: "no login", description: "a copy" });
    expect(stopped).toMatchObject({ passed: true, detail: expect.stringMatching(/data block 1234 is corrupted/) });

    expect(tamperUkiItem({ refusal: "Error loading \\EFI\\Linux\\x.efi: Security Violation", kernelStarted: false, waitedS: 240, description: "a copy" }).passed).toBe(true);
    expect(tamperUkiItem({ kernelStarted: true, waitedS: 240, description: "a copy" })).toMatchObject({ passed: false, detail: expect.stringMatching(/the kernel started/) });
    expect(tamperUkiItem({ kernelStarted: false, waitedS: 240, description: "a copy", failure: "could not sign" }).passed).toBe(false);
  });

  it("gives the Secure Boot firmware SMM and a locked flash, and a TPM on the swtpm socket", () => {
    const base = { memoryMib: 2048, cpus: 2, network: false, accel: "tcg" as const, firmware: { code: "/c.fd", varsTemplate: "/v.fd" }, varsFile: "/run/v.fd", image: "/i.raw" };
    const sb = qemuArgs({ ...base, secureBoot: true, tpmSocket: "/run/tpm/sock" });
    expect(sb.slice(0, 4)).toEqual(["-machine", "q35,smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on"]);
    expect(sb.join(" ")).toMatch(/-chardev socket,id=chrtpm,path=\/run\/tpm\/sock -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0/);
    expect(qemuArgs(base).join(" ")).not.toMatch(/smm|tpm/);
  });
});
