import { createServer as createHttp1Server, type IncomingMessage, type Server as Http1Server, type ServerResponse } from "node:http";
import { createSecureServer, createServer as createHttp2Server, type Http2SecureServer, type Http2Server } from "node:http2";
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from "node:net";
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
  /** What binds the port: the TLS server (ALPN picks h2 or HTTP/1.1), or a TCP server that routes by the first bytes. */
  private readonly listener: TcpServer | Http2SecureServer;
  private readonly http1: Http1Server | undefined;
  private readonly http2: Http2Server | Http2SecureServer;
  /** Open connections: close ends them, event streams included. */
  private readonly sockets = new Set<Socket>();
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
    // HTTP/2's compatibility API gives handlers the request and response objects of HTTP/1.1.
    const handle = (req: IncomingMessage, res: ServerResponse): void => void this.serve(req, res);
    const h2 = handle as unknown as Parameters<typeof createHttp2Server>[1];
    if (tls) {
      const secure = createSecureServer({ ...tls.httpsOptions(), allowHTTP1: true }, h2);
      secure.on("secureConnection", (socket: Socket) => this.track(socket));
      this.stopReloading = tls.onReload((context) => secure.setSecureContext(context));
      this.http2 = this.listener = secure;
      this.http1 = undefined;
    } else {
      // Plaintext: HTTP/2 with prior knowledge (h2c, as gRPC and h2load speak it) or HTTP/1.1,
      // told apart by the connection preface, so that one port serves both.
      this.http1 = createHttp1Server(handle);
      this.http2 = createHttp2Server(h2);
      this.listener = createTcpServer((socket) => this.route(socket));
      this.http1.headersTimeout = 10_000;
      this.http1.requestTimeout = 30_000;
      this.http1.maxHeadersCount = 100;
    }
    // An HTTP/2 connection with no stream for this long is closed (HTTP/1.1's keep-alive is 5 s).
    this.http2.setTimeout(60_000);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  /** Hands a plaintext connection to HTTP/2 when it opens with its preface ("PRI * HTTP/2.0"), else to HTTP/1.1. */
  private route(socket: Socket): void {
    this.track(socket);
    socket.on("error", () => socket.destroy());
    // A connection that never says anything is not kept; after its first bytes, the server's own timeouts apply.
    const silent = setTimeout(() => socket.destroy(), 10_000);
    socket.once("data", (first: Buffer) => {
      clearTimeout(silent);
      socket.pause();
      socket.unshift(first);
      // HTTP/2 reads what is buffered on the socket itself; HTTP/1.1 reads it once the socket flows.
      if (first.subarray(0, 3).toString("latin1") === "PRI") this.http2.emit("connection", socket);
      else {
        this.http1!.emit("connection", socket);
        socket.resume();
      }
    });
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
    const server = this.listener;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        const a = server.address() as AddressInfo;
        resolve(`${host.includes(":") ? `[${host}]` : host}:${a.port}`);
      });
    });
  }

  /** Stops accepting; open event streams are ended, so close does not wait for them. */
  close(): Promise<void> {
    this.stopReloading?.();
    return new Promise((resolve) => {
      this.listener.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }
}

/** A plain-text answer for routes without a protocol of their own (assets). */
export function failText(call: HttpCall, f: Failure, httpStatus: number): void {
  call.res.writeHead(httpStatus, { "content-type": "text/plain; charset=utf-8", ...f.headers }).end(`${f.message}\n`);
}

export const notFound = (what: string): HttpError => new HttpError(grpc.status.NOT_FOUND, what);
