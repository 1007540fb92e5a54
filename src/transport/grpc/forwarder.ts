import * as grpc from "@grpc/grpc-js";
import { ResponseHeader } from "../../gen/ctm/v1/record.js";
import { breakGlassAsked, currentPrincipal } from "../../service/acting-principal.js";
import type { InternalCall, InternalReply } from "./internal-calls.js";
import { requestIdOf } from "./rpc-logger.js";
import { toStatus } from "./status-table.js";

/** What read-your-writes needs of the follower: how far it is, and a wait until it gets further. */
export interface FollowerProgress {
  readonly headRevision: number;
  caughtUp(revision: number, timeoutMs: number): Promise<void> | undefined;
}

/** Connections remembered at once; the oldest is forgotten first (it has long been caught up). */
const MAX_PEERS = 10_000;

/**
 * Read-your-writes per connection: a write forwarded to the primary answers with the revision
 * it reached, and the next read on the same connection waits until this worker has applied it.
 * A connection is one client's HTTP/2 session, so its peer address names it.
 */
export class ReadYourWrites {
  private readonly wrote = new Map<string, number>();

  constructor(
    private readonly follower: FollowerProgress,
    private readonly timeoutMs = 5000,
  ) {}

  noted(peer: string, revision: number): void {
    if (revision <= this.follower.headRevision) return;
    this.wrote.delete(peer);
    this.wrote.set(peer, revision);
    if (this.wrote.size > MAX_PEERS) this.wrote.delete(this.wrote.keys().next().value!);
  }

  /** Undefined when the connection may read now; otherwise resolves when it may. */
  before(peer: string): Promise<void> | undefined {
    if (this.wrote.size === 0) return undefined;
    const revision = this.wrote.get(peer);
    if (revision === undefined) return undefined;
    const wait = this.follower.caughtUp(revision, this.timeoutMs);
    if (wait === undefined) this.wrote.delete(peer);
    return wait;
  }

  /** A unary handler that first waits for its connection's own writes. */
  unary<Req, Res>(handler: grpc.handleUnaryCall<Req, Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const wait = this.before(call.getPeer());
      if (wait === undefined) return handler(call, callback);
      wait.then(
        () => handler(call, callback),
        (e: unknown) => callback(toStatus(e, requestIdOf(call.metadata)).error),
      );
    };
  }

  /** The same for a server-streaming handler (Watch). */
  stream<Req, Res>(handler: grpc.handleServerStreamingCall<Req, Res>): grpc.handleServerStreamingCall<Req, Res> {
    return (call) => {
      const wait = this.before(call.getPeer());
      if (wait === undefined) return handler(call);
      wait.then(
        () => handler(call),
        (e: unknown) => call.emit("error", toStatus(e, requestIdOf(call.metadata)).error),
      );
    };
  }
}

/** The revision in a response's header (field 1 of every ctm.v1 response), 0 without one. */
function headerRevision(bytes: Buffer): number {
  // Only the first field is looked at: ts-proto writes fields in number order.
  if (bytes.length < 2 || bytes[0] !== 0x0a) return 0;
  const length = bytes[1]!;
  if (length >= 0x80 || 2 + length > bytes.length) return 0;
  return ResponseHeader.decode(bytes.subarray(2, 2 + length)).revision;
}

/**
 * Hands the unary calls a worker does not serve itself (writes and history reads) to the primary
 * over the IPC channel (see InternalCalls): the request's bytes, the principal this worker's
 * chain authenticated and the request id; back come the primary's answer bytes, or its status
 * with the same trailers a direct call would carry.
 */
export class Forwarder {
  constructor(
    private readonly send: (call: InternalCall) => Promise<InternalReply>,
    private readonly ryw: ReadYourWrites,
  ) {}

  unary(method: grpc.MethodDefinition<unknown, unknown>): grpc.handleUnaryCall<unknown, Buffer> {
    return (call, callback) => {
      // Read now: the chain sets the principal around this synchronous start only.
      const principal = currentPrincipal();
      const breakGlass = breakGlassAsked();
      const requestId = requestIdOf(call.metadata);
      const peer = call.getPeer();
      this.send({ path: method.path, request: method.requestSerialize(call.request), requestId, ...(principal === undefined ? {} : { principal }), ...(breakGlass ? { breakGlass } : {}) }).then(
        (reply) => {
          if (reply.error) {
            const metadata = new grpc.Metadata();
            for (const [k, v] of reply.error.metadata) metadata.set(k, typeof v === "string" ? v : Buffer.from(v));
            return callback({ code: reply.error.code, details: reply.error.details, metadata });
          }
          const bytes = Buffer.from(reply.response!);
          this.ryw.noted(peer, headerRevision(bytes));
          callback(null, bytes);
        },
        (e: unknown) => callback(toStatus(e, requestId).error),
      );
    };
  }
}
