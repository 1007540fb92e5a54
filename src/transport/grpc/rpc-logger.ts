import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Metrics } from "../../service/metrics.js";
import { statusName, toStatus } from "./status-table.js";

export const requestIdOf = (md: grpc.Metadata): string => {
  const v = md.get("x-request-id")[0];
  return typeof v === "string" && v.length > 0 && v.length <= 128 ? v : randomUUID();
};

/** What every handler needs: the logger, and metrics when they are on. */
export interface Rpc {
  log: Logger;
  metrics?: Metrics;
}

/**
 * Wraps a unary handler: one log line per RPC (method, key, status, duration),
 * and every error through the one status table.
 */
export function unary<Req, Res>(
  { log, metrics }: Rpc,
  method: string,
  keyOf: (req: NoInfer<Req>) => string | undefined,
  fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const started = process.hrtime.bigint();
    const finish = (code: grpc.status, extra?: object): void => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const status = statusName(code);
      const line = { method, key: keyOf(call.request), status, durationMs, ...extra };
      metrics?.rpc(method, status, durationMs / 1000);
      if (code === grpc.status.OK) log.info(line, "rpc");
      else if (code === grpc.status.INTERNAL || code === grpc.status.UNAVAILABLE) log.error(line, "rpc");
      else log.warn(line, "rpc");
    };
    const fail = (e: unknown): void => {
      const requestId = requestIdOf(call.metadata);
      const { error, unexpected } = toStatus(e, requestId);
      finish(error.code!, { requestId, error: error.details, ...(unexpected ? { err: e } : {}) });
      callback(error);
    };
    try {
      const out = fn(call.request, call);
      if (out instanceof Promise) {
        out.then((res) => {
          finish(grpc.status.OK);
          callback(null, res);
        }, fail);
      } else {
        finish(grpc.status.OK);
        callback(null, out);
      }
    } catch (e) {
      fail(e);
    }
  };
}
