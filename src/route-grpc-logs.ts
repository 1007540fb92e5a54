import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";

/**
 * grpc-js writes its own lines to stderr ("E No address added out of total 1 resolved"),
 * ahead of ctmd's one-line refusal. Everything it reports at its default verbosity also
 * reaches ctmd through a callback or a call status that ctmd handles, so its lines go to
 * the structured log at debug level (with GRPC_VERBOSITY=debug and --log-level debug
 * for grpc-js's own tracing).
 */
export function routeGrpcLogs(log: Logger): void {
  const child = log.child({ component: "grpc-js" });
  const write = (message: unknown, ...rest: unknown[]): void => child.debug([message, ...rest].map(String).join(" "));
  grpc.setLogger({ error: write, info: write, debug: write });
}
