// Who reaches the API: every tRPC procedure (read from the router, so a new one is covered
// without touching this file) and every download route, over real HTTP through the server's
// own request handler: without the token 401, with a wrong one 401, with the right one the
// answer the procedure itself gives. And what is refused whatever the token: a foreign Host
// (DNS rebinding), a state change from another origin, a mutation by GET, an oversized batch
// or body. The pages and a real attacking page in a browser: test/e2e/access.test.ts.
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matchArtifactUrl } from "@/server/artifacts/download";
import { openDatabase, type Db } from "@/server/db/client";
import { hostFacts } from "@/server/host/facts";
import { AUTH_ROUTES } from "@/server/http/auth-routes";
import { DOWNLOADS } from "@/server/http/downloads";
import { MAX_BATCH } from "@/server/http/limits";
import { appRouter, createCaller } from "@/server/routers";
import { SSE_OPTIONS } from "@/server/routers/trpc";
import { serveApp, type AppServer } from "@/test/support/app-server";
import { readSse } from "@/test/support/sse";

let dir: string;
let db: Db;
let app: AppServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "access-"));
  db = openDatabase(join(dir, "image-studio.sqlite"));
  app = await serveApp(db, dir);
});
afterAll(async () => {
  await app.close();
  db.$client.close();
  await rm(dir, { recursive: true, force: true });
});

type ProcedureType = "query" | "mutation" | "subscription";
const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: ProcedureType } }>).map(([path, p]) => ({
  path,
  type: p._def.type,
}));

