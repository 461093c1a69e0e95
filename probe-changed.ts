import { mkdtemp, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildQueue, closeBuildQueue } from "@/server/builds/queue";
import { openDatabase } from "@/server/db/client";
import { hostFacts } from "@/server/host/facts";
import { findPreset } from "@/server/mkosi/presets";
import { aptPaths, listFiles } from "@/server/packages/apt";
import { packageIndexes } from "@/server/packages/service";
import { indexSpec } from "@/server/packages/sources";
const doc = findPreset("immutable-debian-12")!.build(hostFacts());
const r = indexSpec(doc); if (!r.ok) throw new Error(r.reason);
const dir = await mkdtemp(join(tmpdir(), "pch-"));
const db = openDatabase(join(dir, "x.sqlite"));
const q = buildQueue(db, { dataDir: dir, concurrency: 1, mkosi: ["/bin/false"] });
const ix = packageIndexes(q);
await ix.refresh(r.spec);
const big = (await listFiles(aptPaths(dir, r.spec.key), r.spec)).sort((a, b) => b.size - a.size)[0]!;
for (let i = 0; i < 4; i++) {
  await utimes(big.path, new Date(), new Date(Date.now() - 60_000 * (i + 1)));
  const t0 = performance.now(); const c0 = process.cpuUsage();
  await ix.refresh(r.spec);
  const c = process.cpuUsage(c0);
  console.log("changed", (performance.now() - t0).toFixed(0), "cpu", ((c.user + c.system) / 1000).toFixed(0));
}
await closeBuildQueue(db); db.$client.close(); await rm(dir, { recursive: true, force: true });
