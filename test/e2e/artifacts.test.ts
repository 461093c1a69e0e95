// Artifacts in the browser: one real build through the API (the only honest way to get a
// succeeded build out of the server, ~2-3 minutes), then on its page start a qcow2
// conversion, see its progress bar finish, and download the converted file, whose bytes must
// equal the artifact in the server's data folder. Then the same build (not built again) is
// booted from its page and used through the console panel. Needs root, mkosi 24+, qemu-img,
// qemu-system-x86_64 and OVMF.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { get, type IncomingHttpHeaders } from "node:http";
import { join } from "node:path";
import type { Browser, Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPaths } from "@/server/builds/paths";
import { PRESETS } from "@/server/mkosi/presets";
import { launchBrowser, signIn, startServer, type TestServer } from "@/test/support/server";

const BUILD_TIMEOUT_MS = 8 * 60_000;
/** Boot to a root shell: ~70-120 s under software emulation on these machines. */
const LOGIN_TIMEOUT_MS = 5 * 60_000;
const debianPreset = PRESETS.find((p) => p.id === "immutable-debian-12") ?? PRESETS.find((p) => p.id.includes("debian"));

let server: TestServer;
let browser: Browser;
/** The succeeded build of the first test, reused by the next: one build for the file. */
let builtId: number | undefined;

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const call = <T>(path: string, input: unknown, method: "GET" | "POST" = "POST"): Promise<T> =>
  method === "POST" ? server.api.mutation<T>(path, input) : server.api.query<T>(path, input);

function sha256File(path: string): Promise<string> {
  return new Promise((ok, fail) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (d) => h.update(d))
      .on("end", () => ok(h.digest("hex")))
      .on("error", fail);
  });
}

/** The file called `name` anywhere in the build's folder (conversions may sit beside the outputs). */
async function findInBuild(buildId: number, name: string): Promise<string | undefined> {
  const dir = buildPaths(server.dataDir, buildId).dir;
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const hit = entries.find((e) => e.isFile() && e.name === name);
  return hit ? join(hit.parentPath, hit.name) : undefined;
}

/** A GET as sent on the wire (fetch would hide how the body was framed); counts the body's bytes. */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; bytes: number }> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { authorization: `Bearer ${server.token}`, ...headers } }, (res) => {
      let bytes = 0;
      res.on("data", (d: Buffer) => (bytes += d.length));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
      res.on("error", reject);
    }).on("error", reject);
  });
}

