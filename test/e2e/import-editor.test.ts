// An imported project in a real browser against the built app: a partition layout that breaks
// the form's rules is in the partition editor with the problem at its field, and the file mkosi
// reads the root password from is hidden until shown, like the RootPassword field.
import { gzipSync } from "node:zlib";
import type { Browser, Page } from "playwright-core";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, startServer, type TestServer } from "./server";

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
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
    const page = await context.newPage();
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
