// The artifact download handler over real HTTP (server/http/app.ts's request handler, with the
// token, as server.ts mounts it):
// Range in each form, HEAD, ETag and 304, If-Range, curl -C - resuming a download, and every
// traversal form answering 404 with nothing served or changed.
import { execa } from "execa";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, readlink, rm, stat, symlink, truncate, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const dataDir = await mkdtemp(join(tmpdir(), "artifacts-http-"));
process.env.IMAGE_STUDIO_DATA = dataDir;

const { getDb } = await import("@/server/db/client");
const H = await import("./artifacts-helpers");
const { serveApp } = await import("@/test/support/app-server");

const db = getDb();
const SIZE = 3 * 1024 * 1024 + 123;
const data = randomBytes(SIZE);
// More chunks than the handler keeps buffers for, so each buffer is read into several times.
const BIG = 11 * 1024 * 1024 + 4321;
const big = randomBytes(BIG);
let base: string;
let close: () => Promise<void>;
let token: string;
const auth = () => ({ authorization: `Bearer ${token}` });
/** fetch with the token. */
const get = (u: string, init: { headers?: Record<string, string> } = {}) => fetch(u, { headers: { ...auth(), ...init.headers } });
let build: Awaited<ReturnType<typeof H.fakeBuild>>;
const url = (name: string) => `${base}/api/builds/${build.id}/artifacts/${name}`;

beforeAll(async () => {
  build = await H.fakeBuild(db, dataDir, "succeeded");
  await writeFile(join(build.paths.output, "img_1.raw"), data);
  await writeFile(join(build.paths.output, "big.raw"), big);
  // Sparse: far more than the socket buffers hold, so the handler is still reading when the client leaves.
  await writeFile(join(build.paths.output, "huge.raw"), "");
  await truncate(join(build.paths.output, "huge.raw"), 2 ** 30);
  await writeFile(join(build.paths.output, "empty.txt"), "");
  await writeFile(join(build.paths.output, "name with spaces.txt"), "spaces\n");
  await symlink("img_1.raw", join(build.paths.output, "img_1"));
  await symlink("/etc/passwd", join(build.paths.output, "passwd-link"));
  await symlink("../build.log", join(build.paths.output, "log-link"));
  await symlink("..", join(build.paths.output, "up"));
  const s = await serveApp(db, dataDir);
  base = s.url;
  close = s.close;
  token = s.tokens.current;
});