/** The request a client makes for a procedure, with `{}` as input (refused by most, answered by lists). */
function call(path: string, type: ProcedureType, headers: Record<string, string>): Promise<Response> {
  if (type === "mutation")
    return fetch(`${app.url}/api/trpc/${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: "{}" });
  const accept: Record<string, string> = type === "subscription" ? { accept: "text/event-stream" } : {};
  return fetch(`${app.url}/api/trpc/${path}?input=${encodeURIComponent("{}")}`, { headers: { ...accept, ...headers }, signal: AbortSignal.timeout(30_000) });
}

/** The HTTP status the procedure's own answer to `{}` maps to, from an in-process call. */
async function ownStatus(path: string): Promise<number> {
  const caller = createCaller({ db, host: hostFacts }, { signal: AbortSignal.timeout(30_000) }) as unknown as Record<string, Record<string, (input: unknown) => Promise<unknown>>>;
  const [group, name] = path.split(".") as [string, string];
  try {
    const r = await caller[group]![name]!({});
    // A subscription answers with a stream: end it.
    if (r && typeof r === "object" && Symbol.asyncIterator in r) await (r as unknown as AsyncIterator<unknown>).return?.();
    return 200;
  } catch (e) {
    if (e instanceof TRPCError) return getHTTPStatusCodeFromError(e);
    throw e;
  }
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const WRONG = "a-wrong-token-of-the-right-shape-0123456789a";

describe("every tRPC procedure", () => {
  it("is in the table (the router has procedures of each kind)", () => {
    expect(procedures.length).toBeGreaterThan(30);
    expect(new Set(procedures.map((p) => p.type))).toEqual(new Set(["query", "mutation", "subscription"]));
  });

  it.each(procedures)("$path ($type): 401 without a token, 401 with a wrong one, its own answer with the right one", async ({ path, type }) => {
    const none = await call(path, type, {});
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { data: { code: string } } }).error.data.code).toBe("UNAUTHORIZED");
    expect((await call(path, type, bearer(WRONG))).status).toBe(401);
    expect((await call(path, type, { cookie: `image_studio_${app.port}=${WRONG}` })).status).toBe(401);

    const expected = await ownStatus(path);
    const right = await call(path, type, bearer(app.tokens.current));
    expect(right.status).not.toBe(401);
    if (type !== "subscription") {
      expect(right.status, await right.text()).toBe(expected);
      return;
    }
    // A stream opens (200, "connected"), then says whether the input was refused.
    expect(right.status).toBe(200);
    const events = await readSse(right, (e) => e.event === "serialized-error" || (e.event === "connected" && expected === 200));
    expect(events[0]?.event).toBe("connected");
    const refused = events.find((e) => e.event === "serialized-error");
    expect(refused ? (JSON.parse(refused.data) as { data: { httpStatus: number } }).data.httpStatus : 200).toBe(expected);
  });
});

describe("a quiet subscription", () => {
  it("tells the client when to reconnect, and sends pings while nothing happens", async () => {
    // builds.events of all builds: nothing is building here, so the stream stays quiet.
    const res = await fetch(`${app.url}/api/trpc/builds.events?input=${encodeURIComponent("{}")}`, {
      headers: { accept: "text/event-stream", ...bearer(app.tokens.current) },
      signal: AbortSignal.timeout(3 * SSE_OPTIONS.ping.intervalMs),
    });
    expect(res.status).toBe(200);
    const events = await readSse(res, (e) => e.event === "ping");
    expect(events[0]).toMatchObject({ event: "connected" });
    expect(JSON.parse(events[0]!.data)).toEqual(SSE_OPTIONS.client);
    expect(events.map((e) => e.event)).toEqual(["connected", "ping"]);
  }, 40_000);
});

describe("every download route", () => {
  const routes = [...DOWNLOADS.map((d) => d.pattern.replace("<id>", "1")), "/api/builds/1/artifacts/image.raw"];

  it("covers the artifact route and each download the server has", () => {
    expect(matchArtifactUrl(routes.at(-1)!)).not.toBeNull();
    expect(routes).toHaveLength(DOWNLOADS.length + 1);
  });

  it.each(routes)("%s: 401 without a token or with a wrong one, the route's own 404 with the right one", async (route) => {
    expect((await fetch(`${app.url}${route}`)).status).toBe(401);
    expect((await fetch(`${app.url}${route}`, { headers: bearer(WRONG) })).status).toBe(401);
    const right = await fetch(`${app.url}${route}`, { headers: bearer(app.tokens.current) });
    // Nothing numbered 1 exists in this database: the route itself says so.
    expect(right.status).toBe(404);
    expect(((await right.json()) as { error: string }).error).toMatch(/does not exist/);
  });

  it("the sign-out and rotate routes need the token too", async () => {
    for (const route of [AUTH_ROUTES.logout, AUTH_ROUTES.rotate]) {
      expect((await fetch(`${app.url}${route}`, { method: "POST" })).status).toBe(401);
      expect((await fetch(`${app.url}${route}`, { method: "POST", headers: bearer(WRONG) })).status).toBe(401);
    }
  });
});

/** A raw request, with the Host header as given (fetch sets its own). */
function raw(opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: app.port, method: opts.method ?? "GET", path: opts.path, headers: opts.headers, setHost: !opts.headers?.host }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

const profileCount = () => db.$client.prepare("select count(*) as n from profiles").get() as { n: number };

describe("refused whatever the token", () => {
  it("a foreign Host (DNS rebinding): 421, and nothing runs", async () => {
    const before = profileCount().n;
    for (const host of ["evil.example", `evil.example:${app.port}`, `localhost.evil.example:${app.port}`, `127.0.0.1:${app.port + 1}`]) {
      const listed = await raw({ path: "/api/trpc/profiles.list", headers: { host, ...bearer(app.tokens.current) } });
      expect(listed.status, host).toBe(421);
      const created = await raw({
        method: "POST",
        path: "/api/trpc/profiles.create",
        headers: { host, "content-type": "application/json", ...bearer(app.tokens.current) },
        body: JSON.stringify({ name: `rebound via ${host}` }),
      });
      expect(created.status).toBe(421);
    }
    expect(profileCount().n).toBe(before);
    // The same request with this server's own name is answered.
    const own = await raw({ path: "/api/trpc/profiles.list", headers: { host: `localhost:${app.port}`, ...bearer(app.tokens.current) } });
    expect(own.status).toBe(200);
  });

  it("a state change from another origin: 403, and nothing changes", async () => {
    const before = profileCount().n;
    const attempt = (headers: Record<string, string>) =>
      fetch(`${app.url}/api/trpc/profiles.create`, { method: "POST", headers: { "content-type": "application/json", ...bearer(app.tokens.current), ...headers }, body: JSON.stringify({ name: "forged" }) });
    expect((await attempt({ origin: "http://127.0.0.1:9" })).status).toBe(403);
    expect((await attempt({ origin: "http://evil.example" })).status).toBe(403);
    expect((await attempt({ "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await attempt({ "sec-fetch-site": "same-site", "sec-fetch-mode": "cors" })).status).toBe(403);
    expect(profileCount().n).toBe(before);
    // From the dashboard's own origin it is made.
    expect((await attempt({ origin: app.url, "sec-fetch-site": "same-origin" })).status).toBe(200);
    expect(profileCount().n).toBe(before + 1);
  });

  it("a mutation by GET: refused, nothing made", async () => {
    const before = profileCount().n;
    const r = await fetch(`${app.url}/api/trpc/profiles.create?input=${encodeURIComponent(JSON.stringify({ name: "by-get" }))}`, { headers: bearer(app.tokens.current) });
    expect(r.status).toBe(405);
    expect(profileCount().n).toBe(before);
  });

  it(`a batch of more than ${MAX_BATCH} calls: 400; ${MAX_BATCH} are answered`, async () => {
    const batch = (n: number) =>
      fetch(`${app.url}/api/trpc/${Array(n).fill("presets.list").join(",")}?batch=1&input=${encodeURIComponent(JSON.stringify({}))}`, { headers: bearer(app.tokens.current) });
    expect((await batch(100)).status).toBe(400);
    expect((await batch(MAX_BATCH + 1)).status).toBe(400);
    const ok = await batch(MAX_BATCH);
    expect(ok.status).toBe(200);
    expect((await ok.json()) as unknown[]).toHaveLength(MAX_BATCH);
  });

  it("the pages take GET and HEAD only", async () => {
    expect((await fetch(`${app.url}/profiles/1`, { method: "POST", headers: { ...bearer(app.tokens.current), "content-type": "text/plain" }, body: "x" })).status).toBe(405);
  });
});

describe("headers on every answer", () => {
  it.each(["/api/trpc/presets.list", "/", "/api/nothing"])("%s carries the frame, sniffing and referrer headers", async (path) => {
    for (const headers of [{}, bearer(app.tokens.current)]) {
      const r = await fetch(`${app.url}${path}`, { headers });
      expect(r.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(r.headers.get("x-frame-options")).toBe("DENY");
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      expect(r.headers.get("referrer-policy")).toBe("no-referrer");
    }
  });
});
