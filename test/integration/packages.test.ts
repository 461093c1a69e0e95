// The package index for real: apt-get update of Debian 12's main (and its updates and security
// suites, as the Debian preset has them) through this machine's mirror, into a private apt
// configuration under a temporary data folder; search, "did you mean", a virtual package, the
// pull-in resolved by apt, the check in profiles.validate and the refusal at build start (412,
// no build folder), no network (the last index stays), and a build's manifest and SBOM.
// Fetches about 9 MB once; later runs reuse the lists kept under the temporary folder.
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { execa } from "execa";
import { existsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPaths, buildsRoot } from "@/server/builds/paths";
import { buildQueue, closeBuildQueue } from "@/server/builds/queue";
import { openDatabase, type Db } from "@/server/db/client";
import { builds } from "@/server/db/schema";
import { hostFacts } from "@/server/host/facts";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { aptPaths, aptUpdate, listFiles, listNames } from "@/server/packages/apt";
import { ListTail } from "@/server/packages/list-tail";
import { writeSbom } from "@/server/packages/manifest-file";
import { packageIndexes, type IndexStatus } from "@/server/packages/service";
import { indexSpec, type IndexSpec } from "@/server/packages/sources";
import { importLists, IndexBuild, openIndex, type IndexDb } from "@/server/packages/store";
import { appRouter, createCaller } from "@/server/routers";
import { spdxErrors } from "../spdx";
import { keepLists, seedLists } from "./packages-helpers";

let dataDir: string;
let db: Db;
let api: ReturnType<typeof createCaller>;
let profileId: number;
let doc: ProfileDocument;
let spec: IndexSpec;
const ctx = () => ({ db, host: hostFacts });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "packages-"));
  db = openDatabase(join(dataDir, "image-studio.sqlite"));
  // A build never runs here: the stand-in for mkosi only has to exist.
  buildQueue(db, { dataDir, concurrency: 1, mkosi: ["/bin/false"] });
  api = createCaller(ctx());
  const p = await api.profiles.create({ name: "debian", presetId: "immutable-debian-12" });
  profileId = p.id;
  doc = p.document;
  const r = indexSpec(doc);
  if (!r.ok) throw new Error(`the Debian preset has no index: ${r.reason} (is this a Debian machine with apt sources?)`);
  spec = r.spec;
  await seedLists(dataDir, spec.key);
});

afterAll(async () => {
  await closeBuildQueue(db);
  db.$client.close();
  await rm(dataDir, { recursive: true, force: true });
});

const indexes = () => packageIndexes(buildQueue(db));
/** A query on the index's own file, through a connection of the test's. */
function onIndex<T>(query: (index: IndexDb) => T): T {
  const index = openIndex(aptPaths(dataDir, spec.key).index);
  try {
    return query(index);
  } finally {
    index.close();
  }
}
const withPackages = (d: ProfileDocument, more: string[]): ProfileDocument => ({ ...d, settings: { ...d.settings, Packages: [...(d.settings.Packages ?? []), ...more] } });

