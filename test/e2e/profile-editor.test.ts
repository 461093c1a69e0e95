// The profile editor in a real browser against the built app: compose, preview, save,
// reload, export; two tabs saving the same profile; and an imported project, whose partition
// layout breaks the form's rules (in the editor, marked at its field) and whose mkosi.rootpw is
// hidden until shown, like the RootPassword field.
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import type { Browser, Page } from "playwright-core";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRESETS } from "@/server/mkosi/presets";
import { closeServerAndBrowser, openServerAndBrowser, signIn, type TestServer } from "@/test/support/server";

const debianPreset = PRESETS.find((p) => p.id.includes("debian"));

let server: TestServer;
let browser: Browser;

beforeAll(async () => void ({ server, browser } = await openServerAndBrowser()));
afterAll(() => closeServerAndBrowser(server, browser));

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, acceptDownloads: true });
  return signIn(context, server);
}

const text = (page: Page, testId: string) => page.getByTestId(testId).first().textContent().then((t) => t ?? "");

async function waitSaved(page: Page) {
  await expect.poll(() => text(page, "save-status"), { timeout: 15_000 }).toContain("Saved");
}

/** Creates a profile from the Debian preset through the list page; returns the editor's URL. */
async function createFromDebianPreset(page: Page, name: string): Promise<string> {
  expect(debianPreset, "a Debian preset exists").toBeDefined();
  await page.goto(`${server.url}/`);
  await page.getByTestId("new-profile").click();
  await page.getByTestId("new-profile-name").fill(name);
  await page.getByTestId("preset-select").selectOption(debianPreset!.id);
  await page.getByTestId("create-profile").click();
  await page.waitForURL(/\/profiles\/\d+$/);
  await waitSaved(page);
  return page.url();
}

async function addPackage(page: Page, name: string) {
  const input = page.getByTestId("list-input-Packages");
  await input.fill(name);
  await input.press("Enter");
}

const packageChip = (page: Page, name: string) =>
  page.locator("[data-testid=list-item]", { hasText: new RegExp(`^${name}`) }).filter({ has: page.getByRole("button", { name: `Remove ${name}` }) });

async function previewOf(page: Page, path: string): Promise<string> {
  await page.getByTestId(`preview-tab-${path}`).click();
  await expect.poll(() => page.getByTestId("preview-content").getAttribute("data-path")).toBe(path);
  return text(page, "preview-content");
}

async function readTarGz(data: Buffer): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const extract = tar.extract();
  Readable.from([gunzipSync(data)]).pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    files.set(entry.header.name, Buffer.concat(chunks).toString("utf8"));
  }
  return files;
}

describe("profile editor", () => {
  it("adds a package, previews it, saves, keeps it after a reload and exports it", async () => {
    const page = await newPage();
    await createFromDebianPreset(page, "e2e-debian");

    expect(await previewOf(page, "mkosi.conf")).not.toMatch(/\bhtop\b/);
    await addPackage(page, "htop");
    // The preview renders in the browser, as the user types.
    await expect.poll(() => text(page, "preview-content")).toMatch(/^\s+htop$/m);
    expect(await text(page, "save-status")).not.toContain("Saved");

    await page.getByTestId("save-button").click();
    await waitSaved(page);

    await page.reload();
    await waitSaved(page);
    await expect.poll(() => packageChip(page, "htop").count()).toBe(1);
    expect(await previewOf(page, "mkosi.conf")).toMatch(/^\s+htop$/m);

    // Copy puts the file on the clipboard exactly as previewed, and says so.
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    await page.getByTestId("preview-copy").click();
    await expect.poll(() => text(page, "preview-copy")).toBe("Copied");
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toMatch(/^\s+htop$/m);
    expect(copied.trim()).toBe((await text(page, "preview-content")).trim());
    await expect.poll(() => text(page, "preview-copy"), { timeout: 5_000 }).toBe("Copy");

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-link").click()]);
    const archive = await readFile((await download.path())!);
    const files = await readTarGz(archive);
    const conf = [...files].find(([name]) => name === "mkosi.conf" || name.endsWith("/mkosi.conf"));
    expect(conf, `mkosi.conf in the archive (has ${[...files.keys()].join(", ")})`).toBeDefined();
    expect(conf![1]).toMatch(/^\s+htop$/m);
    await page.context().close();
  });

  it("shows a conflict when another tab saved first, and keeps this tab's edits", async () => {
    const first = await newPage();
    const url = await createFromDebianPreset(first, "e2e-conflict");
    const second = await newPage();
    await second.goto(url);
    await waitSaved(second);

    await addPackage(first, "curl");
    await first.getByTestId("save-button").click();
    await waitSaved(first);

    await addPackage(second, "vim");
    await second.getByTestId("save-button").click();
    await second.getByTestId("conflict-banner").waitFor({ timeout: 15_000 });
    expect(await packageChip(second, "vim").count()).toBe(1);
    expect(await text(second, "save-status")).not.toContain("Saved");

    // "Overwrite with mine" saves the second tab's document over the first's.
    await second.getByTestId("conflict-overwrite").click();
    await waitSaved(second);
    expect(await second.getByTestId("conflict-banner").count()).toBe(0);
    await first.reload();
    await waitSaved(first);
    await expect.poll(() => packageChip(first, "vim").count()).toBe(1);
    expect(await packageChip(first, "curl").count()).toBe(0);
    await first.context().close();
    await second.context().close();
  });
});

