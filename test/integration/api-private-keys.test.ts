// The API never hands out a private key: every procedure of the router is called (the ones
// this file knows with real inputs, any other with an empty one), on a data folder whose key
// store holds generated and imported keys, with a signed profile, a build of it (mkosi stood
// in by a script that prints its arguments and writes an output), an import of a project
// that carried mkosi.key, and an export. Every answer, every error and the first events of
// every subscription are searched for a PEM private key header, and so are the build's folder
// and the export.
import { TRPCError } from "@trpc/server";
import { execa } from "execa";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeExpiredCertificate } from "@/test/support/certificates";
import { filesUnder } from "@/test/support/files";

const dataDir = await mkdtemp(join(tmpdir(), "api-keys-"));
process.env.IMAGE_STUDIO_DATA = dataDir;
const { openDatabase } = await import("@/server/db/client");
const { buildQueue, closeBuildQueue } = await import("@/server/builds/queue");
const { closeVmManager } = await import("@/server/vms/manager");
const { appRouter, createCaller } = await import("@/server/routers");
const { PEM_PRIVATE_KEY } = await import("@/server/keys/store");
const { serveApp } = await import("@/test/support/app-server");

const HOST = { osId: "debian", aptRepositories: [{ uri: "http://mirror.example.invalid/debian", suites: ["bookworm"], components: ["main"] }] };
const FAKE = join(dataDir, "fake-mkosi");
// Prints what it was given (the key's path is among it) and writes a disk image and a UKI.
const FAKE_SCRIPT = `#!/bin/bash
echo "fake mkosi $*"
out=""
while [ $# -gt 0 ]; do case "$1" in --output-dir) out="$2"; shift;; esac; shift; done
echo disk > "$out/img_1.raw"; echo uki > "$out/img_1.efi"
`;

const db = openDatabase(join(dataDir, "image-studio.sqlite"));
buildQueue(db, { dataDir, concurrency: 1, mkosi: [FAKE] });
const api = createCaller({ db, host: () => HOST });
const app = await serveApp(db, dataDir);

let keyPem: string;
let certPem: string;
const ids: Record<string, number> = {};

beforeAll(async () => {
  await writeFile(FAKE, FAKE_SCRIPT);
  await chmod(FAKE, 0o755);
  await execa("openssl", ["req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=walk", "-keyout", join(dataDir, "k.pem"), "-out", join(dataDir, "c.pem")]);
  keyPem = await readFile(join(dataDir, "k.pem"), "utf8");
  certPem = await readFile(join(dataDir, "c.pem"), "utf8");
  await api.keys.import({ id: "imported", key: keyPem, certificate: certPem });
  const signed = await api.profiles.create({ name: "signed", presetId: "immutable-debian-13-verified-boot" });
  ids.profile = signed.id;
  const b = await api.builds.start({ profileId: signed.id });
  ids.build = b.id;
  const controller = new AbortController();
  for await (const e of await createCaller({ db, host: () => HOST }, { signal: controller.signal }).builds.events({ id: b.id }))
    if (["succeeded", "failed"].includes((e as { state: string }).state)) break;
  controller.abort();
}, 120_000);

afterAll(async () => {
  await app.close();
  await closeVmManager(db);
  await closeBuildQueue(db);
  db.$client.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** A project archive that carries a private key as mkosi.key. */
function archiveWithKey(): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: "p/mkosi.conf" }, "[Validation]\nSecureBoot=yes\n");
  pack.entry({ name: "p/mkosi.key", mode: 0o600 }, keyPem);
  pack.entry({ name: "p/mkosi.crt" }, certPem);
  pack.finalize();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    pack.on("data", (c: unknown) => chunks.push(c as Buffer));
    pack.on("end", () => resolve(gzipSync(Buffer.concat(chunks))));
  });
}

type Call = () => Promise<unknown>;

