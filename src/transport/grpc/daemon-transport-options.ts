import type { Logger } from "pino";
import type { DaemonConfig } from "../../config.js";
import { LIMITS } from "../../domain/limits.js";
import type { Metrics } from "../../service/metrics.js";
import { daemonConnectionGuard } from "../connection-guard.js";
import { ClientBudget } from "./client-budget.js";
import type { GrpcTransportOptions } from "./grpc-server.js";

/** The transport options of a ctmd process, primary or read worker, from its flags: one share of each bound per process. */
export function daemonTransportOptions(cfg: DaemonConfig, log: Logger, metrics: Metrics): GrpcTransportOptions & { connections: NonNullable<GrpcTransportOptions["connections"]> } {
  return {
    watch: { progressIntervalMs: cfg.watchProgressMs, streamsPerClient: cfg.watchStreamsPerClient },
    maxReceiveBytes: LIMITS.valueBytes * 4 + 1024 * 1024,
    requestBudget: new ClientBudget(cfg.requestBudgetMiB * 1024 * 1024),
    connections: daemonConnectionGuard(cfg, log, metrics),
    calls: { perClient: cfg.callsPerClient, arrivalMs: cfg.requestArrivalMs },
  };
}
