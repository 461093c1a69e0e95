// The price of verified boot, in the same run on the same server: the "Immutable Debian 13,
// verified boot" preset (erofs root under dm-verity with a signed root hash, Secure Boot
// signing, a signed PCR 11 prediction) against the same profile without verity and signing
// (no hash or signature partitions, SecureBoot=no, SignExpectedPcr=no), built alternately
// through builds.start with the same warm package cache; then each build booted through
// vms.start to the login prompt on the vms.console stream, alternately: the verified one
// under OVMF's Secure Boot firmware (SMM, the certificate enrolled) with swtpm, the other
// under the plain firmware. Prints each run, the medians and both ratios verified/plain.
//
//   npm run build            # once: the benchmark runs the production build
//   npx tsx bench/verified-boot.ts [--runs 3] [--boots 3] [--data DIR]
//
// Needs what a real build needs (root, scripts/setup-host.sh's tools, the Debian mirror).
// One untimed build of the plain profile first fills the package cache.
import { mkdir } from "node:fs/promises";
import { parseArgs } from "node:util";
import { withVerityRoot } from "@/server/mkosi/verity";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { LOGIN_PROMPT } from "@/server/vms/check-plan";
import { Cleanup, fixed, median, printMachine, rerunCommand, runMain, table } from "./lib/common";
import { startNextServer, untilLoginPrompt, waitForBuildId, type BuildDetail, type Outputs } from "./lib/server";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    boots: { type: "string", default: "3" },
    data: { type: "string" },
    timeout: { type: "string", default: "900" },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log("usage: npx tsx bench/verified-boot.ts [--runs N (3 builds of each)] [--boots N (3 boots of each)] [--data DIR] [--timeout S (900, per boot)]");
  process.exit(0);
}
const RUNS = Number(args.runs);
const BOOTS = Number(args.boots);
const TIMEOUT_S = Number(args.timeout);
if (![RUNS, BOOTS].every((n) => Number.isInteger(n) && n >= 1) || !(TIMEOUT_S > 0)) {
  console.error("--runs and --boots take a whole number of 1 or more, --timeout seconds");
  process.exit(2);
}
const RERUN = rerunCommand("bench/verified-boot.ts", { runs: RUNS, boots: BOOTS, ...(args.data ? { data: args.data } : {}) });
const PRESET = "immutable-debian-13-verified-boot";

const t0 = Date.now();
const say = (text: string) => {
  const s = Math.round((Date.now() - t0) / 1000);
  console.log(`[${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}] ${text}`);
};

/** The same image without verified boot: no verity partitions, no signing, no key. */
function unsigned(doc: ProfileDocument): ProfileDocument {
  const off = withVerityRoot(doc, "off");
  const { SecureBoot: _s, Verity: _v, ...settings } = off.settings;
  const { signingKey: _k, ...rest } = off;
  return { ...rest, settings: { ...settings, SignExpectedPcr: "no" } };
}

const cleanup = new Cleanup();

