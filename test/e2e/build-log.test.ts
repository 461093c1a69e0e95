// A real build from the browser: press Build in the profile editor, watch mkosi's output
// arrive in the xterm panel while it runs, see the phase timeline fill and the state turn to
// succeeded, then download the log. Needs root and mkosi 24+ (a real build, ~2-3 minutes).
import { readFile } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRESETS } from "@/server/mkosi/presets";
import { launchBrowser, signIn, startServer, type TestServer } from "@/test/support/server";

const BUILD_TIMEOUT_MS = 8 * 60_000;

const debianPreset = PRESETS.find((p) => p.id === "immutable-debian-12") ?? PRESETS.find((p) => p.id.includes("debian"));

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

async function createProfile(name: string): Promise<number> {
  return (await server.api.mutation<{ id: number }>("profiles.create", { name, presetId: debianPreset!.id })).id;
}

const buildState = (page: Page) => page.getByTestId("build-header").getByTestId("build-state").getAttribute("data-state");
const terminalText = (page: Page) => page.locator("[data-testid=log-terminal] .xterm-rows").innerText().catch(() => "");

describe("build log", () => {
  it(
    "shows a real build's log live in the terminal, its phases, and its success; the log downloads",
    async () => {
      expect(debianPreset, "a Debian preset exists").toBeDefined();
      const profileId = await createProfile("e2e-build");
      const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, acceptDownloads: true });
      const page = await signIn(context, server);

      await page.goto(`${server.url}/profiles/${profileId}`);
      await expect.poll(() => page.getByTestId("save-status").textContent(), { timeout: 15_000 }).toContain("Saved");
      await page.getByTestId("build-button").click();
      // A refused start (missing tools, not root) shows its reason instead of navigating.
      await Promise.race([
        page.waitForURL(/\/builds\/\d+$/, { timeout: 30_000 }),
        page
          .getByTestId("build-error")
          .waitFor({ timeout: 30_000 })
          .then(async () => {
            throw new Error(`the build did not start: ${await page.getByTestId("build-error").innerText()}`);
          }),
      ]);
      const buildId = Number(/\/builds\/(\d+)$/.exec(page.url())![1]);
      expect(buildId).toBeGreaterThan(0);

      // While mkosi runs, its output appears in the terminal (not only once the build is over).
      let seenWhileRunning = "";
      await expect
        .poll(
          async () => {
            const state = await buildState(page);
            if (state !== "queued" && state !== "running") throw new Error(`the build ended (${state}) before its log was seen live`);
            const text = await terminalText(page);
            if (state === "running" && text.trim().length > 0) seenWhileRunning = text;
            return seenWhileRunning.length > 0;
          },
          { timeout: 120_000, interval: 250 },
        )
        .toBe(true);

      // mkosi's step lines become the timeline.
      await expect.poll(() => page.getByTestId("timeline-step").count(), { timeout: 120_000 }).toBeGreaterThan(0);

      await expect
        .poll(
          async () => {
            const state = await buildState(page);
            if (state === "failed" || state === "cancelled" || state === "interrupted") {
              const why = await page.getByTestId("failure-lines").innerText().catch(() => "");
              throw new Error(`build ${buildId} ended ${state}: ${why}`);
            }
            return state;
          },
          { timeout: BUILD_TIMEOUT_MS, interval: 1000 },
        )
        .toBe("succeeded");
      expect(await page.getByTestId("exit-code").innerText()).toBe("0");
      expect(await page.getByTestId("timeline-step").count()).toBeGreaterThan(3);

      const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("log-download").click()]);
      const log = await readFile((await download.path())!, "utf8");
      expect(log).toMatch(/^‣ /m);
      // The terminal shows the same output: its last lines are in the file.
      const lastShown = (await terminalText(page))
        .split("\n")
        .map((l) => l.replace(/\u00a0/g, " ").trim())
        .filter((l) => l.length > 8)
        .at(-1);
      expect(lastShown, "the terminal shows text").toBeDefined();
      expect(log.replace(/\x1b\[[0-9;]*m/g, "")).toContain(lastShown!.slice(0, 40));
      await context.close();
    },
    BUILD_TIMEOUT_MS + 3 * 60_000,
  );
});