describe("artifacts", () => {
  it(
    "converts a real build's disk image to qcow2 with a live progress bar, and the download equals the file on disk",
    async () => {
      expect(debianPreset, "a Debian preset exists").toBeDefined();
      const profile = await call<{ id: number }>("profiles.create", { name: "e2e-artifacts", presetId: debianPreset!.id });
      const build = await call<{ id: number }>("builds.start", { profileId: profile.id });

      await expect
        .poll(
          async () => {
            const b = await call<{ state: string; message: string | null; failureLines: string[] }>("builds.get", { id: build.id }, "GET");
            if (b.state === "failed" || b.state === "cancelled" || b.state === "interrupted")
              throw new Error(`build ${build.id} ended ${b.state}: ${b.message ?? ""}\n${b.failureLines.join("\n")}`);
            return b.state;
          },
          { timeout: BUILD_TIMEOUT_MS, interval: 2000 },
        )
        .toBe("succeeded");
      builtId = build.id;

      const context = await browser.newContext({ viewport: { width: 1600, height: 1200 }, acceptDownloads: true });
      const page = await signIn(context, server);
      await page.goto(`${server.url}/builds/${build.id}`);

      const artifacts = page.getByTestId("artifacts");
      const disk = artifacts.locator("[data-testid=artifact-row][data-kind=disk]").first();
      await disk.waitFor({ timeout: 60_000 });
      // The partition table is read from the image and drawn.
      await expect.poll(() => page.getByTestId("image-partition").count(), { timeout: 60_000 }).toBeGreaterThan(0);
      expect(await page.getByTestId("disk-inspect").innerText()).toContain("read from the image");

      // Record every value the progress bar shows, however quickly the conversion goes.
      await page.evaluate(() => {
        const w = window as unknown as { __progress: number[] };
        w.__progress = [];
        const seen = () =>
          document.querySelectorAll("[data-testid=conversion-progress]").forEach((el) => w.__progress.push(Number(el.getAttribute("aria-valuenow"))));
        new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-valuenow"] });
      });
      // The convert answer (its job at 0%) is held until the stream has shown later progress or
      // the end: the order a loaded machine once delivered them in, when the bar went 0, 4, 0.
      await page.route(/\/api\/trpc\/[^?]*artifacts\.convert/, async (route) => {
        const response = await route.fetch();
        await page
          .waitForFunction(
            () =>
              (window as unknown as { __progress: number[] }).__progress.some((p) => p > 0) ||
              document.querySelector("[data-testid=conversion-job][data-state=succeeded]") !== null,
            null,
            { timeout: 60_000 },
          )
          .catch(() => undefined);
        await route.fulfill({ response });
      });
      await page.getByTestId("convert-qcow2").click();

      const job = page.locator("[data-testid=conversion-job][data-format=qcow2]");
      await expect.poll(() => job.getAttribute("data-state"), { timeout: 5 * 60_000, interval: 250 }).toBe("succeeded");
      expect(await job.getByTestId("conversion-percent").innerText()).toBe("100%");
      const progress = await page.evaluate(() => (window as unknown as { __progress: number[] }).__progress);
      expect(progress.length).toBeGreaterThan(0);
      expect(Math.max(...progress)).toBe(100);
      // The bar only moves forward.
      expect(progress).toEqual([...progress].sort((a, b) => a - b));

      // The finished file is listed with the others, with its own checksum.
      const row = artifacts.locator("[data-testid=artifact-row]").filter({ has: page.locator("code", { hasText: /\.qcow2$/ }) });
      await row.waitFor({ timeout: 30_000 });
      const name = (await row.getAttribute("data-name"))!;
      expect(name).toMatch(/\.qcow2$/);
      // Its digest is computed in the background and arrives without a reload.
      await expect
        .poll(() => row.locator("[data-sha256]").getAttribute("data-sha256", { timeout: 1000 }).catch(() => null), { timeout: 180_000, interval: 500 })
        .toMatch(/^[0-9a-f]{64}$/);
      const shownSha = (await row.locator("[data-sha256]").getAttribute("data-sha256"))!;

      const [download] = await Promise.all([page.waitForEvent("download"), row.getByTestId("artifact-download").click()]);
      expect(download.suggestedFilename()).toBe(name);
      const downloaded = await download.path();
      expect(await download.failure()).toBeNull();

      const onDisk = await findInBuild(build.id, name);
      expect(onDisk, `${name} is in the build's folder`).toBeDefined();
      const [gotSha, diskSha] = await Promise.all([sha256File(downloaded), sha256File(onDisk!)]);
      expect(gotSha).toBe(diskSha);
      expect(shownSha).toBe(diskSha);

      // The real server sends the length, so the browser's download shows real progress (Next's
      // route handlers would drop it and send the body chunked), and a resumed download gets
      // the rest.
      const size = (await stat(onDisk!)).size;
      const whole = await rawGet(`${server.url}${await row.getByTestId("artifact-download").getAttribute("href")}`);
      expect(whole.status).toBe(200);
      expect(whole.headers["content-length"]).toBe(String(size));
      expect(whole.headers["transfer-encoding"]).toBeUndefined();
      expect(whole.bytes).toBe(size);
      const rest = await rawGet(`${server.url}/api/builds/${build.id}/artifacts/${encodeURIComponent(name)}`, { Range: `bytes=${size - 1000}-` });
      expect(rest.status).toBe(206);
      expect(rest.headers["content-length"]).toBe("1000");
      expect(rest.headers["content-range"]).toBe(`bytes ${size - 1000}-${size - 1}/${size}`);

      // A second request reuses the file instead of converting again.
      await page.getByTestId("convert-qcow2").click();
      await expect.poll(() => page.getByTestId("conversion-notice").innerText().catch(() => ""), { timeout: 15_000 }).toContain("reused");
      expect(await artifacts.locator("[data-testid=artifact-row]").filter({ has: page.locator("code", { hasText: /\.qcow2$/ }) }).count()).toBe(1);
      await context.close();
    },
    BUILD_TIMEOUT_MS + 8 * 60_000,
  );

  it(
    "boots that build from its page: the login shows in the console panel, a typed command answers, Stop turns the VM off",
    async () => {
      expect(builtId, "the test above built the Debian preset").toBeDefined();
      const context = await browser.newContext({ viewport: { width: 1600, height: 1200 } });
      const page = await signIn(context, server);
      await page.goto(`${server.url}/builds/${builtId}`);

      const panel = page.getByTestId("vm-panel");
      await panel.getByTestId("vm-boot").click();
      // A refused start (no QEMU, no firmware) says why beside the button instead.
      const run = panel.getByTestId("vm-run");
      await Promise.race([
        run.waitFor({ timeout: 60_000 }),
        panel
          .getByTestId("vm-start-error")
          .waitFor({ timeout: 60_000 })
          .then(async () => {
            throw new Error(`the VM did not start: ${await panel.getByTestId("vm-start-error").innerText()}`);
          }),
      ]);
      expect(await run.getAttribute("data-purpose")).toBe("console");
      expect(["kvm", "tcg"]).toContain(await run.getByTestId("vm-accel").getAttribute("data-accel"));

      const terminal = panel.getByTestId("vm-terminal");
      await terminal.locator(".xterm-rows").waitFor({ timeout: 30_000 });
      // xterm stops drawing while it is off screen.
      await terminal.scrollIntoViewIfNeeded();
      const vmState = () => run.getAttribute("data-state");
      const failIfEnded = async () => {
        const state = await vmState();
        if (state === "stopped" || state === "failed")
          throw new Error(`the VM ended (${state}): ${await run.getByTestId("vm-message").innerText().catch(() => "")}\n${await screenText(terminal)}`);
      };

      // The rows show only the screen; lines seen once are remembered, as they may scroll away.
      let sawAutologin = false;
      await expect
        .poll(
          async () => {
            await failIfEnded();
            const text = await screenText(terminal);
            sawAutologin ||= /login: root \(automatic login\)/.test(text);
            return sawAutologin && /root@immutable-debian:~#/.test(text);
          },
          { timeout: LOGIN_TIMEOUT_MS, interval: 250 },
        )
        .toBe(true);

      // The console of a running console session takes keys.
      await expect.poll(() => terminal.getAttribute("data-interactive"), { timeout: 10_000 }).toBe("true");
      await terminal.locator(".xterm-screen").click();
      await page.keyboard.type("echo $((6*7))");
      await page.keyboard.press("Enter");
      await expect
        .poll(
          async () => {
            await failIfEnded();
            return screenText(terminal);
          },
          { timeout: 60_000, interval: 250 },
        )
        .toMatch(/^42 *$/m);

      await panel.getByTestId("vm-stop").click();
      await expect.poll(vmState, { timeout: 30_000, interval: 250 }).toBe("stopped");
      expect(await run.getByTestId("vm-message").innerText()).toBe("stopped");
      await expect.poll(() => panel.getByTestId("vm-stop").count(), { timeout: 10_000 }).toBe(0);
      expect(await terminal.getAttribute("data-interactive")).toBeNull();
      const row = panel.locator(`[data-testid=vm-run-row][data-run-id="${await run.getAttribute("data-run-id")}"]`);
      expect(await row.getAttribute("data-state")).toBe("stopped");
      await context.close();
    },
    LOGIN_TIMEOUT_MS + 3 * 60_000,
  );
});

/** What the terminal shows now (its visible rows), with xterm's non-breaking spaces as spaces. */
async function screenText(terminal: Locator): Promise<string> {
  const text = await terminal.locator(".xterm-rows").innerText().catch(() => "");
  return text.replace(/\u00a0/g, " ");
}