afterAll(async () => {
  await close();
  db.$client.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** Every path under `dir` with its size, links not followed (node's recursive readdir follows them). */
async function snapshot(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out.push(`${prefix}${e.name} ${e.isSymbolicLink() ? "link" : (await stat(p)).size}`);
    if (e.isDirectory()) out.push(...(await snapshot(p, `${prefix}${e.name}/`)));
  }
  return out.sort();
}

/** A request with the path sent exactly as written (fetch would normalise '..'). */
function raw(path: string, headers: Record<string, string> = {}, method = "GET"): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const req = request({ host: u.hostname, port: u.port, path, method, headers: { ...auth(), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("downloads", () => {
  it("sends the whole file with its headers", async () => {
    const res = await get(url("img_1.raw"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(SIZE));
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="img_1.raw"/);
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("etag")).toMatch(/^"[0-9a-f-]+"$/);
    const st = await stat(join(build.paths.output, "img_1.raw"));
    expect(res.headers.get("last-modified")).toBe(st.mtime.toUTCString());
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
  });

  it("answers ranges: first bytes, middle, open-ended, suffix; and 416 past the end", async () => {
    const cases: [string, number, number][] = [
      ["bytes=0-99", 0, 99],
      ["bytes=1000000-1999999", 1000000, 1999999],
      [`bytes=${SIZE - 10}-`, SIZE - 10, SIZE - 1],
      ["bytes=-500", SIZE - 500, SIZE - 1],
      [`bytes=5-${SIZE + 1000}`, 5, SIZE - 1],
    ];
    for (const [range, start, end] of cases) {
      const res = await get(url("img_1.raw"), { headers: { range } });
      expect(res.status, range).toBe(206);
      expect(res.headers.get("content-range"), range).toBe(`bytes ${start}-${end}/${SIZE}`);
      expect(res.headers.get("content-length"), range).toBe(String(end - start + 1));
      expect(Buffer.from(await res.arrayBuffer()).equals(data.subarray(start, end + 1)), range).toBe(true);
    }
    for (const range of [`bytes=${SIZE}-`, `bytes=${SIZE + 5}-${SIZE + 10}`, "bytes=-0"]) {
      const res = await get(url("img_1.raw"), { headers: { range } });
      expect(res.status, range).toBe(416);
      expect(res.headers.get("content-range")).toBe(`bytes */${SIZE}`);
      await res.arrayBuffer();
    }
    const empty = await get(url("empty.txt"));
    expect(empty.status).toBe(200);
    expect(empty.headers.get("content-length")).toBe("0");
    expect((await empty.arrayBuffer()).byteLength).toBe(0);
  });

  it("answers HEAD with the headers only, and validators with 304 or the whole file", async () => {
    const head = await raw(`/api/builds/${build.id}/artifacts/img_1.raw`, {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe(String(SIZE));
    expect(head.body.length).toBe(0);
    const etag = head.headers.etag as string;
    const notModified = await get(url("img_1.raw"), { headers: { "if-none-match": etag } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("etag")).toBe(etag);
    const changed = await get(url("img_1.raw"), { headers: { "if-none-match": '"something-else"' } });
    expect(changed.status).toBe(200);
    await changed.arrayBuffer();
    const ifRange = await get(url("img_1.raw"), { headers: { range: "bytes=0-9", "if-range": etag } });
    expect(ifRange.status).toBe(206);
    await ifRange.arrayBuffer();
    const stale = await get(url("img_1.raw"), { headers: { range: "bytes=0-9", "if-range": '"old-version"' } });
    expect(stale.status).toBe(200);
    expect(stale.headers.get("content-length")).toBe(String(SIZE));
    await stale.arrayBuffer();
    // A link inside the folder is served under its own name.
    const link = await get(url("img_1"));
    expect(link.status).toBe(200);
    expect(link.headers.get("content-disposition")).toMatch(/filename="img_1"/);
    expect(Buffer.from(await link.arrayBuffer()).equals(data)).toBe(true);
    const spaced = await get(url("name%20with%20spaces.txt"));
    expect(await spaced.text()).toBe("spaces\n");
  });

  it("sends every chunk of a file many chunks long intact, whole and in ranges", async () => {
    const whole = await get(url("big.raw"));
    expect(whole.status).toBe(200);
    expect(H.sha256Of(Buffer.from(await whole.arrayBuffer()))).toBe(H.sha256Of(big));
    for (const [start, end] of [[1, BIG - 2], [3 * 1024 * 1024 - 7, 9 * 1024 * 1024 + 11]] as const) {
      const res = await get(url("big.raw"), { headers: { range: `bytes=${start}-${end}` } });
      expect(res.status).toBe(206);
      expect(H.sha256Of(Buffer.from(await res.arrayBuffer()))).toBe(H.sha256Of(big.subarray(start, end + 1)));
    }
  });

  it("closes the file when the client goes away mid-download", async () => {
    const file = join(build.paths.output, "huge.raw");
    const openHere = async () => {
      let n = 0;
      for (const fd of await readdir("/proc/self/fd")) if ((await readlink(`/proc/self/fd/${fd}`).catch(() => "")) === file) n++;
      return n;
    };
    expect(await openHere()).toBe(0);
    let openWhileSending = 0;
    await new Promise<void>((resolve) => {
      const u = new URL(base);
      const req = request({ host: u.hostname, port: u.port, path: `/api/builds/${build.id}/artifacts/huge.raw`, headers: auth() }, (res) => {
        expect(res.statusCode).toBe(200);
        res.once("data", () => {
          void openHere().then((n) => {
            openWhileSending = n;
            req.destroy();
          });
        });
      });
      req.on("error", () => undefined);
      req.on("close", resolve);
      req.end();
    });
    expect(openWhileSending).toBe(1);
    // The server sees the socket close after the client's.
    await expect.poll(openHere, { timeout: 5000 }).toBe(0);
  });

  it("resumes an interrupted download with curl -C -", async () => {
    const out = join(dataDir, "resumed.raw");
    // The first part only, as a broken connection leaves it.
    await execa("curl", ["-sS", "-f", "-H", `Authorization: Bearer ${token}`, "-r", "0-1048575", "-o", out, url("img_1.raw")]);
    expect((await stat(out)).size).toBe(1048576);
    const resumed = await execa("curl", ["-sS", "-f", "-H", `Authorization: Bearer ${token}`, "-C", "-", "-o", out, "-w", "%{http_code}", url("img_1.raw")]);
    expect(resumed.stdout).toBe("206");
    expect(H.sha256Of(await readFile(out))).toBe(H.sha256Of(data));
  });
});

describe("traversal", () => {
  it("answers 404 JSON to every path that leaves the output folder, serving and changing nothing", async () => {
    const before = await snapshot(join(dataDir, "builds"));
    const id = build.id;
    const attempts = [
      `/api/builds/${id}/artifacts/../build.log`,
      `/api/builds/${id}/artifacts/../../../../etc/passwd`,
      `/api/builds/${id}/artifacts/%2e%2e/build.log`,
      `/api/builds/${id}/artifacts/%2E%2E/%2e%2e/%2e%2e/%2e%2e/etc/passwd`,
      `/api/builds/${id}/artifacts/..%2fbuild.log`,
      `/api/builds/${id}/artifacts/%2e%2e%2fbuild.log`,
      `/api/builds/${id}/artifacts/%2fetc%2fpasswd`,
      `/api/builds/${id}/artifacts//etc/passwd`,
      `/api/builds/${id}/artifacts/%2F`,
      `/api/builds/${id}/artifacts/.`,
      `/api/builds/${id}/artifacts/`,
      `/api/builds/${id}/artifacts/img_1.raw%00`,
      `/api/builds/${id}/artifacts/img_1.raw%00.txt`,
      `/api/builds/${id}/artifacts/..%5cbuild.log`,
      `/api/builds/${id}/artifacts/passwd-link`,
      `/api/builds/${id}/artifacts/log-link`,
      `/api/builds/${id}/artifacts/up/build.log`,
      `/api/builds/${id}/artifacts/up`,
      `/api/builds/${id}/artifacts/missing.raw`,
      `/api/builds/9999/artifacts/img_1.raw`,
      `/api/builds/..%2f${id}/artifacts/img_1.raw`,
      `/api/builds/abc/artifacts/img_1.raw`,
    ];
    const passwd = await readFile("/etc/passwd");
    for (const path of attempts) {
      for (const method of ["GET", "HEAD"]) {
        const res = await raw(path, {}, method);
        expect(res.status, `${method} ${path}`).toBe(404);
        if (method === "GET") {
          expect(res.headers["content-type"], path).toMatch(/^application\/json/);
          expect((JSON.parse(res.body.toString()) as { error: string }).error, path).toBeTruthy();
          expect(res.body.includes(passwd.subarray(0, 20)), path).toBe(false);
        }
      }
    }
    expect(await snapshot(join(dataDir, "builds"))).toEqual(before);
  });
});
