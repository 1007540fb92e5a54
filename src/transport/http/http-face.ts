import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import type { ServerTls } from "../tls/server-tls.js";
import { HttpError, type Failure, type HttpCall, type HttpChain } from "./http-chain.js";

/** One family of paths the HTTP face serves (OFREP, the API, the console's assets). */
export interface Route {
  /** The label in logs and metrics. */
  readonly name: string;
  /** Path prefix this route owns. */
  readonly prefix: string;
  /** Whether the caller must be authenticated before `handle` runs (with auth on). */
  readonly authenticated: boolean;
  /** Assets are logged at debug: a page load fetches many. */
  readonly quiet?: boolean;
  handle(call: HttpCall): Promise<void>;
  /** Answers `f` in this route's protocol. */
  fail(call: HttpCall, f: Failure): void;
}

export interface HttpFaceOptions {
  /** Origins a browser page may call from (CORS); "*" for any. */
  allowOrigins: readonly string[];
}

const ALLOW_HEADERS = "authorization, x-api-key, content-type, if-none-match, x-request-id, connect-protocol-version, connect-timeout-ms, ctm-break-glass, last-event-id";
const EXPOSE_HEADERS = "etag, retry-after, x-request-id";

/**
 * ctmd's HTTP listener: OFREP, the console and its API, beside gRPC and behind the same chain
 * (HttpChain). HTTPS with the gRPC port's certificate when ctmd has TLS. Slow clients are cut off:
 * headers within 10 s, a whole request within 30 s (event streams are responses, not requests).
 */
export class HttpFace {
  private readonly server: Server | HttpsServer;
  private readonly stopReloading: (() => void) | undefined;
  private readonly routes: Route[];

  constructor(
    private readonly chain: HttpChain,
    routes: readonly Route[],
    private readonly opts: HttpFaceOptions,
    tls?: ServerTls,
  ) {
    // Longest prefix first, so "/ui/" is not taken by "/".
    this.routes = [...routes].sort((a, b) => b.prefix.length - a.prefix.length);
    const handle = (req: IncomingMessage, res: ServerResponse): void => void this.serve(req, res);
    if (tls) {
      const https = createHttpsServer(tls.httpsOptions(), handle);
      this.stopReloading = tls.onReload((context) => https.setSecureContext(context));
      this.server = https;
    } else {
      this.server = createServer(handle);
    }
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    this.server.maxHeadersCount = 100;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const call = this.chain.begin(req, res);
    this.cors(req, res);
    if (call.url.pathname === "/") {
      res.writeHead(302, { location: "/ui/" }).end();
      return;
    }
    const route = this.routes.find((r) => call.url.pathname === r.prefix.replace(/\/$/, "") || call.url.pathname.startsWith(r.prefix));
    if (route === undefined) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found: ctmd serves /ofrep/v1/, /api/ and /ui/\n");
      return;
    }
    this.chain.track(call, route.name, route.quiet);
    if (req.method === "OPTIONS") {
      res.writeHead(204, { allow: "GET, POST, OPTIONS" }).end();
      return;
    }
    try {
      if (route.authenticated) await this.chain.authenticate(call);
      this.chain.limit(call);
      await route.handle(call);
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      route.fail(call, this.chain.failure(call, e));
    }
  }

  /** A listed origin may call from a browser page; preflights are answered for it. */
  private cors(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    if (origin === undefined || this.opts.allowOrigins.length === 0) return;
    const any = this.opts.allowOrigins.includes("*");
    if (!any && !this.opts.allowOrigins.includes(origin)) return;
    res.setHeader("access-control-allow-origin", any ? "*" : origin);
    if (!any) res.setHeader("vary", "origin");
    res.setHeader("access-control-expose-headers", EXPOSE_HEADERS);
    if (req.method === "OPTIONS") {
      res.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
      res.setHeader("access-control-allow-headers", ALLOW_HEADERS);
      res.setHeader("access-control-max-age", "600");
    }
  }

  /** Binds host:port (port 0 picks one) and resolves the bound address. */
  listen(address: string): Promise<string> {
    const i = address.lastIndexOf(":");
    const host = address.slice(0, i).replace(/^\[|\]$/g, "");
    const port = Number(address.slice(i + 1));
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        const a = this.server.address() as AddressInfo;
        resolve(`${host.includes(":") ? `[${host}]` : host}:${a.port}`);
      });
    });
  }

  /** Stops accepting; open event streams are ended, so close does not wait for them. */
  close(): Promise<void> {
    this.stopReloading?.();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** A plain-text answer for routes without a protocol of their own (assets). */
export function failText(call: HttpCall, f: Failure, httpStatus: number): void {
  call.res.writeHead(httpStatus, { "content-type": "text/plain; charset=utf-8", ...f.headers }).end(`${f.message}\n`);
}

export const notFound = (what: string): HttpError => new HttpError(grpc.status.NOT_FOUND, what);