await runMain(cleanup, async () => {
  if (args.data) await mkdir(args.data, { recursive: true });
  printMachine({ app: `.next BUILD_ID ${await waitForBuildId()}`, runs: `${RUNS} builds and ${BOOTS} boots of each, alternating, after one untimed build` });

  // Without --data the server makes its own folder in the temporary folder, which the service
  // user can reach (a folder inside a root-only one it could not, from mkosi's user namespace).
  const server = await startNextServer(args.data ? { dataDir: args.data } : {});
  cleanup.add("server", server.stop);
  const api = server.api;
  const stamp = Date.now();
  const verified = await api.mutation<Outputs["profiles"]["get"]>("profiles.create", { name: `bench-verified-${stamp}`, presetId: PRESET });
  const base = await api.mutation<Outputs["profiles"]["get"]>("profiles.create", { name: `bench-plain-${stamp}`, presetId: PRESET });
  const plain = await api.mutation<Outputs["profiles"]["get"]>("profiles.save", { id: base.id, revision: base.revision, document: unsigned(verified.document as ProfileDocument) });
  say(`profiles: verified ${verified.id} (key ${verified.document.signingKey}), plain ${plain.id}`);

  async function build(profileId: number, label: string): Promise<BuildDetail> {
    const b = await api.mutation<BuildDetail>("builds.start", { profileId });
    const done = await api.waitForBuild(b.id);
    if (done.state !== "succeeded") throw new Error(`${label}: build ${done.id} ${done.state}: ${done.message ?? ""}\n${done.failureLines.join("\n")}`);
    say(`  ${label}: build ${done.id} in ${fixed((done.durationMs ?? NaN) / 1000)} s`);
    return done;
  }

  /** vms.start, then the console until the login prompt: seconds from the request. */
  async function boot(buildId: number, label: string): Promise<{ loginS: number; firmware: string }> {
    const started = performance.now();
    const run = await api.mutation<Outputs["vms"]["start"]>("vms.start", { buildId });
    let tail = "";
    const login = await untilLoginPrompt(api, run.id, TIMEOUT_S, (text) => LOGIN_PROMPT.test((tail = (tail + text).slice(-4096))));
    await api.mutation("vms.stop", { runId: run.id });
    if (Number.isNaN(login)) throw new Error(`${label}: no login prompt within ${TIMEOUT_S} s (run ${run.id})`);
    const firmware = run.command?.find((a) => a.includes("OVMF_CODE"))?.replace(/^.*file=/, "") ?? "?";
    const loginS = (login - started) / 1000;
    say(`  ${label}: login after ${fixed(loginS, 1)} s (${firmware.split("/").pop()}${run.command?.join(" ").includes("tpm-tis") ? ", swtpm" : ""})`);
    return { loginS, firmware };
  }

  say("untimed build of the plain profile (fills the package cache)…");
  await build(plain.id, "warm-up");
  const builds: { run: number; verifiedS: number; plainS: number; verified: BuildDetail; plain: BuildDetail }[] = [];
  for (let n = 1; n <= RUNS; n++) {
    // Alternate which goes first, so a drifting machine load favours neither.
    const first = n % 2 === 1 ? "verified" : "plain";
    const a = await build(first === "verified" ? verified.id : plain.id, `run ${n} ${first}`);
    const b = await build(first === "verified" ? plain.id : verified.id, `run ${n} ${first === "verified" ? "plain" : "verified"}`);
    const [v, p] = first === "verified" ? [a, b] : [b, a];
    builds.push({ run: n, verifiedS: (v.durationMs ?? NaN) / 1000, plainS: (p.durationMs ?? NaN) / 1000, verified: v, plain: p });
  }
  const last = builds.at(-1)!;
  const boots: { boot: number; verifiedS: number; plainS: number }[] = [];
  for (let n = 1; n <= BOOTS; n++) {
    const vFirst = n % 2 === 1;
    const v1 = vFirst ? await boot(last.verified.id, `boot ${n} verified`) : undefined;
    const p = await boot(last.plain.id, `boot ${n} plain`);
    const v = v1 ?? (await boot(last.verified.id, `boot ${n} verified`));
    boots.push({ boot: n, verifiedS: v.loginS, plainS: p.loginS });
  }

  const buildRatio = median(builds.map((b) => b.verifiedS)) / median(builds.map((b) => b.plainS));
  const bootRatio = median(boots.map((b) => b.verifiedS)) / median(boots.map((b) => b.plainS));
  console.log("\nBuild time (the server's record of each build, seconds):");
  console.log(table(["run", "verified boot", "without verity and signing", "ratio"], builds.map((b) => [b.run, fixed(b.verifiedS), fixed(b.plainS), fixed(b.verifiedS / b.plainS, 3)])));
  console.log("\nBoot to login prompt under emulation (vms.start to the prompt on vms.console, seconds):");
  console.log(table(["boot", "Secure Boot firmware, swtpm, verity", "plain firmware", "ratio"], boots.map((b) => [b.boot, fixed(b.verifiedS), fixed(b.plainS), fixed(b.verifiedS / b.plainS, 3)])));
  console.log(`\nmedian build: verified ${fixed(median(builds.map((b) => b.verifiedS)))} s, plain ${fixed(median(builds.map((b) => b.plainS)))} s: ratio verified/plain ${fixed(buildRatio, 3)} (the price of verified boot at build time)`);
  console.log(`median boot to login: Secure Boot ${fixed(median(boots.map((b) => b.verifiedS)))} s, plain ${fixed(median(boots.map((b) => b.plainS)))} s: ratio ${fixed(bootRatio, 3)} (Secure Boot firmware with SMM, swtpm and dm-verity against the plain firmware)`);
  console.log(`\nrerun: ${RERUN}`);
});
