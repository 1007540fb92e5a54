import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { Socket } from "node:net";
import { listenOn } from "../listen-on.js";
import type { ServerTls } from "../tls/server-tls.js";
import type { ConnectionGuard } from "../connection-guard.js";

/** What /metrics serves: a prom-client Registry, or the sum of several processes' (WorkerPool). */
export interface Scrape {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface MetricsServerOptions {
  /** HTTPS with the gRPC port's certificate and client policy. */
  tls?: ServerTls;
  /**
   * With auth on, why a scrape's `authorization` header is not accepted (the same tokens as
   * gRPC; Prometheus sends one with `authorization: { credentials: ... }`).
   */
  refuse?: (authorization: string | undefined) => string | undefined;
  /** Counts this port's connections with the others'. */
  connections?: ConnectionGuard;
}

/** Serves the registry at GET /metrics for Prometheus to scrape: HTTPS (and mTLS) when ctmd has TLS. */
export class MetricsServer {
  private readonly server: Server | HttpsServer;
  private readonly stopReloading: (() => void) | undefined;

  constructor(registry: Scrape, { tls, refuse, connections }: MetricsServerOptions = {}) {
    const handle = (req: IncomingMessage, res: ServerResponse): void => {
      if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found; try /metrics\n");
        return;
      }
      const why = refuse?.(req.headers.authorization);
      if (why !== undefined) {
        res.writeHead(401, { "content-type": "text/plain", "www-authenticate": 'Bearer realm="ctmd"' }).end(`${why}\n`);
        return;
      }
      registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
        (e: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`${String(e)}\n`),
      );
    };
    if (tls) {
      // The gRPC port's certificate and client policy; a reload (SIGHUP) reaches new handshakes here too.
      const https = createHttpsServer(tls.httpsOptions(), handle);
      this.stopReloading = tls.onReload((context) => https.setSecureContext(context));
      this.server = https;
    } else {
      this.server = createServer(handle);
    }
    // After node's own listener has taken the socket: destroying it there ends that too.
    if (connections) this.server.on("connection", (socket: Socket) => void connections.admit(socket, "metrics", 0));
  }

  /** Binds host:port (port 0 picks one) and resolves the bound address. */
  listen(address: string): Promise<string> {
    return listenOn(this.server, address);
  }

  close(): Promise<void> {
    this.stopReloading?.();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
