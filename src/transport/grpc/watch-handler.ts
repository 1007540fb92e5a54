import type { EventEmitter } from "node:events";
import * as grpc from "@grpc/grpc-js";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { LogRecord } from "@ctm/core/record";
import type { ConfigService } from "../../service/config-service.js";
import { WatchStatus, type WatchRequest, type WatchResponse } from "../../gen/ctm/v1/config_service.js";
import { entryBytes } from "./wire-cache.js";
import { headerOf, writeHeader } from "./response-header.js";
import type { ResponseHeader } from "../../gen/ctm/v1/record.js";
import { requestIdOf, type Rpc } from "./rpc-logger.js";
import { toStatus, statusName } from "./status-table.js";
import { ClientBudget } from "./client-budget.js";
import { currentPrincipal } from "../../service/acting-principal.js";

export interface WatchOptions {
  /** Idle streams get a progress response this often. */
  progressIntervalMs: number;
  /** Streams one client may hold open at once (see ClientBudget); 0: no limit. */
  streamsPerClient: number;
}

/** Watch responses go out pre-encoded: an event is encoded once, whatever the number of streams. */
export type WatchWire = Buffer | WatchResponse;

/**
 * Entry bytes one EVENTS response carries at most: a batch past it (a replay of large values, a
 * slow watcher's buffer) goes out as several responses, so each fits a client's default 4 MiB
 * receive limit, and a stream holds at most about this much in flight. An entry larger than
 * this (a value near the 256 KiB limit whose protobuf outgrows its JSON) goes alone.
 */
export const WATCH_WIRE_BYTES = 1024 * 1024;

/**
 * WatchResponse{header{revision}, status, events} assembled from cached Entry bytes: a live
 * event is encoded once for every stream; records read back from the log (`keep` false) are
 * encoded for this stream alone.
 */
export function encodeWatchResponse(header: ResponseHeader, status: WatchStatus, records: readonly LogRecord[], keep = true): Buffer {
  const w = responseStart(header, status);
  for (const r of records) w.uint32(26).bytes(entryBytes(r, keep));
  return Buffer.from(w.finish());
}

const responseStart = (header: ResponseHeader, status: WatchStatus): BinaryWriter => writeHeader(new BinaryWriter(), header).uint32(16).int32(status);

/** EVENTS responses for `records`, in order, each with at most `limit` bytes of entries (but at least one entry). */
export function encodeEventResponses(header: ResponseHeader, records: readonly LogRecord[], keep = true, limit = WATCH_WIRE_BYTES): Buffer[] {
  const out: Buffer[] = [];
  const start = (): BinaryWriter => responseStart(header, WatchStatus.WATCH_STATUS_EVENTS);
  let w = start();
  let size = 0;
  for (const r of records) {
    const b = entryBytes(r, keep);
    if (size > 0 && size + b.length > limit) {
      out.push(Buffer.from(w.finish()));
      w = start();
      size = 0;
    }
    w.uint32(26).bytes(b);
    size += b.length;
  }
  out.push(Buffer.from(w.finish()));
  return out;
}

interface SharedEvents {
  header: ResponseHeader;
  records: readonly LogRecord[];
  responses: Buffer[];
}

// The live responses made in this turn of the event loop, by their batch's first record: the
// streams of one key get the same records under the same header in the turn that commits them,
// so the first of them encodes the response and the others send its bytes. Assembling it per
// stream was a fifth of a fanning-out replica's CPU. Emptied after the turn, so it holds no
// response longer than that.
const sharedEvents = new Map<LogRecord, SharedEvents>();

/** The EVENTS responses for live `records`, the same bytes for every stream that sends them under `header` in one turn. */
export function liveEventResponses(header: ResponseHeader, records: readonly LogRecord[]): Buffer[] {
  const first = records[0]!;
  const c = sharedEvents.get(first);
  if (c !== undefined && c.header === header && sameRecords(c.records, records)) return c.responses;
  const responses = encodeEventResponses(header, records);
  if (sharedEvents.size === 0) setImmediate(() => sharedEvents.clear());
  sharedEvents.set(first, { header, records, responses });
  return responses;
}

