import { pino, type Logger } from "pino";
import { prettyFactory } from "pino-pretty";
import type { DaemonConfig } from "./config.js";
import { routeGrpcLogs } from "./route-grpc-logs.js";
import { LOG_SHIPPER_DEFAULTS, LogShipper } from "./transport/log/log-shipper.js";

export const RPC_BINDINGS = { component: "grpc" };
export const HTTP_BINDINGS = { component: "http" };

/** `closeLog` resolves once every line is written: only then may the process exit. */
export function makeLogger(cfg: DaemonConfig): { log: Logger; requestLog: Logger; shipper?: LogShipper; closeLog: () => Promise<void> } {
  if (cfg.logFormat === "pretty") {
    // Formatted and written synchronously on this thread: pino-pretty as a transport runs in a
    // worker whose last lines process.exit() cut off. Pretty logs are for a human at a terminal.
    const out = pino.destination({ dest: 1, sync: true });
    const prettify = prettyFactory({});
    const log = pino({ level: cfg.logLevel }, { write: (line: string) => out.write(prettify(line)) });
    routeGrpcLogs(log);
    return { log, requestLog: log, closeLog: async () => out.flushSync() };
  }
  // One JSON line per RPC: a worker thread formats and writes them (see LogShipper).
  const shipper = new LogShipper({ ...LOG_SHIPPER_DEFAULTS, rpcBindings: RPC_BINDINGS, httpBindings: HTTP_BINDINGS });
  const log = pino({ level: cfg.logLevel }, shipper);
  routeGrpcLogs(log);
  // Per-request lines of the HTTP face: the same output, shipped with the RPC rows.
  const requestLog = pino({ level: cfg.logLevel }, { write: (line: string) => shipper.writeBatched(line) });
  return { log, requestLog, shipper, closeLog: () => shipper.close() };
}

