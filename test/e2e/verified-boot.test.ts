// Verified boot in the editor, in a real browser against the built app: a Debian 13 profile
// switched to Secure Boot with a signed dm-verity root, a key generated on the spot, the
// verity and signature partitions in the disk picture, and the key files in the preview by
// path: the private key's content never reaches the page.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeServerAndBrowser, openServerAndBrowser, signIn, type TestServer } from "@/test/support/server";

let server: TestServer;
let browser: Browser;

beforeAll(async () => void ({ server, browser } = await openServerAndBrowser()));
afterAll(() => closeServerAndBrowser(server, browser));

const text = (page: Page, testId: string) => page.getByTestId(testId).first().textContent().then((t) => t ?? "");

describe("verified boot in the profile editor", () => {
  it("switches a profile to verified boot, generates a key, draws the verity partitions and lists the key files by path", async () => {
    const page = await signIn(await browser.newContext({ viewport: { width: 1600, height: 1000 } }), server);
    await page.goto(`${server.url}/`);
    await page.getByTestId("new-profile").click();
    await page.getByTestId("new-profile-name").fill("edge");
    await page.getByTestId("preset-select").selectOption("immutable-debian-13");
    await page.getByTestId("create-profile").click();
    await page.waitForURL(/\/profiles\/\d+$/);
    await expect.poll(() => text(page, "save-status"), { timeout: 15_000 }).toContain("Saved");

    // Secure Boot and a signed verity root: the form asks for a key at its field.
    await page.locator("#setting-SecureBoot").check();
    await page.getByTestId("verity-signed").check();
    await expect.poll(() => page.locator("#field-signingKey").textContent()).toMatch(/choose a key and certificate from the key store, or generate one/);

    // The disk picture: the root, its hash partition and its signature partition.
    const blocks = () => page.getByTestId("disk-block").evaluateAll((els) => els.map((e) => e.getAttribute("title") ?? ""));
    await expect.poll(blocks).toEqual([
      expect.stringMatching(/^#1 esp/),
      expect.stringMatching(/^#2 root · format squashfs · label root · dm-verity data of root/),
      expect.stringMatching(/^#3 root-verity · label root-verity · dm-verity hash of root/),
      expect.stringMatching(/^#4 root-verity-sig · label root-verity-sig · dm-verity signature of root/),
    ]);

    // A key generated here is chosen at once and shown by its certificate's facts.
    await page.getByTestId("new-key-id").fill("edge-key");
    await page.getByTestId("generate-key").click();
    await expect.poll(() => page.getByTestId("signing-key").inputValue(), { timeout: 30_000 }).toBe("edge-key");
    const facts = await text(page, "signing-key-facts");
    expect(facts).toMatch(/CN=edge-key/);
    expect(facts).toMatch(/([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    expect(facts).toMatch(/keys\/edge-key\/key\.pem \(0600\)/);

    // The preview names the key files by path; no file in it is one of them.
    await expect.poll(() => text(page, "preview-key-mkosi.key")).toMatch(/mkosi\.key.*private key, read as SecureBootKey, VerityKey: supplied from the key store \(key 'edge-key'\)/);
    expect(await text(page, "preview-key-mkosi.crt")).toMatch(/certificate, read as SecureBootCertificate, VerityCertificate/);
    await expect(page.getByTestId("preview-tab-mkosi.key").count()).resolves.toBe(0);
    await page.getByTestId("preview-tab-mkosi.repart/30-root-verity-sig.conf").click();
    await expect.poll(() => text(page, "preview-content")).toMatch(/Verity=signature\s*VerityMatchKey=root/);

    await page.getByTestId("save-button").click();
    await expect.poll(() => text(page, "save-status"), { timeout: 15_000 }).toContain("Saved");
    await page.reload();
    await expect.poll(() => page.getByTestId("signing-key").inputValue(), { timeout: 15_000 }).toBe("edge-key");
    // Nothing on the page, after all that, is a private key.
    expect(await page.content()).not.toMatch(/PRIVATE KEY-----/);
  }, 120_000);
});
