import type { ClientBudget } from "../grpc/client-budget.js";
import type { ConnectionGuard } from "../connection-guard.js";
import type { Logger } from "pino";
import type { DaemonConfig } from "../../config.js";
import type { ConfigService } from "../../service/config-service.js";
import type { Metrics } from "../../service/metrics.js";
import type { CallAuth } from "../grpc/call-auth.js";
import { checkedService } from "../grpc/checked-service.js";
import type { ServiceEntry } from "../grpc/grpc-server.js";
import type { HttpLines } from "../log/log-shipper.js";
import type { ServerTls } from "../tls/server-tls.js";
import { ConnectGateway } from "./connect-gateway.js";
import { ConsoleAssets } from "./console-assets.js";
import { EventStream } from "./event-stream.js";
import { HttpChain } from "./http-chain.js";
import { HttpFace } from "./http-face.js";
import { ofrepRoutes } from "./ofrep-routes.js";
import { RateLimiter } from "./rate-limiter.js";

export interface HttpFaceDeps {
  services: readonly ServiceEntry[];
  config: ConfigService;
  log: Logger;
  /** Where info lines go as rows (the log shipper), when not through `log`. */
  lines?: HttpLines;
  metrics?: Metrics;
  auth?: CallAuth;
  gate: () => Error | undefined;
  tls?: ServerTls;
  cfg: Pick<DaemonConfig, "httpRateLimit" | "httpAllowOrigins">;
  /** The gRPC face's share of requests in flight per client: one share for both faces. */
  requestBudget: ClientBudget;
  /** The gRPC face's share of connections per client, likewise. */
  connections?: ConnectionGuard;
  maxBodyBytes: number;
}

/** The HTTP face as ctmd serves it: OFREP, the API and its event stream, the console. */
export function httpFace(d: HttpFaceDeps): HttpFace {
  const chain = new HttpChain({ log: d.log, lines: d.lines, metrics: d.metrics, auth: d.auth, gate: d.gate, rate: d.cfg.httpRateLimit > 0 ? new RateLimiter(d.cfg.httpRateLimit) : undefined, maxBodyBytes: d.maxBodyBytes, requestBudget: d.requestBudget });
  // The request checks gRPC runs on every request's bytes, for the API's decoded JSON too.
  const checked = d.services.map((s) => {
    const [definition, handlers] = checkedService(s.definition, s.handlers as never);
    return { definition, handlers };
  });
  const routes = [new ConnectGateway(checked, chain), new EventStream(checked, chain), ...ofrepRoutes(d.config, chain), new ConsoleAssets()];
  return new HttpFace(chain, routes, { allowOrigins: d.cfg.httpAllowOrigins, connections: d.connections }, d.tls);
}