function sameRecords(a: readonly LogRecord[], b: readonly LogRecord[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function watchHandler(svc: ConfigService, { log, metrics, gate }: Rpc, opts: WatchOptions): grpc.handleServerStreamingCall<WatchRequest, WatchWire> {
  const streams = new ClientBudget(opts.streamsPerClient);
  return (call) => {
    const started = process.hrtime.bigint();
    const req = call.request;
    const requestId = requestIdOf(call.metadata);
    const done = (status: grpc.status, extra: object = {}): void => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      metrics?.countRpc("Watch", statusName(status));
      log.info({ method: "Watch", key: req.key, prefix: req.prefix, status: statusName(status), durationMs, ...extra }, "rpc");
    };
    // The chain runs the handler's synchronous start as the caller's principal.
    const client = ClientBudget.clientOf(currentPrincipal(), call.getPeer());
    let watcher;
    try {
      const refused = gate?.();
      if (refused) throw refused;
      if (!streams.take(client)) {
        const error = tooManyStreams(streams.limit, requestId);
        done(error.code, { error: error.details, client });
        call.emit("error", error);
        return;
      }
      try {
        watcher = svc.watch(req.key, req.prefix, req.startRevision);
      } catch (e) {
        streams.give(client);
        throw e;
      }
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
    let blocked = false;
    const send = async (buf: Buffer): Promise<void> => {
      lastWrite = Date.now();
      // Respect back-pressure: while the client is slow, the watcher falls back to the log.
      if (call.write(buf) || cancelled) return;
      blocked = true;
      try {
        await drainedOrCancelled(call);
      } finally {
        blocked = false;
      }
    };
    const heartbeat = setInterval(() => {
      // A progress response queued behind a full stream tells the client nothing.
      if (Date.now() - lastWrite < opts.progressIntervalMs || cancelled || blocked) return;
      void send(encodeWatchResponse({ ...headerOf(svc), revision: watcher.progressRevision() }, WatchStatus.WATCH_STATUS_PROGRESS, []));
    }, Math.max(10, Math.floor(opts.progressIntervalMs / 2)));
    heartbeat.unref();

    void (async () => {
      let sent = 0;
      try {
        await send(encodeWatchResponse(headerOf(svc), WatchStatus.WATCH_STATUS_CREATED, []));
        for await (const batch of watcher) {
          if (cancelled) break;
          sent += batch.length;
          metrics?.watchEvents.inc(batch.length);
          // A replay's records were read for this stream alone: nothing to share, nothing to cache.
          const responses = watcher.lastFromLog ? encodeEventResponses(headerOf(svc), batch, false) : liveEventResponses(headerOf(svc), batch);
          for (const r of responses) if (!cancelled) await send(r);
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
        streams.give(client);
        clearInterval(heartbeat);
        watcher.close();
      }
    })();
  };
}

/** RESOURCE_EXHAUSTED for a client at its limit of streams: SDKs retry it with backoff, so a stream freed elsewhere lets them in. */
function tooManyStreams(limit: number, requestId: string): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  metadata.set("ctm-request-id", requestId);
  metadata.set("ctm-limit", String(limit));
  return {
    code: grpc.status.RESOURCE_EXHAUSTED,
    details: `this client (its principal and address) holds ${limit} Watch streams already, the most ctmd allows (--watch-streams-per-client); close one, or watch a prefix instead of many keys`,
    metadata,
  };
}

const WAKE_EVENTS = ["drain", "cancelled", "close"] as const;

/**
 * Resolves on the first "drain", "cancelled" or "close" and removes all three listeners
 * then: racing `events.once` promises would leave the losers' listeners (and their "error"
 * listeners) on the call for the stream's whole life, two per slow write.
 */
export function drainedOrCancelled(call: EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      for (const e of WAKE_EVENTS) call.off(e, done);
      resolve();
    };
    for (const e of WAKE_EVENTS) call.on(e, done);
  });
}
