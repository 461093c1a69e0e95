// Starts the built app (`next start`, after `next build`) on a free port with its own empty
// data folder, waits until it answers, and stops it again; and launches the browser.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser } from "playwright-core";

const ROOT = resolve(import.meta.dirname, "../..");

export interface TestServer {
  url: string;
  dataDir: string;
  stop: () => Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, "127.0.0.1", ok));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((ok) => srv.close(() => ok()));
  return port;
}

export async function startServer({ timeoutMs = 60_000 } = {}): Promise<TestServer> {
  if (!existsSync(join(ROOT, ".next", "BUILD_ID"))) throw new Error("no production build: run `npx next build` first");
  const dataDir = await mkdtemp(join(tmpdir(), "image-studio-e2e-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Own process group, so stopping it takes any worker next spawns along.
  const child = spawn(process.execPath, [join(ROOT, "node_modules/next/dist/bin/next"), "start", "-H", "127.0.0.1", "-p", String(port)], {
    cwd: ROOT,
    env: { ...process.env, IMAGE_STUDIO_DATA: dataDir, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((ok) => child.once("exit", (code) => ok(code)));
  let running = true;
  void exited.then(() => (running = false));

  const stop = async () => {
    if (running && child.pid !== undefined) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => child.pid !== undefined && running && process.kill(-child.pid, "SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!running) {
      await stop();
      throw new Error(`next start exited before answering:\n${output}`);
    }
    try {
      const r = await fetch(`${url}/api/trpc/presets.list`);
      if (r.ok) return { url, dataDir, stop };
    } catch {
      /* not listening yet */
    }
    await new Promise((ok) => setTimeout(ok, 250));
  }
  await stop();
  throw new Error(`next start did not answer within ${timeoutMs} ms:\n${output}`);
}

// Debian's chromium as root on a closed network: without the background-networking flags it
// keeps trying to reach hosts it cannot.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
}
