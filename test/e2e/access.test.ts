// The real server (bundled, as start.sh runs it) against the people it must keep out: every
// page without the token, a signed-in browser visiting a hostile page on another origin, a
// second local user with curl, an endless chunked body. And the sign-in itself, as a person
// does it: the printed address, or the token pasted into the form. The API routes one by one:
// test/integration/access.test.ts.
import { execa } from "execa";
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative, sep } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JSON_BODY_BYTES } from "@/server/http/limits";
import { closeServerAndBrowser, openServerAndBrowser, SERVICE_USER, signIn, startServer, type TestServer } from "@/test/support/server";

let server: TestServer;
let browser: Browser;

beforeAll(async () => void ({ server, browser } = await openServerAndBrowser()));
afterAll(() => closeServerAndBrowser(server, browser));

/** Every page of the app, from the files that define them ([id] as 1). */
function pages(): string[] {
  const root = join(import.meta.dirname, "../../app");
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name === "page.tsx") found.push(`/${relative(root, dir).split(sep).filter(Boolean).join("/")}`.replace(/\[[^\]]+\]/g, "1"));
    }
  };
  walk(root);
  return found.sort();
}

const cookie = (token: string) => ({ cookie: `image_studio_${new URL(server.url).port}=${token}` });
const WRONG = "a-wrong-token-of-the-right-shape-0123456789a";

