// writeProject never writes outside the project folder, not even through a link the project holds.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readlink, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readSnapshot } from "@/server/builds/snapshot";
import { emptyDocument, profileDocumentSchema } from "@/server/mkosi/profile";
import { render, type RenderedFile } from "@/server/mkosi/render";
import { validateDocument } from "@/server/mkosi/validate";
import { writeProject } from "@/server/profiles/project-dir";

let dir: string;
let victim: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "project-dir-"));
  victim = await mkdtemp(join(tmpdir(), "victim-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(victim, { recursive: true, force: true });
});

const file = (path: string, content: string, origin: RenderedFile["origin"] = "extra"): RenderedFile => ({ path, content, encoding: "utf8", mode: 0o644, origin });

describe("writeProject", () => {
  it("refuses a file under a link that points out of the project, and writes nothing there", async () => {
    const link: RenderedFile = { path: "mkosi.extra/etc", content: victim, encoding: "symlink", mode: 0o777, origin: "raw" };
    // Even with the link written first, the file must not land in the victim folder.
    await expect(writeProject(dir, [link, file("mkosi.extra/etc/motd", "owned")])).rejects.toThrow();
    expect(existsSync(join(victim, "motd"))).toBe(false);
  });

  it("writes a build's snapshot of a secret file owner-only, so mkosi accepts it", async () => {
    const doc = profileDocumentSchema.parse({
      settings: {},
      rawFiles: [{ path: "mkosi.rootpw", encoding: "utf8", content: "root\n", mode: 0o644, reason: "read by mkosi as RootPassword=" }],
    });
    await writeProject(dir, render(doc));
    expect((await stat(join(dir, "mkosi.rootpw"))).mode & 0o7777).toBe(0o600);
    expect((await readSnapshot(dir)).find((f) => f.path === "mkosi.rootpw")?.mode).toBe(0o600);
  });

  it("keeps an image-tree link as a link", async () => {
    await writeProject(dir, [{ path: "mkosi.extra/etc/localtime", content: "/usr/share/zoneinfo/UTC", encoding: "symlink", mode: 0o777, origin: "raw" }]);
    expect(await readlink(join(dir, "mkosi.extra/etc/localtime"))).toBe("/usr/share/zoneinfo/UTC");
  });

  it.each(["../x", "/etc/passwd", "a//b", "a/./b", "a\\b"])("refuses the path %j", async (path) => {
    await expect(writeProject(dir, [file(path, "x")])).rejects.toThrow(/refusing/);
  });

  it("writes a persistent mount unit whose name carries systemd's \\x2d escape", async () => {
    const doc = emptyDocument();
    doc.overlay = { scheme: "persistent", mountPoint: "/var/lib/my-data", label: "data", format: "ext4", size: "1G" };
    await writeProject(dir, render(doc));
    const unit = await readFile(join(dir, "mkosi.extra/etc/systemd/system/var-lib-my\\x2ddata.mount"), "utf8");
    expect(unit).toContain("Where=/var/lib/my-data");
  });
});

describe("validateDocument and links", () => {
  it("refuses an extra file under a raw link", () => {
    const doc = emptyDocument();
    doc.rawFiles.push({ path: "mkosi.extra/etc", encoding: "symlink", content: "/tmp/victim", mode: 0o777, reason: "link" });
    doc.extraFiles.push({ path: "etc/motd", content: "hi", mode: "0644" });
    const r = validateDocument(doc);
    expect(r.ok).toBe(false);
    expect(r.problems).toContainEqual({ path: ["extraFiles"], message: expect.stringMatching(/mkosi\.extra\/etc\/motd lies under a link/) });
  });
});
