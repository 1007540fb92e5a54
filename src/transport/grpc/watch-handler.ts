import { once } from "node:events";
import * as grpc from "@grpc/grpc-js";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { LogRecord } from "../../domain/record.js";
import type { ConfigService } from "../../service/config-service.js";
import { WatchStatus, type WatchRequest, type WatchResponse } from "../../gen/ctm/v1/config_service.js";
import { entryBytes, writeHeader } from "./wire-cache.js";
import { requestIdOf, type Rpc } from "./rpc-logger.js";
import { toStatus, statusName } from "./status-table.js";

export interface WatchOptions {
  /** Idle streams get a progress response this often. */
  progressIntervalMs: number;
}

/** Watch responses go out pre-encoded: an event is encoded once, whatever the number of streams. */
export type WatchWire = Buffer | WatchResponse;

/** WatchResponse{header{revision}, status, events} assembled from cached Entry bytes. */
export function encodeWatchResponse(revision: number, status: WatchStatus, records: readonly LogRecord[]): Buffer {
  const w = writeHeader(new BinaryWriter(), revision);
  w.uint32(16).int32(status);
  for (const r of records) w.uint32(26).bytes(entryBytes(r));
  return Buffer.from(w.finish());
}

export function watchHandler(svc: ConfigService, { log, metrics }: Rpc, opts: WatchOptions): grpc.handleServerStreamingCall<WatchRequest, WatchWire> {
  return (call) => {
    const started = process.hrtime.bigint();
    const req = call.request;
    const requestId = requestIdOf(call.metadata);
    const done = (status: grpc.status, extra: object = {}): void => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      metrics?.countRpc("Watch", statusName(status));
      log.info({ method: "Watch", key: req.key, prefix: req.prefix, status: statusName(status), durationMs, ...extra }, "rpc");
    };
    let watcher;
    try {
      watcher = svc.watch(req.key, req.prefix, req.startRevision);
    } catch (e) {
      const { error } = toStatus(e, requestId);
      done(error.code!, { error: error.details });
      call.emit("error", error);
      return;
    }
    let cancelled = false;
    metrics?.watchStreams.inc();
    call.on("cancelled", () => {
      cancelled = true;
      watcher.close();
    });
    let lastWrite = Date.now();
    const send = async (buf: Buffer): Promise<void> => {
      lastWrite = Date.now();
      // Respect back-pressure: while the client is slow, the watcher falls back to the log.
      if (!call.write(buf) && !cancelled) await Promise.race([once(call, "drain"), once(call, "cancelled")]);
    };
    const heartbeat = setInterval(() => {
      if (Date.now() - lastWrite < opts.progressIntervalMs || cancelled) return;
      void send(encodeWatchResponse(watcher.progressRevision(), WatchStatus.WATCH_STATUS_PROGRESS, []));
    }, Math.max(10, Math.floor(opts.progressIntervalMs / 2)));
    heartbeat.unref();

    void (async () => {
      let sent = 0;
      try {
        await send(encodeWatchResponse(svc.headRevision, WatchStatus.WATCH_STATUS_CREATED, []));
        for await (const batch of watcher) {
          if (cancelled) break;
          sent += batch.length;
          metrics?.watchEvents.inc(batch.length);
          await send(encodeWatchResponse(svc.headRevision, WatchStatus.WATCH_STATUS_EVENTS, batch));
        }
        if (cancelled) return done(grpc.status.CANCELLED, { events: sent });
        // The hub closed: the daemon is draining. UNAVAILABLE tells clients to resume elsewhere or later.
        done(grpc.status.UNAVAILABLE, { events: sent });
        call.emit("error", { code: grpc.status.UNAVAILABLE, details: "ctmd is shutting down; resume from the last revision seen + 1" });
      } catch (e) {
        const { error } = toStatus(e, requestId);
        done(error.code!, { events: sent, error: error.details, err: e });
        call.emit("error", error);
      } finally {
        metrics?.watchStreams.dec();
        clearInterval(heartbeat);
        watcher.close();
      }
    })();
  };
}
