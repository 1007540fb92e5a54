import { createServer as createHttp1Server, type Server as Http1Server } from "node:http";
import { createServer as createHttp2Server, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { listenOn } from "../listen-on.js";
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import type { ServerTls } from "../tls/server-tls.js";
import type { ConnectionGuard } from "../connection-guard.js";
import { h2Exchange } from "./h2-exchange.js";
import { HttpError, type Failure, type HttpCall, type HttpChain } from "./http-chain.js";
import type { HttpRequest, HttpResponse } from "./http-exchange.js";

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
  /** Serves the call; a promise when it waits (for the body, the store). */
  handle(call: HttpCall): Promise<void> | void;
  /** Answers `f` in this route's protocol. */
  fail(call: HttpCall, f: Failure): void;
}

export interface HttpFaceOptions {
  /** Origins a browser page may call from (CORS); "*" for any. */
  allowOrigins: readonly string[];
  /** An HTTP/1.1 request's headers must arrive within this (default 10 s)... */
  headersTimeoutMs?: number;
  /** ...and the whole request within this (default 30 s); HttpChain bounds an HTTP/2 body. */
  requestTimeoutMs?: number;
  /** Each client's share of connections, shared with the gRPC port; none: no limit. */
  connections?: ConnectionGuard;
}

const ALLOW_HEADERS = "authorization, x-api-key, content-type, if-none-match, x-request-id, connect-protocol-version, connect-timeout-ms, ctm-break-glass, last-event-id";
const EXPOSE_HEADERS = "etag, retry-after, x-request-id";

/**
 * ctmd's HTTP listener: OFREP, the console and its API, beside gRPC and behind the same chain
 * (HttpChain). HTTPS with the gRPC port's certificate when ctmd has TLS. One port serves HTTP/1.1
 * and HTTP/2: with TLS, ALPN picks; in plaintext, the connection preface does (h2c with prior
 * knowledge, as gRPC clients and h2load speak it). Slow clients are cut off: HTTP/1.1 headers
 * within 10 s and a whole request within 30 s, an HTTP/2 connection after 60 s without a stream
 * (event streams are responses, not requests).
 */
export class HttpFace {
  /** What binds the port: a TLS or TCP server that hands each connection to HTTP/1.1 or HTTP/2. */
  private readonly listener: TcpServer | TlsServer;
  private readonly http1: Http1Server;
  private readonly http2: Http2Server;
  /** Open connections: close ends them, event streams included. */
  private readonly sockets = new Set<Socket>();
  private readonly stopReloading: (() => void) | undefined;
  /** Each route with its prefix bare of the final slash ("/ui" is the console too). */
  private readonly routes: { route: Route; bare: string }[];

  constructor(
    private readonly chain: HttpChain,
    routes: readonly Route[],
    private readonly opts: HttpFaceOptions,
    tls?: ServerTls,
  ) {
    // Longest prefix first, so "/ui/" is not taken by "/".
    this.routes = [...routes].sort((a, b) => b.prefix.length - a.prefix.length).map((route) => ({ route, bare: route.prefix.replace(/\/$/, "") }));
    const headersTimeout = opts.headersTimeoutMs ?? 10_000;
    this.http1 = createHttp1Server(
      // The deadlines are checked every second (node's default, 30 s, would let a slow client stay 40 s).
      { headersTimeout, requestTimeout: opts.requestTimeoutMs ?? 30_000, connectionsCheckingInterval: Math.min(1000, headersTimeout) },
      (req, res) => this.serve(req, res),
    );
    this.http1.maxHeadersCount = 100;
    // node:http starts the timer that enforces those deadlines when its server listens. This one
    // never listens itself (the listener below hands it connections), so it is told to start it.
    this.http1.emit("listening");
    // HTTP/2 streams are served as they are, not through node:http2's compatibility objects (see h2Exchange).
    this.http2 = createHttp2Server();
    this.http2.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      const { req, res } = h2Exchange(stream, headers);
      this.serve(req, res);
    });
    // An HTTP/2 connection with no stream for this long is closed (HTTP/1.1's keep-alive is 5 s).
    this.http2.setTimeout(60_000);
    if (tls) {
      // A client must finish its handshake as soon as it must send its headers.
      const secure = createTlsServer({ ...tls.httpsOptions(), ALPNProtocols: ["h2", "http/1.1"], handshakeTimeout: headersTimeout }, (socket) => this.routeTls(socket));
      // node reports a failed or timed-out handshake here and leaves the socket open: it is closed.
      secure.on("tlsClientError", (_e: Error, socket: TLSSocket) => socket.destroy());
      // Tracked from the first byte, so that close ends a connection still in its handshake too.
      secure.on("connection", (socket: Socket) => {
        if (this.admit(socket)) this.track(socket);
      });
      this.stopReloading = tls.onReload((context) => secure.setSecureContext(context));
      this.listener = secure;
    } else {
      this.listener = createTcpServer((socket) => {
        if (this.admit(socket)) this.route(socket);
      });
      this.stopReloading = undefined;
    }
  }

  /** Whether the connection guard lets `socket` in (it times silent connections out itself, below). */
  private admit(socket: Socket): boolean {
    return this.opts.connections?.admit(socket, "http", 0) ?? true;
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  /** A TLS connection goes where ALPN chose: HTTP/2 for "h2", else HTTP/1.1 (also for clients that offer no ALPN). */
  private routeTls(socket: TLSSocket): void {
    socket.on("error", () => socket.destroy());
    if (socket.alpnProtocol === "h2") this.http2.emit("connection", socket);
    else this.http1.emit("connection", socket);
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
        this.http1.emit("connection", socket);
        socket.resume();
      }
    });
  }

  /** Runs one request through the chain and its route; asynchronous only where a step waits. */
  private serve(req: HttpRequest, res: HttpResponse): void {
    const call = this.chain.begin(req, res);
    this.cors(req, res);
    const path = call.path;
    if (path === "/") {
      res.writeHead(302, { location: "/ui/" }).end();
      return;
    }
    const route = this.routes.find((r) => path.startsWith(r.route.prefix) || path === r.bare)?.route;
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
      const refused = route.authenticated ? this.chain.authenticate(call) : undefined;
      const handled = refused ? refused.then(() => this.handle(route, call)) : this.handle(route, call);
      handled?.catch((e: unknown) => this.failed(route, call, e));
    } catch (e) {
      this.failed(route, call, e);
    }
  }

  private handle(route: Route, call: HttpCall): Promise<void> | void {
    this.chain.limit(call);
    return route.handle(call);
  }

  /** Answers a failure in the route's protocol; an answer already under way is cut off instead. */
  private failed(route: Route, call: HttpCall, e: unknown): void {
    if (call.res.headersSent) {
      call.res.destroy();
      return;
    }
    route.fail(call, this.chain.failure(call, e));
  }

  /** A listed origin may call from a browser page; preflights are answered for it. */
  private cors(req: HttpRequest, res: HttpResponse): void {
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
    return listenOn(this.listener, address);
  }

  /** Stops accepting; open event streams are ended, so close does not wait for them. */
  close(): Promise<void> {
    this.stopReloading?.();
    // Stops HTTP/1.1's deadline timer (see the constructor).
    this.http1.close();
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