const PASSWORD = "hunter2-not-for-onlookers";

async function projectArchive(): Promise<Buffer> {
  const entries: [string, string, number][] = [
    ["edge/mkosi.conf", "[Distribution]\nDistribution=debian\nRelease=bookworm\n\n[Output]\nFormat=disk\n\n[Content]\nBootable=yes\nAutoLogin=yes\n", 0o644],
    ["edge/mkosi.repart/00-esp.conf", "[Partition]\nType=esp\nFormat=vfat\nCopyFiles=/efi:/\n", 0o644],
    ["edge/mkosi.repart/10-root.conf", "[Partition]\nType=root\nFormat=squashfs\nCopyFiles=/\n", 0o644],
    // As a git clone has it.
    ["edge/mkosi.rootpw", `${PASSWORD}\n`, 0o644],
  ];
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const [name, data, mode] of entries)
    await new Promise<void>((resolve, reject) => pack.entry({ name, mode }, data, (e) => (e ? reject(e) : resolve())));
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

async function importThroughTheDialog(page: Page): Promise<void> {
  await page.goto(`${server.url}/`);
  await page.getByTestId("import-profile").click();
  await page.getByTestId("import-file").setInputFiles({ name: "edge.tar.gz", mimeType: "application/gzip", buffer: await projectArchive() });
  await page.getByTestId("import-submit").click();
  await expect.poll(() => page.getByTestId("import-problems").textContent(), { timeout: 15_000 }).toMatch(/1 problem to fix before a build.*CopyFiles=\/boot:\//);
  await expect.poll(() => page.getByTestId("import-result").textContent()).toMatch(/AutoLogin= is read as Autologin=/);
  await page.getByRole("link", { name: "Open profile" }).click();
  await page.waitForURL(/\/profiles\/\d+$/);
}

describe("an imported project in the editor", () => {
  it("has its ESP in the partition editor, marked, and its root password file hidden until shown", async () => {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    const page = await signIn(context, server);
    try {
      await importThroughTheDialog(page);

      // The layout is in the editor (two partitions), the problem at the ESP's CopyFiles field.
      await expect.poll(() => page.getByTestId("partition").count(), { timeout: 15_000 }).toBe(2);
      const copyFiles = page.locator(`#field-partitions-0-copyFiles`);
      await expect.poll(() => copyFiles.textContent()).toMatch(/the ESP needs CopyFiles=\/boot:\//);

      // The preview hides the secret until asked, then shows it.
      await page.getByTestId("preview-tab-mkosi.rootpw").click();
      await expect.poll(() => page.getByTestId("preview-content").getAttribute("data-path")).toBe("mkosi.rootpw");
      const preview = page.getByTestId("preview-content");
      await expect.poll(() => preview.getByTestId("secret-hidden").count()).toBe(1);
      expect(await preview.textContent()).not.toContain(PASSWORD);
      expect(await page.locator("body").textContent()).not.toContain(PASSWORD);
      await preview.getByTestId("secret-toggle").click();
      await expect.poll(() => preview.textContent()).toContain(PASSWORD);
      await preview.getByTestId("secret-toggle").click();
      await expect.poll(() => preview.textContent()).not.toContain(PASSWORD);

      // The kept file says it is a secret and is written owner-only.
      const raw = page.getByTestId("raw-file").filter({ hasText: "mkosi.rootpw" });
      await expect.poll(() => raw.textContent()).toMatch(/secret/);
      expect(await raw.textContent()).toContain("mode 0600");
    } finally {
      await context.close();
    }
  });
});
