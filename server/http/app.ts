// Every request to the dashboard comes through here (server.ts makes the server): the Host,
// cross-site and token checks of gate.ts first, then the dashboard's own routes (login, the
// tRPC API, downloads), then Next.js for the pages. Next sees only GETs and HEADs of a person
// who holds the token.
import type { IncomingMessage, ServerResponse } from "node:http";
import { nodeHTTPRequestHandler } from "@trpc/server/adapters/node-http";
import { matchArtifactUrl, sendArtifact } from "@/server/artifacts/download";
import type { Db } from "@/server/db/client";
import { hostFacts } from "@/server/host/facts";
import { ARCHIVE_LIMITS } from "@/server/profiles/archive";
import { appRouter } from "@/server/routers";
import { AUTH_ROUTES } from "./auth-routes";
import type { TokenKeeper } from "./auth-token";
import { sendDownload, sendJson } from "./downloads";
import {
  allowedNames,
  clearedCookie,
  crossSiteRefusal,
  hostAllowed,
  ownOrigin,
  presentedToken,
  securityHeaders,
  sessionCookie,
  type GateConfig,
} from "./gate";
import { JSON_BODY_BYTES, LOGIN_BODY_BYTES, MAX_BATCH } from "./limits";
import { loginPage } from "./login-page";

/** A multipart upload: the archive and a little for the form around it. */
export const UPLOAD_BODY_BYTES = ARCHIVE_LIMITS.archiveBytes + 1024 * 1024;

export interface AppOptions {
  gate: GateConfig;
  tokens: TokenKeeper;
  db: Db;
  dataDir: string;
  dev: boolean;
  /** Next's handler, for the pages and their assets. */
  pages: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}


const TRPC = "/api/trpc/";

export function requestHandler(o: AppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const headers = securityHeaders(o.dev);
  const names = allowedNames(o.gate);
  return (req, res) => {
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    handle(o, names, req, res).catch((e: unknown) => {
      console.error(`${req.method} ${req.url}:`, e);
      if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      else res.destroy();
    });
  };
}

function refuse(res: ServerResponse, status: number, message: string): void {
  // Nothing of the request is read: the connection is not kept for another one.
  res.shouldKeepAlive = false;
  sendJson(res, status, { error: message });
}

const isSafe = (method: string) => method === "GET" || method === "HEAD";

/** A path that a person opens in the browser (not the API, not a page's script or style). */
const isPage = (pathname: string) => !pathname.startsWith("/api/") && !pathname.startsWith("/_next/") && !pathname.startsWith("/auth/");