/** Real inputs for the procedures this test knows; the rest are called with {}. */
function calls(c: typeof api): Record<string, Call> {
  const b = ids.build!;
  const p = ids.profile!;
  return {
    "presets.list": () => c.presets.list(),
    "profiles.list": () => c.profiles.list(),
    "profiles.get": () => c.profiles.get({ id: p }),
    "profiles.create": () => c.profiles.create({ name: "walk new", presetId: "immutable-debian-13-verified-boot" }),
    "profiles.save": async () => {
      const row = await c.profiles.get({ id: p });
      return c.profiles.save({ id: p, revision: row.revision, document: { ...row.document, signingKey: "imported" } });
    },
    "profiles.rename": () => c.profiles.rename({ id: p, name: "signed" }),
    "profiles.duplicate": () => c.profiles.duplicate({ id: p }),
    "profiles.validate": () => c.profiles.validate({ id: p }),
    "profiles.importArchive": async () => {
      const form = new FormData();
      form.set("file", new File([new Uint8Array(await archiveWithKey())], "p.tar.gz"));
      return c.profiles.importArchive(form);
    },
    "profiles.importFolder": () => c.profiles.importFolder({ path: dataDir }),
    "profiles.delete": async () => c.profiles.delete({ id: (await c.profiles.duplicate({ id: p, name: "to delete" })).id }),
    "host.facts": () => c.host.facts(),
    "host.tools": () => c.host.tools(),
    "host.refreshTools": () => c.host.refreshTools(),
    "builds.start": () => c.builds.start({ profileId: p }),
    "builds.cancel": () => c.builds.cancel({ id: b }),
    "builds.list": () => c.builds.list(),
    "builds.get": () => c.builds.get({ id: b }),
    "builds.queue": () => c.builds.queue(),
    "builds.files": () => c.builds.files({ id: b }),
    "builds.diff": () => c.builds.diff({ id: b, against: { profile: true } }),
    "builds.log": () => c.builds.log({ id: b }),
    "builds.events": () => c.builds.events({ id: b }),
    "artifacts.list": () => c.artifacts.list({ buildId: b }),
    "artifacts.hash": () => c.artifacts.hash({ buildId: b }),
    "artifacts.inspect": () => c.artifacts.inspect({ buildId: b, name: "img_1.efi" }),
    "artifacts.verifiedBoot": () => c.artifacts.verifiedBoot({ buildId: b }),
    "artifacts.convert": () => c.artifacts.convert({ buildId: b, name: "img_1.raw", format: "qcow2" }),
    "artifacts.cancelConversion": () => c.artifacts.cancelConversion({ jobId: 1 }),
    "artifacts.conversions": () => c.artifacts.conversions({ buildId: b }),
    "artifacts.conversionEvents": () => c.artifacts.conversionEvents({ buildId: b }),
    "space.usage": () => c.space.usage(),
    "space.deleteArtifacts": () => c.space.deleteArtifacts({ buildId: b }),
    "space.keepNewest": () => c.space.keepNewest({ profileId: p, keep: 5 }),
    "vms.start": () => c.vms.start({ buildId: b }),
    "vms.bootCheck": () => c.vms.bootCheck({ buildId: b }),
    "vms.stop": () => c.vms.stop({ runId: 1 }),
    "vms.input": () => c.vms.input({ runId: 1, data: "x" }),
    "vms.get": () => c.vms.get({ runId: 1 }),
    "vms.list": () => c.vms.list({ buildId: b }),
    "vms.watch": () => c.vms.watch({ buildId: b }),
    "vms.console": () => c.vms.console({ runId: 1 }),
    "vms.setBootCheckAfterBuild": () => c.vms.setBootCheckAfterBuild({ profileId: p, enabled: false }),
    "keys.list": () => c.keys.list(),
    "keys.get": () => c.keys.get({ id: "imported" }),
    "keys.generate": () => c.keys.generate({ id: "walk-generated" }),
    "keys.import": () => c.keys.import({ id: "imported-again", key: keyPem, certificate: certPem }),
    "keys.delete": () => c.keys.delete({ id: "walk-generated" }),
  };
}