describe("the index of the Debian preset's repositories", () => {
  it("is fetched by apt-get update, its progress is told as apt's lines, and a second refresh joins the first", async () => {
    expect(spec.sources.map((s) => s.suites).flat()).toContain("bookworm");
    const controller = new AbortController();
    const seen: IndexStatus[] = [];
    const watching = (async () => {
      for await (const s of await createCaller(ctx(), { signal: controller.signal }).packages.watch({ profileId })) {
        seen.push(s);
        if (seen.some((x) => x.refreshing) && !s.refreshing) break;
      }
    })();
    await expect.poll(() => seen.length).toBeGreaterThan(0); // subscribed before the refresh starts
    const first = indexes().refresh(spec);
    expect(indexes().refresh(spec)).toBe(first);
    const [a, b] = await Promise.all([first, api.packages.refresh({ profileId })]);
    await watching;
    controller.abort();
    console.log(`index ${spec.key}: ${a.packageCount} packages`);
    expect(b).toEqual(a);
    expect(a.error).toBeNull();
    expect(a.available).toBe(true);
    expect(a.packageCount).toBeGreaterThan(50_000);
    expect(a.stale).toBe(false);
    expect(a.ageMs).toBeLessThan(60_000);
    const lines = seen.flatMap((s) => s.refreshing?.lines ?? []);
    expect(lines.some((l) => /^(Hit|Get):\d+ \S+ bookworm InRelease/.test(l))).toBe(true);
    expect(seen.some((s) => s.refreshing?.phase === "reading")).toBe(true);
    expect(await api.packages.status({ profileId })).toMatchObject({ key: spec.key, available: true, refreshing: null });
    await keepLists(dataDir, spec.key);
  }, 180_000);

  it("is told by the real apt when its lists are in place, after its downloads", async () => {
    // The refresh reads the lists from that moment on, beside apt: if apt said something else,
    // it would read them only after apt ended, and take longer.
    const paths = aptPaths(dataDir, spec.key);
    let linesThen: string[] | null = null;
    let calls = 0;
    const lines: string[] = [];
    const r = await aptUpdate(paths, spec, (l) => lines.push(l), {
      onFetched: () => {
        calls++;
        linesThen = [...lines];
      },
    });
    expect(r.ok).toBe(true);
    expect(calls).toBe(1);
    expect(linesThen!.some((l) => /^(Hit|Get):\d+ \S+ bookworm InRelease/.test(l))).toBe(true);
    expect(r.lines.some((l) => l.startsWith("Reading package lists"))).toBe(true);
  }, 120_000);

  it("is written from nothing while the real apt downloads, the same as an index read from apt's lists after it", async () => {
    // A folder of its own, not seeded: apt fetches every list, and the big one is read as it comes.
    const dir = await mkdtemp(join(tmpdir(), "packages-streamed-"));
    try {
      const paths = aptPaths(dir, spec.key);
      let build: IndexBuild | undefined;
      let tail: ListTail | undefined;
      const r = await aptUpdate(paths, spec, () => undefined, {
        onStart: () => {
          const b = (build = new IndexBuild(paths.index));
          tail = new ListTail(join(paths.lists, "partial"), new Set(listNames(spec).map((l) => l.file)), (source, list, stanzas) => b.add(source, list, stanzas));
        },
      });
      expect(r.ok).toBe(true);
      const read = await tail!.finish(paths.lists);
      const lists = (await listFiles(paths, spec)).map((l) => ({ ...l, priority: 500 }));
      const big = lists.reduce((a, b) => (b.size > a.size ? b : a));
      expect(big.size).toBeGreaterThan(20e6);
      expect(read.get(big.file)).toMatch(/_Packages\.[A-Za-z0-9]{6}$/);
      expect(build!.usable(read)).toBe(true);
      expect(existsSync(paths.index)).toBe(false);
      const built = await build!.finish(lists, () => undefined);
      expect(built.packages).toBeGreaterThan(50_000);
      const streamed = openIndex(paths.index);
      const imported = openIndex(join(dir, "imported.sqlite"));
      try {
        await importLists(imported, lists);
        const rows = (x: IndexDb) => x.prepare("SELECT count(*) AS n, sum(candidate) AS c, sum(length(name) + length(version) + coalesce(length(depends), 0)) AS bytes FROM packages").get();
        expect(rows(streamed)).toEqual(rows(imported));
        const sample = (x: IndexDb) => x.prepare("SELECT name, version, installed_kib, provides FROM packages WHERE candidate = 1 AND name IN ('openssh-server', 'systemd', 'postfix') ORDER BY name").all();
        expect(sample(streamed)).toEqual(sample(imported));
        expect(sample(streamed)).toHaveLength(3);
        const text = (x: IndexDb) => x.prepare("SELECT count(*) FROM packages_fts WHERE packages_fts MATCH '\"secure\"* \"shell\"*'").pluck().get();
        expect(text(streamed)).toBe(text(imported));
        expect(text(streamed)).toBeGreaterThan(3);
      } finally {
        streamed.close();
        imported.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it("reads only the lists that changed on the next refresh (the rows of the others are kept)", async () => {
    const id = () => onIndex((x) => x.prepare("SELECT id FROM packages WHERE name = 'openssh-server' AND candidate = 1").pluck().get());
    const before = id();
    const s = await indexes().refresh(spec);
    expect(s.error).toBeNull();
    expect(id()).toBe(before);
  }, 120_000);

  it("writes the index again, as apt downloads it, when the big list comes again (as after a point release)", async () => {
    const paths = aptPaths(dataDir, spec.key);
    const big = (await listFiles(paths, spec)).reduce((a, b) => (b.size > a.size ? b : a));
    const before = { ino: statSync(paths.index).ino, count: (await api.packages.status({ profileId })).packageCount };
    await rm(big.path);
    const s = await indexes().refresh(spec);
    expect(s.error).toBeNull();
    expect(existsSync(big.path)).toBe(true);
    // A new file took the old one's place (a diff would have kept the file).
    expect(statSync(paths.index).ino).not.toBe(before.ino);
    expect(existsSync(`${paths.index}.new`)).toBe(false);
    expect(s.packageCount).toBe(before.count);
    expect((await api.packages.search({ profileId, q: "openssh-server" })).hits[0]?.name).toBe("openssh-server");
  }, 120_000);

  it("finds openssh-server first, with its version, size and summary", async () => {
    const { hits } = await api.packages.search({ profileId, q: "openssh-server" });
    expect(hits[0]).toMatchObject({ name: "openssh-server", match: "exact", providers: null, summary: expect.stringMatching(/secure shell/i) });
    expect(hits[0]!.version).toMatch(/^1:9\.\d/);
    expect(hits[0]!.installedKib).toBeGreaterThan(100);
    // As typed, from the editor's unsaved document: a prefix finds it among names starting with it.
    const prefix = await api.packages.search({ document: doc, q: "openss" });
    expect(prefix.hits.map((h) => h.name)).toContain("openssh-server");
    const byName = prefix.hits.filter((h) => h.match === "prefix");
    expect(byName.length).toBeGreaterThan(3);
    expect(byName.every((h) => h.name.startsWith("openss"))).toBe(true);
    expect(prefix.hits.slice(0, byName.length)).toEqual(byName); // names first, then descriptions
  });

  it("does not find opnssh-server, and the mkosi check and build start suggest openssh-server", async () => {
    const { hits } = await api.packages.search({ profileId, q: "opnssh-server" });
    expect(hits.find((h) => h.name === "opnssh-server")).toBeUndefined();
    const bad = withPackages(doc, ["opnssh-server"]);
    const check = await api.profiles.validate({ document: bad });
    const at = bad.settings.Packages!.indexOf("opnssh-server");
    const problem = check.problems.find((p) => JSON.stringify(p.path) === JSON.stringify(["settings", "Packages", at]));
    expect(problem).toMatchObject({ severity: "error", message: expect.stringMatching(/'opnssh-server' is not in this profile's repositories: did you mean openssh-server/) });
    expect(check.ok).toBe(false);
  }, 120_000);

  it("shows a virtual package with what provides it", async () => {
    const { hits } = await api.packages.search({ profileId, q: "mail-transport-agent" });
    expect(hits[0]).toMatchObject({ name: "mail-transport-agent", version: null, match: "exact" });
    const providers = hits[0]!.providers!.map((p) => p.name);
    expect(providers).toEqual(expect.arrayContaining(["postfix", "exim4-daemon-light"]));
    expect(hits[0]!.summary).toMatch(/^virtual package, provided by /);
  });

  it("says what openssh-server pulls in, resolved by apt, and a conflict in apt's words", async () => {
    const p = await api.packages.pullIn({ profileId, name: "openssh-server" });
    console.log(`openssh-server pulls in ${p.count} packages, ${(p.installedBytes / 1e6).toFixed(1)} MB: ${p.added.map((a) => a.name).join(" ")}`);
    expect(p.ok).toBe(true);
    expect(p.count).toBeGreaterThan(0);
    expect(p.installedBytes).toBeGreaterThan(0);
    expect(p.added.map((a) => a.name)).toContain("openssh-server");
    // systemd is in the preset already: adding it again adds nothing.
    expect((await api.packages.pullIn({ profileId, name: "systemd" })).count).toBe(0);
    const clash = await api.packages.pullIn({ document: withPackages(doc, ["postfix"]), name: "exim4-daemon-heavy" });
    expect(clash.ok).toBe(false);
    expect(clash.messages.join("\n")).toMatch(/Conflicts: .*postfix|Conflicts: mail-transport-agent/);
    await expect(api.packages.pullIn({ profileId, name: "opnssh-server" })).rejects.toThrow(/did you mean openssh-server/);
  }, 120_000);

  it("reports a name only a repository outside the profile has (this machine's apt sources) as such", async () => {
    const hostNames = (await execa("apt-cache", ["pkgnames"], { reject: false })).stdout.split("\n").filter((n) => /^[a-z0-9][a-z0-9+.-]+$/.test(n));
    const known = new Set(onIndex((x) => x.prepare("SELECT DISTINCT name FROM packages UNION SELECT name FROM package_provides").pluck().all() as string[]));
    // A real package of the host's (a version table entry), not a virtual name.
    const candidates = hostNames.filter((n) => !known.has(n)).slice(0, 200);
    const policy = candidates.length ? (await execa("apt-cache", ["policy", ...candidates], { env: { LC_ALL: "C.UTF-8" } })).stdout : "";
    const only = /^(\S+):\n(?: .*\n)*?\s+\d+ http\S* \S+ \S+ Packages$/m.exec(policy)?.[1];
    if (!only) {
      console.log("this machine's apt sources have nothing the profile's do not: skipped");
      return;
    }
    const check = await indexes().check(withPackages(doc, [only]));
    const problem = check.problems.find((p) => p.package === only);
    expect(problem?.message).toMatch(new RegExp(`'${only.replace(/[+.]/g, "\\$&")}' is not in this profile's repositories: only .* has it \\(this machine's apt sources have it`));
  }, 120_000);
});

describe("building a profile with a misspelt package", () => {
  it("is refused at once with 412 and the suggestion, leaving no build and no build folder", async () => {
    const p = await api.profiles.get({ id: profileId });
    const saved = await api.profiles.save({ id: profileId, revision: p.revision, document: withPackages(doc, ["opnssh-server"]) });
    const at = saved.document.settings.Packages!.indexOf("opnssh-server");
    await expect(api.builds.start({ profileId })).rejects.toMatchObject({ code: "PRECONDITION_FAILED", message: expect.stringMatching(/did you mean openssh-server/) });

    const res = await fetchRequestHandler({
      endpoint: "/api/trpc",
      req: new Request("http://studio.example.invalid/api/trpc/builds.start", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ profileId }) }),
      router: appRouter,
      createContext: ctx,
    });
    expect(res.status).toBe(412);
    const body = (await res.json()) as { error: { data: { problems: { path: unknown[]; message: string }[]; details: { packages: { name: string; suggestions: string[] }[] } } } };
    expect(body.error.data.problems).toEqual([{ path: ["settings", "Packages", at], message: expect.stringMatching(/did you mean openssh-server/) }]);
    expect(body.error.data.details.packages).toEqual([{ name: "opnssh-server", suggestions: expect.arrayContaining(["openssh-server"]) }]);

    expect(db.select().from(builds).all()).toEqual([]);
    expect(existsSync(buildsRoot(dataDir)) ? await readdir(buildsRoot(dataDir)) : []).toEqual([]);
    await api.profiles.save({ id: profileId, revision: saved.revision, document: doc });
  }, 120_000);
});

describe("without network", () => {
  it("keeps using the last index and says why the refresh failed", async () => {
    const before = await api.packages.status({ profileId });
    const proxy = process.env.http_proxy;
    // Port 9 (discard) on this machine: nothing listens, so apt cannot reach any mirror.
    process.env.http_proxy = "http://127.0.0.1:9";
    let after: IndexStatus;
    try {
      after = await api.packages.refresh({ profileId });
    } finally {
      if (proxy === undefined) delete process.env.http_proxy;
      else process.env.http_proxy = proxy;
    }
    expect(after.error).toMatch(/127\.0\.0\.1|connect|refused/i);
    expect(after.available).toBe(true);
    expect(after.packageCount).toBe(before.packageCount);
    expect(after.fetchedAt).toBe(before.fetchedAt);
    expect((await api.packages.search({ profileId, q: "openssh-server" })).hits[0]?.name).toBe("openssh-server");
    // The check goes on with the last index.
    const check = await indexes().check(withPackages(doc, ["opnssh-server"]));
    expect(check.problems.some((p) => /did you mean openssh-server/.test(p.message))).toBe(true);
    await indexes().refresh(spec);
  }, 120_000);

  it("does not block a build when the index was never fetched: a warning says the names were not checked", async () => {
    const offline = { ...doc, repositories: [{ uri: "http://127.0.0.1:9/debian", suites: ["bookworm"], components: ["main"] }] };
    const check = await indexes().check(offline);
    expect(check.status.available).toBe(false);
    expect(check.problems).toEqual([{ path: ["settings", "Packages"], severity: "warning", message: expect.stringMatching(/package names were not checked: the package index of http:\/\/127\.0\.0\.1:9\/debian .* could not be fetched/) }]);
    // The same at build start: no refusal, the warning comes back with the queued build.
    expect(await indexes().preflight(offline)).toEqual([check.problems[0]!.message]);
    // Nothing was written for it: no index file, and not half of one.
    const r = indexSpec(offline);
    const file = aptPaths(dataDir, r.ok ? r.spec.key : "none").index;
    expect([existsSync(file), existsSync(`${file}.new`)]).toEqual([false, false]);
  }, 120_000);
});

describe("a build's manifest and SBOM", () => {
  /** A finished build made by hand: its profile.json and mkosi's JSON manifest in output/. */
  async function fakeBuild(packages: { name: string; version: string; architecture: string }[]): Promise<number> {
    const row = db.insert(builds).values({ profileId, profileName: "debian", profileRevision: 1, state: "succeeded", queuedAt: new Date(), mkosiVersion: "24.3" }).returning().get();
    const paths = buildPaths(dataDir, row.id);
    await mkdir(paths.output, { recursive: true });
    await writeFile(join(paths.dir, "profile.json"), JSON.stringify(doc));
    const manifest = { manifest_version: 1, config: { name: "immutable-debian", distribution: "debian", architecture: "x86-64", version: "1", release: "bookworm" }, packages: packages.map((p) => ({ type: "deb", ...p })) };
    await writeFile(join(paths.output, "immutable-debian_1.manifest"), JSON.stringify(manifest));
    return row.id;
  }

  it("lists what was installed with sizes from the index and what the profile asked for; the SBOM passes SPDX 2.3's schema", async () => {
    const ssh = (await api.packages.search({ profileId, q: "openssh-server" })).hits[0]!;
    const systemd = (await api.packages.search({ profileId, q: "systemd" })).hits[0]!;
    const id = await fakeBuild([
      { name: "systemd", version: systemd.version!, architecture: "amd64" },
      { name: "openssh-server", version: ssh.version!, architecture: "amd64" },
      { name: "not-in-the-index", version: "1.0", architecture: "all" },
    ]);
    const out = buildPaths(dataDir, id).output;
    expect(await writeSbom(out, { mkosiVersion: "24.3" })).toBe("immutable-debian_1.spdx.json");
    const m = await api.packages.manifest({ buildId: id });
    expect(m.file).toBe("immutable-debian_1.manifest");
    expect(m.sbom).toBe("immutable-debian_1.spdx.json");
    expect(m.packages.map((p) => [p.name, p.asked])).toEqual([["not-in-the-index", false], ["openssh-server", false], ["systemd", true]]);
    expect(m.packages.find((p) => p.name === "openssh-server")!.installedKib).toBe(ssh.installedKib);
    expect(m.packages[0]!.installedKib).toBeNull();

    const sbom = JSON.parse(await readFile(join(out, "immutable-debian_1.spdx.json"), "utf8")) as { packages: { name: string; externalRefs?: { referenceLocator: string }[] }[] };
    expect(spdxErrors(sbom)).toEqual([]);
    expect(sbom.packages.find((p) => p.name === "openssh-server")!.externalRefs![0]!.referenceLocator).toBe(`pkg:deb/debian/openssh-server@${encodeURIComponent(ssh.version!)}?arch=amd64`);
    // Listed with the other artifacts, so the download route serves it.
    const files = await api.artifacts.hash({ buildId: id });
    expect(files.files.find((f) => f.name === "immutable-debian_1.spdx.json")).toMatchObject({ kind: "manifest", kindLabel: expect.stringMatching(/SPDX 2\.3/), downloadUrl: `/api/builds/${id}/artifacts/immutable-debian_1.spdx.json` });

    const other = await fakeBuild([
      { name: "systemd", version: "999-1", architecture: "amd64" },
      { name: "openssh-server", version: ssh.version!, architecture: "amd64" },
      { name: "curl", version: "7.88.1-10", architecture: "amd64" },
    ]);
    const d = await api.packages.manifestDiff({ buildId: id, againstBuildId: other });
    expect(d.added.map((p) => p.name)).toEqual(["curl"]);
    expect(d.removed.map((p) => p.name)).toEqual(["not-in-the-index"]);
    expect(d.changed).toEqual([{ name: "systemd", architecture: "amd64", from: systemd.version, to: "999-1" }]);
    expect(d.unchanged).toBe(1);
    await expect(api.packages.manifestDiff({ buildId: id, againstBuildId: id })).rejects.toThrow(/another build/);
  });

  it("says why a build has no manifest", async () => {
    const row = db.insert(builds).values({ profileId, profileName: "debian", profileRevision: 1, state: "failed", queuedAt: new Date(), mkosiVersion: "24.3" }).returning().get();
    expect(await api.packages.manifest({ buildId: row.id })).toMatchObject({ file: null, packages: [], reason: expect.stringMatching(/has not succeeded/) });
    await expect(api.packages.manifest({ buildId: 999_999 })).rejects.toThrow(/does not exist/);
  });
});