describe("pages", () => {
  it("are all in the table", () => {
    expect(pages()).toEqual(expect.arrayContaining(["/", "/builds", "/builds/1", "/host", "/profiles/1", "/space"]));
  });

  it.each(pages())("%s: the sign-in screen (401) without a token or with a wrong one, the page with the right one", async (path) => {
    for (const headers of [{}, cookie(WRONG), { authorization: `Bearer ${WRONG}` }] as Record<string, string>[]) {
      const r = await fetch(`${server.url}${path}`, { headers, redirect: "manual" });
      expect(r.status).toBe(401);
      const html = await r.text();
      expect(html).toContain("Image Studio needs its access token");
      expect(html).not.toContain("/_next/");
    }
    const r = await fetch(`${server.url}${path}`, { headers: cookie(server.token), redirect: "manual" });
    expect(r.status).toBe(200);
    expect(await r.text()).toContain("/_next/static/");
  });

  it("the app's scripts and styles need the token too", async () => {
    const html = await (await fetch(`${server.url}/`, { headers: cookie(server.token) })).text();
    const asset = /\/_next\/static\/[^"']+\.js/.exec(html)?.[0];
    expect(asset).toBeDefined();
    expect((await fetch(`${server.url}${asset}`)).status).toBe(401);
    expect((await fetch(`${server.url}${asset}`, { headers: cookie(server.token) })).status).toBe(200);
  });
});

describe("signing in", () => {
  it("trades the printed address's token for an HttpOnly, SameSite=Strict cookie and drops it from the address bar", async () => {
    const context = await browser.newContext();
    const page = await signIn(context, server);
    expect(page.url()).not.toContain("token");
    const [c] = await context.cookies(server.url);
    expect(c).toMatchObject({ value: server.token, httpOnly: true, sameSite: "Strict" });
    await page.getByTestId("new-profile").waitFor();
    await context.close();
  });

  it("takes a pasted token on the sign-in screen, and says so when it is wrong", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/host`);
    await page.getByTestId("login-token").fill("not-the-token");
    await page.getByTestId("login-submit").click();
    await page.getByTestId("login-error").waitFor();
    await page.getByTestId("login-token").fill(server.token);
    await page.getByTestId("login-submit").click();
    await page.getByTestId("host-check").waitFor();
    expect(page.url()).toBe(`${server.url}/host`);
    await context.close();
  });

  it("shows the sign-in screen for an address with a wrong token, and sets no cookie", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const r = await page.goto(`${server.url}/?token=${WRONG}`);
    expect(r?.status()).toBe(401);
    await page.getByTestId("login-error").waitFor();
    expect(await context.cookies(server.url)).toEqual([]);
    await context.close();
  });
});

describe("a hostile page on another origin, in a signed-in browser", () => {
  let attacker: Server;
  let attackerUrl: string;
  /** What the page tried, as it saw it. */
  const ATTACK = (target: string) => `<!doctype html><meta charset="utf-8"><title>attack</title>
<body>
<iframe id="framed" src="${target}/" width="800" height="600"></iframe>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<form id="multipart" method="post" enctype="multipart/form-data" target="sink1" action="${target}/api/trpc/profiles.importArchive">
  <input type="hidden" name="name" value="forged-upload"><input type="file" name="file">
</form>
<form id="plain" method="post" enctype="text/plain" target="sink2" action="${target}/api/trpc/profiles.create">
  <input type="hidden" name='{"name":"forged-plain","x":"' value='"}'>
</form>
<script>
window.results = {};
const body = JSON.stringify({ name: "forged-fetch" });
const tries = {
  json: () => fetch("${target}/api/trpc/profiles.create", { method: "POST", credentials: "include", headers: { "content-type": "application/json" }, body }),
  text: () => fetch("${target}/api/trpc/profiles.create", { method: "POST", mode: "no-cors", credentials: "include", headers: { "content-type": "text/plain" }, body }),
  form: () => fetch("${target}/api/trpc/profiles.create", { method: "POST", mode: "no-cors", credentials: "include", headers: { "content-type": "application/x-www-form-urlencoded" }, body }),
  multipart: () => { const f = new FormData(); f.append("name", "forged-multipart"); f.append("file", new Blob(["x"]), "p.tar.gz"); return fetch("${target}/api/trpc/profiles.importArchive", { method: "POST", mode: "no-cors", credentials: "include", body: f }); },
  read: () => fetch("${target}/api/trpc/profiles.list", { credentials: "include" }),
};
window.done = Promise.all(Object.entries(tries).map(([k, f]) => f().then(r => { results[k] = "answered " + r.type + " " + r.status; }, e => { results[k] = "failed " + e; }))).then(() => new Promise(resolve => {
  const es = new EventSource("${target}/api/trpc/builds.events?input=%7B%7D", { withCredentials: true });
  es.onmessage = (e) => { results.eventsource = "message " + e.data; es.close(); resolve(); };
  es.onerror = () => { results.eventsource = results.eventsource || "error"; es.close(); resolve(); };
})).then(() => { document.getElementById("multipart").submit(); document.getElementById("plain").submit(); });
</script>`;

  beforeAll(async () => {
    attacker = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(ATTACK(server.url)));
    await new Promise<void>((r) => attacker.listen(0, "127.0.0.1", r));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => attacker.close(() => r())));

  it("changes nothing, reads nothing, and cannot frame the dashboard", async () => {
    const before = await server.api.query<unknown[]>("profiles.list");
    const context = await browser.newContext();
    await signIn(context, server);
    const page = await context.newPage();
    // The two form posts are answered 403 (seen from the browser's side of the wire).
    const posted = (procedure: string) => page.waitForResponse((r) => r.request().method() === "POST" && r.request().resourceType() === "document" && r.url().endsWith(procedure));
    const formPosts = Promise.all([posted("profiles.importArchive"), posted("profiles.create")]);
    await page.goto(attackerUrl);
    await page.waitForFunction(() => (window as unknown as { done?: Promise<void> }).done !== undefined);
    await page.evaluate(() => (window as unknown as { done: Promise<void> }).done);
    expect((await formPosts).map((r) => r.status())).toEqual([403, 403]);
    const results = await page.evaluate(() => (window as unknown as { results: Record<string, string> }).results);

    // A cross-origin read gets nothing back (no CORS), and the event stream never opens.
    expect(results.read).toMatch(/^failed/);
    expect(results.json).toMatch(/^failed/);
    expect(results.eventsource).toBe("error");
    // The framed dashboard did not render.
    const framed = page.frames().find((f) => f !== page.mainFrame() && !f.name().startsWith("sink"));
    expect(framed).toBeDefined();
    expect(await framed!.locator("[data-testid]").count()).toBe(0);
    expect(await framed!.content()).not.toContain("Image Studio");
    // And nothing was made.
    expect(await server.api.query<unknown[]>("profiles.list")).toEqual(before);
    await context.close();
  });
});

describe("a second local user", () => {
  const USER = "image-studio-probe";

  it("without the token gets 401, and cannot read the token file", async () => {
    await execa("id", [USER]).catch(() => execa("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER]));
    const as = (cmd: string[]) => execa("runuser", ["-u", USER, "--", ...cmd], { reject: false });
    const curl = await as(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `${server.url}/api/trpc/profiles.list`]);
    expect(curl.stdout).toBe("401");
    const page = await as(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `${server.url}/`]);
    expect(page.stdout).toBe("401");
    const read = await as(["cat", join(server.dataDir, "auth-token")]);
    expect(read.exitCode).not.toBe(0);
    expect(read.stdout).not.toContain(server.token);
  });
});

describe("an endless chunked body", () => {
  /** The server's peak resident memory, KiB. */
  const peakKiB = async () => Number(/^VmHWM:\s+(\d+) kB/m.exec(await execa("cat", [`/proc/${server.pid}/status`]).then((r) => r.stdout))?.[1]);

  // The body is held up to the limit (a JSON body is parsed whole); past it nothing more is read.
  // What the allocator and V8 add around those bytes is allowed for as a few MiB.
  const SLACK = 6 * 1024 * 1024;

  it("gets 413 once past the limit, the connection is closed, and memory grows by about the limit, not by what was sent", async () => {
    const before = await peakKiB();
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let sent = 0;
    const outcome = await new Promise<{ status: number; closed: boolean }>((resolve, reject) => {
      const u = new URL(server.url);
      const req = request(
        { host: u.hostname, port: u.port, method: "POST", path: "/api/trpc/profiles.create", headers: { "content-type": "application/json", "transfer-encoding": "chunked", authorization: `Bearer ${server.token}` } },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0, closed: true }));
          res.on("error", () => resolve({ status: res.statusCode ?? 0, closed: true }));
        },
      );
      req.on("error", (e) => (sent > JSON_BODY_BYTES ? undefined : reject(e)));
      // Up to 8 times the limit: the server must stop reading long before.
      const pump = () => {
        while (sent < 8 * JSON_BODY_BYTES) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      req.write("[");
      pump();
    });
    expect(outcome.status).toBe(413);
    expect(sent).toBeLessThan(8 * JSON_BODY_BYTES);
    const grewKiB = (await peakKiB()) - before;
    expect(grewKiB * 1024).toBeLessThan(JSON_BODY_BYTES + SLACK);
    // The server is fine afterwards.
    expect((await server.api.query<unknown[]>("presets.list")).length).toBeGreaterThan(0);
  });
});

describe("rotating the token from the Host page", () => {
  it("shows the new address once, keeps this browser signed in, and shuts the old token out", async () => {
    const context = await browser.newContext();
    const page = await signIn(context, server);
    await page.goto(`${server.url}/host`);
    page.once("dialog", (d) => void d.accept());
    await page.getByTestId("token-rotate").click();
    const address = await page.getByTestId("token-address").innerText();
    const fresh = /\?token=(\S+)$/.exec(address)?.[1];
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fresh).not.toBe(server.token);
    expect((await fetch(`${server.url}/api/trpc/presets.list`, { headers: { authorization: `Bearer ${server.token}` } })).status).toBe(401);
    expect((await fetch(`${server.url}/api/trpc/presets.list`, { headers: { authorization: `Bearer ${fresh}` } })).status).toBe(200);
    // This browser's cookie was renewed with it.
    await page.reload();
    await page.getByTestId("host-check").waitFor();
    await context.close();
  });
});

describe("beyond loopback", () => {
  it("bound to every address, warns that the token crosses the network in clear text, and still needs it", async () => {
    const wide = await startServer({ env: { HOST: "0.0.0.0" } });
    try {
      expect(wide.output()).toMatch(/WARNING: listening on 0\.0\.0\.0 without TLS: the token and everything else cross the network in clear text/);
      expect((await fetch(`${wide.url}/api/trpc/profiles.list`)).status).toBe(401);
      expect((await wide.api.fetch("/api/trpc/profiles.list")).status).toBe(200);
    } finally {
      await wide.stop();
    }
  });

  it("speaks HTTPS with IMAGE_STUDIO_TLS_CERT and IMAGE_STUDIO_TLS_KEY, with a Secure cookie, and says no warning", async () => {
    const dir = await mkdtemp(join(tmpdir(), "access-tls-"));
    const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
    await execa("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert]);
    // The server runs as the service user: its key is that user's to read, nobody else's.
    if (process.getuid?.() === 0) await execa("chown", ["-R", SERVICE_USER, dir]);
    const secure = await startServer({ env: { IMAGE_STUDIO_TLS_CERT: cert, IMAGE_STUDIO_TLS_KEY: key } });
    try {
      expect(secure.address).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/\?token=/);
      expect(secure.output()).not.toContain("WARNING");
      const curl = (...args: string[]) => execa("curl", ["-sS", "--cacert", cert, ...args]);
      expect((await curl("-o", "/dev/null", "-w", "%{http_code}", `${secure.url}/api/trpc/profiles.list`)).stdout).toBe("401");
      expect((await curl("-o", "/dev/null", "-w", "%{http_code}", "-H", `Authorization: Bearer ${secure.token}`, `${secure.url}/api/trpc/profiles.list`)).stdout).toBe("200");
      const signIn = await curl("-o", "/dev/null", "-D", "-", secure.address);
      expect(signIn.stdout).toMatch(/^set-cookie: image_studio_\d+=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Secure\r?$/im);
      // Plain HTTP on that port gets nothing.
      expect((await execa("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", secure.url.replace("https:", "http:")], { reject: false })).stdout).not.toBe("200");
    } finally {
      await secure.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
