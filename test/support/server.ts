// Starts the built app (server.ts bundled into .next/image-studio-server.mjs by `npm run build`)
// the way scripts/start.sh does, through scripts/run-server.sh (as root: as the service user,
// with the data folder given to it), on a free port with its own data folder, reads the address with
// the token from what it prints (as a person does), waits until it answers, and stops it again;
// launches the browser and signs a page in by opening that address. The benchmarks start it
// through here too.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { Api } from "./api";

const ROOT = resolve(import.meta.dirname, "../..");
export const SERVER_BUNDLE = join(ROOT, ".next", "image-studio-server.mjs");
const RUN_SERVER = join(ROOT, "scripts", "run-server.sh");
/**
 * One package cache for every server the suite starts, as one dashboard shares it between its
 * builds: the Debian packages are downloaded once per machine, not once per test file.
 */
export const TEST_PACKAGE_CACHE = process.env.IMAGE_STUDIO_PACKAGE_CACHE ?? join(tmpdir(), "image-studio-test-packages");
/** The user the server runs as when started by root (scripts/setup-host.sh makes it). */
export const SERVICE_USER = process.env.IMAGE_STUDIO_USER ?? "image-studio";

export interface TestServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The address the server printed to open, with the token in it. */
  address: string;
  token: string;
  /** A client holding the token. */
  api: Api;
  dataDir: string;
  /** The server process (Next runs in this very process; run-server.sh execs into it). */
  pid: number;
  /** What the server printed so far (the last 100-200 kB). */
  output: () => string;
  /** Stops the server (its builds get their grace period); removes the data folder if it made it. */
  stop: () => Promise<void>;
}

export interface ServerOptions {
  /** Default: a new temporary folder, removed by stop(). */
  dataDir?: string;
  env?: Record<string, string>;
  /**
   * Run the bundle with node directly, as whoever runs the tests (root in CI), the way versions
   * before scripts/run-server.sh did: to make a data folder a root-run server wrote.
   */
  direct?: boolean;
  /** For the server's node, e.g. --cpu-prof (passed as NODE_OPTIONS). */
  nodeArgs?: string[];
  timeoutMs?: number;
}

/** Whether the server answers an API call with the token (over TLS: the test's own certificate). */
function answers(base: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const get = base.startsWith("https:") ? httpsGet : httpGet;
    const req = get(`${base}/api/trpc/presets.list`, { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
  });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, "127.0.0.1", ok));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((ok) => srv.close(() => ok()));
  return port;
}

export async function startServer(opts: ServerOptions = {}): Promise<TestServer> {
  if (!existsSync(SERVER_BUNDLE)) throw new Error("no production build: run `npm run build` first");
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), "image-studio-e2e-")));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Own process group, so stopping it takes anything it started along.
  const nodeOptions = [process.env.NODE_OPTIONS, ...(opts.nodeArgs ?? [])].filter(Boolean).join(" ");
  const child = spawn(opts.direct ? process.execPath : RUN_SERVER, opts.direct ? [SERVER_BUNDLE] : [], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: "127.0.0.1",
      PORT: String(port),
      IMAGE_STUDIO_DATA: dataDir,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      IMAGE_STUDIO_PACKAGE_CACHE: TEST_PACKAGE_CACHE,
      ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const keep = (d: Buffer) => {
    output += d.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
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
      // The server stops its builds and VMs (up to their grace period) before it exits.
      const timer = setTimeout(() => {
        try {
          if (running && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }, 15_000);
      await exited;
      clearTimeout(timer);
    }
    if (opts.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!running) {
      await stop();
      throw new Error(`the server exited before answering:\n${output}`);
    }
    // The line start.sh shows the user: "Open http://127.0.0.1:<port>/?token=<token>".
    const printed = /^Open ((https?):\/\/\S+\/\?token=(\S+))$/m.exec(output);
    if (printed) {
      const [, address, scheme, token] = printed as unknown as [string, string, string, string];
      const base = scheme === "https" ? url.replace(/^http:/, "https:") : url;
      if (await answers(base, token)) return { url: base, address, token, api: new Api(base, token), dataDir, pid: child.pid!, output: () => output, stop };
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
  await stop();
  throw new Error(`the server did not answer within ${timeoutMs} ms:\n${output}`);
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

/** A server (with its own data folder) and a browser, for the tests of one file. */
export async function openServerAndBrowser(opts: ServerOptions = {}): Promise<{ server: TestServer; browser: Browser }> {
  return { server: await startServer(opts), browser: await launchBrowser() };
}

/** Stops what openServerAndBrowser started (either may be missing when it failed half-way). */
export async function closeServerAndBrowser(server: TestServer | undefined, browser: Browser | undefined): Promise<void> {
  await browser?.close();
  await server?.stop();
}

/**
 * Signs a browser context in as a person does: opens the printed address, which trades the
 * token for a cookie and lands on the dashboard with the token gone from the address bar.
 */
export async function signIn(context: BrowserContext, server: Pick<TestServer, "address" | "url">): Promise<Page> {
  const page = await context.newPage();
  await page.goto(server.address);
  if (page.url() !== `${server.url}/`) throw new Error(`signing in ended at ${page.url()}, not the dashboard`);
  return page;
}
