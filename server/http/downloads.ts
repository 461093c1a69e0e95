// Downloads answered by node:http (server/http/app.ts routes them): a build's log, a VM's
// console transcript, a profile exported as a plain mkosi project. The artifact downloads,
// with ranges, are in server/artifacts/download.ts.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { buildQueue } from "@/server/builds/queue";
import { buildLogFile } from "@/server/builds/service";
import type { Db } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { mkosiVersion } from "@/server/host/facts";
import { DEFAULT_MKOSI_MAJOR } from "@/server/mkosi/render";
import { exportProfile } from "@/server/profiles/transfer";
import { vms } from "@/server/vms/service";
import { contentDisposition } from "@/server/artifacts/ranges";

/** A route's numeric id; undefined when the text cannot be one. */
export const routeId = (id: string) => (/^[1-9]\d{0,14}$/.test(id) ? Number(id) : undefined);

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(text)), "Cache-Control": "no-store", ...headers });
  res.end(res.req.method === "HEAD" ? undefined : text);
}

const notFound = (res: ServerResponse, message: string) => sendJson(res, 404, { error: message });

/** A file as far as it is written now (a log may still grow), as an attachment. */
async function sendFile(res: ServerResponse, path: string, filename: string, type: string, missing: string): Promise<void> {
  const size = await stat(path).then(
    (s) => s.size,
    () => undefined,
  );
  if (size === undefined) return notFound(res, missing);
  res.writeHead(200, { "Content-Type": type, "Content-Disposition": contentDisposition(filename), "Content-Length": String(size), "Cache-Control": "no-store" });
  if (res.req.method === "HEAD" || size === 0) return void res.end();
  await pipeline(createReadStream(path, { start: 0, end: size - 1 }), res);
}

/** Runs `answer`, turning a NOT_FOUND of the modules into a 404 with its message. */
async function orNotFound(res: ServerResponse, answer: () => Promise<void>): Promise<void> {
  try {
    await answer();
  } catch (e) {
    if (AppError.is(e) && e.code === "NOT_FOUND" && !res.headersSent) return notFound(res, e.message);
    throw e;
  }
}

export interface DownloadContext {
  db: Db;
}

export interface Download {
  /** How the route reads, for the API's own listing and tests. */
  pattern: string;
  /** What its id names, for a 404 of an id that cannot be one. */
  noun: string;
  match: RegExp;
  answer: (req: IncomingMessage, res: ServerResponse, ctx: DownloadContext, id: number) => Promise<void>;
}

export const DOWNLOADS: readonly Download[] = [
  {
    pattern: "/api/builds/<id>/log",
    noun: "build",
    match: /^\/api\/builds\/([^/]+)\/log$/,
    answer: (_req, res, ctx, id) =>
      orNotFound(res, async () => {
        const { path, filename } = buildLogFile(buildQueue(ctx.db), id);
        await sendFile(res, path, filename, "text/plain; charset=utf-8", `build ${id} has no log (it never ran)`);
      }),
  },
  {
    pattern: "/api/vms/<id>/console",
    noun: "VM run",
    match: /^\/api\/vms\/([^/]+)\/console$/,
    answer: (_req, res, ctx, id) =>
      orNotFound(res, async () => {
        const m = vms(ctx.db);
        const run = m.getRun(id);
        await sendFile(res, m.logs.path(id), `build-${run.buildId}-vm-${id}-console.log`, "text/plain; charset=utf-8", `VM run ${id} has no console output`);
      }),
  },
  {
    pattern: "/api/profiles/<id>/export",
    noun: "profile",
    match: /^\/api\/profiles\/([^/]+)\/export$/,
    answer: (_req, res, ctx, id) =>
      orNotFound(res, async () => {
        const major = (await mkosiVersion())?.major ?? DEFAULT_MKOSI_MAJOR;
        const { filename, buffer } = await exportProfile(ctx.db, id, major);
        res.writeHead(200, { "Content-Type": "application/gzip", "Content-Disposition": contentDisposition(filename), "Content-Length": String(buffer.length), "Cache-Control": "no-store" });
        res.end(res.req.method === "HEAD" ? undefined : buffer);
      }),
  },
];

/** Answers `pathname` when it is one of the downloads; false when it is not. */
export async function sendDownload(req: IncomingMessage, res: ServerResponse, ctx: DownloadContext, pathname: string): Promise<boolean> {
  for (const download of DOWNLOADS) {
    const m = download.match.exec(pathname);
    if (!m) continue;
    const id = routeId(m[1]!);
    if (id === undefined) notFound(res, `${download.noun} ${m[1]} does not exist`);
    else await download.answer(req, res, ctx, id);
    return true;
  }
  return false;
}
