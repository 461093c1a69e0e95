// The Packages field in a real browser against the built app and the real package index of the
// Debian preset's repositories (apt-get update through this machine's mirror; the lists kept
// between runs are seeded into the server's data folder): type "openss", pick openssh-server
// from the suggestions with the keyboard, see what it pulls in, save, and find it in the preview.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostFacts } from "@/server/host/facts";
import { findPreset } from "@/server/mkosi/presets";
import { indexSpec } from "@/server/packages/sources";
import { keepLists, seedLists } from "../integration/packages-helpers";
import { launchBrowser, signIn, startServer, type TestServer } from "@/test/support/server";

let server: TestServer;
let browser: Browser;
let dataDir: string;
let key: string | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "image-studio-e2e-packages-"));
  const spec = indexSpec(findPreset("immutable-debian-12")!.build(hostFacts()));
  if (spec.ok) {
    key = spec.spec.key;
    await seedLists(dataDir, key);
  }
  server = await startServer({ dataDir });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (key) await keepLists(dataDir, key).catch(() => undefined);
  await rm(dataDir, { recursive: true, force: true });
});

const text = (page: Page, testId: string) => page.getByTestId(testId).first().textContent().then((t) => t ?? "");

async function previewOf(page: Page, path: string): Promise<string> {
  await page.getByTestId(`preview-tab-${path}`).click();
  await expect.poll(() => page.getByTestId("preview-content").getAttribute("data-path")).toBe(path);
  return text(page, "preview-content");
}

describe("the Packages field", () => {
  it("suggests openssh-server for 'openss', picks it with the keyboard, shows what it pulls in, and saves it", async () => {
    const profile = await server.api.mutation<{ id: number }>("profiles.create", { name: "e2e-packages", presetId: "immutable-debian-12" });
    const page = await signIn(await browser.newContext({ viewport: { width: 1600, height: 1000 } }), server);
    await page.goto(`${server.url}/profiles/${profile.id}`);
    await expect.poll(() => text(page, "save-status"), { timeout: 15_000 }).toContain("Saved");
    expect(await previewOf(page, "mkosi.conf")).not.toMatch(/openssh-server/);

    const input = page.getByTestId("list-input-Packages");
    await input.click();
    await input.pressSequentially("openss", { delay: 40 });
    // The first use fetches the index (the status line says so), then the suggestions come.
    const wanted = page.locator('[data-testid=suggestion][data-value="openssh-server"]');
    await wanted.waitFor({ timeout: 180_000 });
    expect(await text(page, "package-index-status")).toMatch(/Package index: [\d,]+ packages, fetched/);
    const values = await page.getByTestId("suggestion").evaluateAll((els) => els.map((e) => e.getAttribute("data-value")));
    expect(values[0]).toMatch(/^openss/); // names starting with the text come first
    await expect.poll(() => wanted.textContent()).toMatch(/openssh-server\s*1:9\.[\s\S]*secure shell/i);

    // Down to it, then Enter: the highlighted one is added, not the typed text.
    for (let i = 0; i <= values.indexOf("openssh-server"); i++) await input.press("ArrowDown");
    expect(await wanted.getAttribute("aria-selected")).toBe("true");
    await input.press("Enter");
    await expect.poll(() => page.locator("[data-testid=list-item]", { hasText: /^openssh-server/ }).count()).toBe(1);
    expect(await page.locator("[data-testid=list-item]", { hasText: /^openss✕?$/ }).count()).toBe(0);
    expect(await input.inputValue()).toBe("");

    await expect.poll(() => text(page, "pull-in"), { timeout: 120_000 }).toMatch(/openssh-server adds \d+ packages?, [\d.]+ [KMG]iB installed/);

    await page.getByTestId("save-button").click();
    await expect.poll(() => text(page, "save-status"), { timeout: 15_000 }).toContain("Saved");
    expect(await previewOf(page, "mkosi.conf")).toMatch(/^\s+openssh-server$/m);
    await page.reload();
    await expect.poll(() => text(page, "save-status"), { timeout: 15_000 }).toContain("Saved");
    expect(await previewOf(page, "mkosi.conf")).toMatch(/^\s+openssh-server$/m);
    await page.context().close();
  }, 360_000);
});