/** An answer as text: a value, an error, or the first events of a subscription. */
async function answer(call: Call): Promise<string> {
  let value: unknown;
  try {
    value = await call();
  } catch (e) {
    return e instanceof TRPCError ? `error: ${e.message} ${JSON.stringify(e.cause ?? null)}` : `error: ${String(e)}`;
  }
  if (value && typeof value === "object" && Symbol.asyncIterator in value) {
    const events: unknown[] = [];
    const it = (value as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    // Subscriptions replay what they have first; a few events are enough, then let go.
    for (let i = 0; i < 5; i++) {
      const next = await Promise.race([it.next(), new Promise<{ done: true; value: undefined }>((r) => setTimeout(() => r({ done: true, value: undefined }), 2_000))]);
      if (next.done) break;
      events.push(next.value);
    }
    // Not awaited: a subscription waiting for its next change ends when its caller's signal aborts.
    void it.return?.(undefined);
    return JSON.stringify(events);
  }
  return JSON.stringify(value ?? null);
}

describe("no procedure's output holds a private key", () => {
  it("walks every procedure of the router", async () => {
    const all = Object.keys((appRouter as unknown as { _def: { procedures: Record<string, unknown> } })._def.procedures).sort();
    expect(all.length).toBeGreaterThan(40);
    const leaks: string[] = [];
    const texts: Record<string, string> = {};
    for (const path of all) {
      const controller = new AbortController();
      const c = createCaller({ db, host: () => HOST }, { signal: controller.signal });
      const known = calls(c);
      const call: Call =
        known[path] ??
        (() => {
          const [r, proc] = path.split(".") as [string, string];
          const router = (c as unknown as Record<string, Record<string, (input: unknown) => Promise<unknown>>>)[r]!;
          return router[proc]!({});
        });
      const t0 = Date.now();
      const text = await answer(call).finally(() => controller.abort());
      if (process.env.WALK_DEBUG) console.log(path, Date.now() - t0);
      texts[path] = text;
      if (PEM_PRIVATE_KEY.test(text) || text.includes(keyPem.split("\n")[1]!)) leaks.push(path);
    }
    expect(leaks).toEqual([]);
    // The walk did reach real answers: the keys, the signed build's command (a path), the import's note.
    expect(texts["keys.list"]).toMatch(/"id":"imported"/);
    expect(texts["builds.get"]).toMatch(/--secure-boot-key=[^"]*\/keys\/signed\/key\.pem/);
    expect(texts["builds.log"]).toMatch(/fake mkosi --secure-boot-key=/);
    expect(texts["profiles.importArchive"]).toMatch(/mkosi\.key holds a private key and was not imported/);
    expect(texts["keys.import"]).toMatch(/"subject":"CN=walk"/);
  }, 180_000);

  it("and neither does the build's folder nor the export", async () => {
    for (const f of await filesUnder(join(dataDir, "builds"))) expect(PEM_PRIVATE_KEY.test(await readFile(f, "latin1")), f).toBe(false);
    const res = await app.api.fetch(`/api/profiles/${ids.profile}/export`);
    expect(res.status).toBe(200);
    const tarText = (await execa("tar", ["-xzO"], { input: Buffer.from(await res.arrayBuffer()), encoding: "buffer" })).stdout;
    expect(PEM_PRIVATE_KEY.test(Buffer.from(tarText).toString("latin1"))).toBe(false);
    expect(Buffer.from(tarText).toString("utf8")).toMatch(/mkosi\.key/);
  });
});

describe("a build of a profile whose key cannot sign is refused before it starts, at signingKey", () => {
  async function refusal(p: Promise<unknown>) {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(TRPCError);
    return (e as TRPCError & { cause: { problems: { path: unknown[]; message: string }[] } }).cause.problems;
  }

  it("refuses an expired certificate and a key of another certificate; nothing is queued", async () => {
    await api.keys.generate({ id: "soon-bad" });
    const row = await api.profiles.get({ id: ids.profile! });
    await api.profiles.save({ id: row.id, revision: row.revision, document: { ...row.document, signingKey: "soon-bad" } });
    const before = (await api.builds.list()).length;
    const dir = join(dataDir, "keys", "soon-bad");
    // The certificate replaced by one of another key: the pair no longer matches.
    await writeFile(join(dir, "cert.pem"), certPem);
    expect(await refusal(api.builds.start({ profileId: ids.profile! }))).toEqual([{ path: ["signingKey"], message: "key 'soon-bad': its key does not match the certificate (its public key is another one)" }]);
    // An expired certificate (python3-cryptography dates it in the past).
    await writeExpiredCertificate(join(dir, "key.pem"), join(dir, "cert.pem"), "old", 1);
    const expired = await refusal(api.builds.start({ profileId: ids.profile! }));
    expect(expired).toEqual([{ path: ["signingKey"], message: expect.stringMatching(/^key 'soon-bad': its certificate expired on 2020-01-02/) }]);
    expect((await api.builds.list()).length).toBe(before);
  });
});
