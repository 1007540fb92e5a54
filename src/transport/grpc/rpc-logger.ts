import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Metrics } from "../../service/metrics.js";
import type { RpcLines } from "../log/log-shipper.js";
import type { CallAuth } from "./call-auth.js";
import { dateMetadata } from "./date-metadata.js";
import { statusName, toStatus } from "./status-table.js";

export const requestIdOf = (md: grpc.Metadata): string => {
  const v = md.get("x-request-id")[0];
  return typeof v === "string" && v.length > 0 && v.length <= 128 ? v : randomUUID();
};

/** What every handler needs: the logger, and metrics when they are on. */
export interface Rpc {
  log: Logger;
  metrics?: Metrics;
  /** Where successful RPCs are logged, when not through `log` (see LogShipper). */
  lines?: RpcLines;
  /** Set while calls must be refused, e.g. a store that failed verification is never served. */
  gate?: () => Error | undefined;
  /** Authentication and authorization; absent when auth is off. */
  auth?: CallAuth;
}

/**
 * Wraps a unary handler: one log line per RPC (method, key, status, duration),
 * and every error through the one status table.
 */
export function unary<Req, Res>(
  { log, metrics, lines, gate }: Rpc,
  method: string,
  keyOf: (req: NoInfer<Req>) => string | undefined,
  fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  // pino serializes a child's bindings once, so the fields every line of this method
  // shares cost nothing per call; only the key and the duration are serialized per RPC.
  const methodLog = log.child({ method });
  const okLog = methodLog.child({ status: "OK" });
  const logOk = okLog.isLevelEnabled("info");
  const okMetric = metrics?.rpcRecorder(method, "OK");
  const succeed = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>, started: number, res: Res): void => {
    const durationMs = performance.now() - started;
    okMetric?.(durationMs / 1000);
    if (logOk) {
      if (lines) lines.ok(method, keyOf(call.request), durationMs);
      else okLog.info({ key: keyOf(call.request), durationMs }, "rpc");
    }
    call.sendMetadata(dateMetadata());
    callback(null, res);
  };
  const fail = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>, started: number, e: unknown): void => {
    const durationMs = performance.now() - started;
    const requestId = requestIdOf(call.metadata);
    const { error, unexpected } = toStatus(e, requestId);
    const status = statusName(error.code!);
    metrics?.rpc(method, status, durationMs / 1000);
    const line = { key: keyOf(call.request), status, durationMs, requestId, error: error.details, ...(unexpected ? { err: e } : {}) };
    if (error.code === grpc.status.INTERNAL || error.code === grpc.status.UNAVAILABLE) methodLog.error(line, "rpc");
    else methodLog.warn(line, "rpc");
    callback(error);
  };
  return (call, callback) => {
    const started = performance.now();
    try {
      const refused = gate?.();
      if (refused) throw refused;
      const out = fn(call.request, call);
      if (out instanceof Promise) {
        out.then(
          (res) => succeed(call, callback, started, res),
          (e: unknown) => fail(call, callback, started, e),
        );
      } else succeed(call, callback, started, out);
    } catch (e) {
      fail(call, callback, started, e);
    }
  };
}