async function handle(o: AppOptions, names: Set<string>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? "GET";
  const host = req.headers.host;
  if (!hostAllowed(host, o.gate, names) || host === undefined)
    return refuse(res, 421, `this server does not answer to the name ${JSON.stringify(host ?? "")}: open it by its address, or add the name to IMAGE_STUDIO_ALLOWED_HOSTS`);
  const refusal = crossSiteRefusal(method, req.headers, ownOrigin(host, o.gate.tls));
  if (refusal) return refuse(res, 403, refusal);

  const url = new URL(req.url ?? "/", "http://dashboard.invalid");
  const { port, tls } = o.gate;

  if (url.pathname === AUTH_ROUTES.login) {
    if (method !== "POST") return refuse(res, 405, `use POST for ${AUTH_ROUTES.login}`);
    return login(o, req, res);
  }

  // The address start.sh printed: the token is traded for a cookie and dropped from the address bar.
  const fromAddress = url.searchParams.get("token");
  if (fromAddress !== null && isSafe(method) && isPage(url.pathname)) {
    url.searchParams.delete("token");
    const next = url.pathname + url.search;
    if (!o.tokens.matches(fromAddress)) return sendLogin(res, next, true);
    res.writeHead(303, { Location: next, "Set-Cookie": sessionCookie(port, o.tokens.current, tls), "Cache-Control": "no-store" }).end();
    return;
  }

  if (!o.tokens.matches(presentedToken(req.headers, port))) {
    if (isSafe(method) && isPage(url.pathname)) return sendLogin(res, url.pathname + url.search, false);
    res.shouldKeepAlive = false;
    return sendJson(
      res,
      401,
      { error: { message: "the access token is missing or wrong: send it as 'Authorization: Bearer <token>' (see <data>/auth-token)", code: -32001, data: { code: "UNAUTHORIZED", httpStatus: 401 } } },
      { "WWW-Authenticate": 'Bearer realm="Image Studio"' },
    );
  }

  if (url.pathname === AUTH_ROUTES.logout) {
    if (method !== "POST") return refuse(res, 405, `use POST for ${AUTH_ROUTES.logout}`);
    res.writeHead(303, { Location: "/", "Set-Cookie": clearedCookie(port, tls), "Cache-Control": "no-store" }).end();
    return;
  }
  if (url.pathname === AUTH_ROUTES.rotate) {
    if (method !== "POST") return refuse(res, 405, `use POST for ${AUTH_ROUTES.rotate}`);
    const token = await o.tokens.rotate().catch((e: unknown) => {
      sendJson(res, 409, { error: e instanceof Error ? e.message : String(e) });
      return undefined;
    });
    // This browser stays signed in; every other holder of the old token is out.
    if (token !== undefined) sendJson(res, 200, { token, address: `${ownOrigin(host, tls)}/?token=${token}` }, { "Set-Cookie": sessionCookie(port, token, tls) });
    return;
  }

  if (url.pathname.startsWith(TRPC)) return trpc(o, req, res, url.pathname.slice(TRPC.length));

  const artifact = matchArtifactUrl(req.url ?? "/");
  if (artifact) return sendArtifact(req, res, { db: o.db, dataDir: o.dataDir }, artifact);
  if (await sendDownload(req, res, { db: o.db }, url.pathname)) return;
  if (url.pathname.startsWith("/api/")) return sendJson(res, 404, { error: `no such API route: ${url.pathname}` });

  // The pages only read; every change goes through the API.
  if (!isSafe(method)) return refuse(res, 405, `${method} is not allowed here: the pages take GET and HEAD`);
  return o.pages(req, res);
}

function trpc(o: AppOptions, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const limit = /^multipart\/form-data\b/i.test(req.headers["content-type"] ?? "") ? UPLOAD_BODY_BYTES : JSON_BODY_BYTES;
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) return Promise.resolve(tooLarge(res, limit));
  // A body that turns out longer than the limit (chunked ones say nothing before) is cut off by
  // the adapter as it arrives; the rest is not read: the connection goes with the answer.
  res.once("finish", () => {
    if (res.statusCode === 413) req.socket.destroy();
  });
  return nodeHTTPRequestHandler({
    router: appRouter,
    req,
    res,
    path,
    maxBodySize: limit,
    maxBatchSize: MAX_BATCH,
    createContext: () => ({ db: o.db, host: hostFacts }),
  });
}

function tooLarge(res: ServerResponse, limit: number): void {
  res.shouldKeepAlive = false;
  sendJson(res, 413, {
    error: { message: `the request body is larger than ${limit / 1024 / 1024} MiB`, code: -32600, data: { code: "PAYLOAD_TOO_LARGE", httpStatus: 413 } },
  });
}

function sendLogin(res: ServerResponse, next: string, failed: boolean): void {
  const html = loginPage({ next, failed });
  res.writeHead(401, { "Content-Type": "text/html; charset=utf-8", "Content-Length": String(Buffer.byteLength(html)), "Cache-Control": "no-store" });
  res.end(res.req.method === "HEAD" ? undefined : html);
}

/** Where to go after signing in: a path of this dashboard only. */
const safeNext = (next: string | null) => (next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/");

async function login(o: AppOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readSmallBody(req, LOGIN_BODY_BYTES);
  if (body === undefined) return tooLarge(res, LOGIN_BODY_BYTES);
  const form = new URLSearchParams(body);
  const next = safeNext(form.get("next"));
  if (!o.tokens.matches(form.get("token")?.trim())) return sendLogin(res, next, true);
  res.writeHead(303, { Location: next, "Set-Cookie": sessionCookie(o.gate.port, o.tokens.current, o.gate.tls), "Cache-Control": "no-store" }).end();
}

/** A body of at most `limit` bytes as text; undefined (and the rest unread) past it. */
function readSmallBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.off("data", onData);
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(c);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.once("error", reject);
  });
}
