import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { HttpError, type Failure, type HttpCall } from "./http-chain.js";
import { failText, type Route } from "./http-face.js";

/** Where `npm run build` writes the console: dist/console beside dist/src. */
const BUILT = resolve(import.meta.dirname, "../../../console");

/** The only files served: anything else in the directory (a source map, a stray file) is a 404. */
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/**
 * The page runs only its own files and talks only to this origin; no inline script or style can
 * run, and trusted types close the DOM sinks (the console builds every node with textContent).
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "content-security-policy": CONSOLE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** Paths the console routes in the browser: each is answered with index.html. */
const CLIENT_ROUTE = /^\/ui\/(?:keys|activity|key\/.+)?$/;
/** A file name as the build writes them: no dot files, no "..", no backslashes or encoded slashes. */
const SAFE_PATH = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

interface Asset {
  body: Buffer;
  etag: string;
  mtimeMs: number;
  size: number;
}

/**
 * The web console's files under /ui/. File names are not versioned, so every answer says
 * `no-cache`: a browser keeps its copy and revalidates it by ETag (304), and never runs the
 * previous build's modules beside the new one's.
 */
export class ConsoleAssets implements Route {
  readonly name = "ui";
  readonly prefix = "/ui/";
  readonly authenticated = false;
  readonly quiet = true;
  private readonly cache = new Map<string, Asset>();
  private rootReal: Promise<string> | undefined;

  constructor(private readonly root: string = BUILT) {}

  async handle(call: HttpCall): Promise<void> {
    const { req, res, path } = call;
    if (req.method !== "GET" && req.method !== "HEAD") throw new HttpError(grpc.status.UNIMPLEMENTED, "the console's files are read with GET", { allow: "GET, HEAD" });
    if (path === "/ui") {
      res.writeHead(301, { location: "/ui/", ...SECURITY_HEADERS }).end();
      return;
    }
    const rel = CLIENT_ROUTE.test(path) ? "index.html" : this.fileOf(path);
    const asset = await this.load(rel);
    const headers = { ...SECURITY_HEADERS, etag: asset.etag, "cache-control": "no-cache" };
    if (req.headers["if-none-match"] === asset.etag) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, "content-type": TYPES[extname(rel)]!, "content-length": String(asset.size) });
    res.end(req.method === "HEAD" ? undefined : asset.body);
  }

  fail(call: HttpCall, f: Failure): void {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) call.res.setHeader(name, value);
    failText(call, f, f.code === grpc.status.NOT_FOUND ? 404 : f.code === grpc.status.UNIMPLEMENTED ? 405 : f.code === grpc.status.RESOURCE_EXHAUSTED ? 429 : 500);
  }

  /** The file a path names, relative to the root; anything that is not plainly a console file is a 404. */
  private fileOf(pathname: string): string {
    let rel: string;
    try {
      rel = decodeURIComponent(pathname.slice(this.prefix.length));
    } catch {
      throw missing(pathname);
    }
    if (!SAFE_PATH.test(rel) || rel.split("/").includes("..") || TYPES[extname(rel)] === undefined) throw missing(pathname);
    return rel;
  }

  /** Reads a file once per change (size and mtime), after checking that it really lies under the root. */
  private async load(rel: string): Promise<Asset> {
    this.rootReal ??= realpath(this.root).catch(() => this.root);
    const root = await this.rootReal;
    let file: string;
    let info: Stats;
    try {
      // realpath: a symbolic link inside the root must not lead out of it.
      file = await realpath(resolve(root, rel));
      info = await stat(file);
    } catch {
      throw missing(`/ui/${rel}`, rel === "index.html");
    }
    if (!file.startsWith(root + sep) || !info.isFile()) throw missing(`/ui/${rel}`);
    const cached = this.cache.get(file);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached;
    const body = await readFile(file);
    const asset = { body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`, mtimeMs: info.mtimeMs, size: body.length };
    this.cache.set(file, asset);
    return asset;
  }
}

const missing = (path: string, unbuilt = false): HttpError =>
  new HttpError(grpc.status.NOT_FOUND, unbuilt ? "the console is not built (npm run build writes dist/console)" : `${path} is not a file of the console`);
