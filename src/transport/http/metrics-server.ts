import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/** Serves the registry at GET /metrics for Prometheus to scrape. */
export class MetricsServer {
  private readonly server: Server;

  constructor(registry: Registry) {
    this.server = createServer((req, res) => {
      if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found; try /metrics\n");
        return;
      }
      registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
        (e: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`${String(e)}\n`),
      );
    });
  }

  /** Binds host:port (port 0 picks one) and resolves the bound address. */
  listen(address: string): Promise<string> {
    const i = address.lastIndexOf(":");
    const host = address.slice(0, i).replace(/^\[|\]$/g, "");
    const port = Number(address.slice(i + 1));
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        const a = this.server.address() as AddressInfo;
        resolve(`${host.includes(":") ? `[${host}]` : host}:${a.port}`);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
