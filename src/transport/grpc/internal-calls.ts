import * as grpc from "@grpc/grpc-js";
import { actAs } from "../../service/acting-principal.js";
import type { ServiceEntry } from "./grpc-server.js";

/** A unary call a read worker hands to the primary: its chain has already run in the worker. */
export interface InternalCall {
  path: string;
  /** The request's bytes, checked by the worker's chain before it authorized the call. */
  request: Uint8Array;
  /** Whom the worker's chain authenticated; absent with auth off. */
  principal?: string;
  /** Whether the caller broke the glass, as the worker's chain allowed it. */
  breakGlass?: boolean;
  requestId: string;
}

export interface InternalReply {
  response?: Uint8Array;
  error?: { code: grpc.status; details: string; metadata: [string, string | Uint8Array][] };
}

type Handler = grpc.handleUnaryCall<unknown, unknown>;

/**
 * Runs the calls read workers forward over their IPC channel, without a second gRPC hop: the
 * worker's server already read the HTTP/2 stream, checked the request's bytes, authenticated and
 * authorized the caller and fixed the request id. Here the same handler a client's call reaches
 * runs as the principal the worker names, so the primary logs, counts and maps the call as its
 * own, and the response's bytes go back as the worker's answer.
 */
export class InternalCalls {
  private readonly methods = new Map<string, { def: grpc.MethodDefinition<unknown, unknown>; handler: Handler }>();

  constructor(services: readonly ServiceEntry[]) {
    for (const s of services) {
      const handlers = s.handlers as Record<string, Handler | undefined>;
      for (const [name, def] of Object.entries(s.definition) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
        if (def.requestStream || def.responseStream) continue;
        const handler = handlers[name] ?? handlers[def.originalName ?? name];
        if (handler) this.methods.set(def.path, { def, handler });
      }
    }
  }

  invoke(c: InternalCall): Promise<InternalReply> {
    const m = this.methods.get(c.path);
    if (m === undefined) return Promise.resolve(failure(grpc.status.UNIMPLEMENTED, `${c.path} is not a unary method of ctmd`));
    let request: unknown;
    try {
      request = m.def.requestDeserialize(Buffer.from(c.request.buffer, c.request.byteOffset, c.request.byteLength));
    } catch (e) {
      return Promise.resolve(failure(grpc.status.INVALID_ARGUMENT, `request: ${e instanceof Error ? e.message : String(e)}`));
    }
    return runUnary(m.handler, request, c.requestId, "read-worker", c.principal, c.breakGlass === true).then((r) =>
      "error" in r
        ? { error: { code: r.error.code ?? grpc.status.UNKNOWN, details: r.error.details ?? "", metadata: Object.entries(r.error.metadata?.getMap() ?? {}) as [string, string | Uint8Array][] } }
        : { response: m.def.responseSerialize(r.value) },
    );
  }
}

/**
 * Runs a unary handler outside grpc-js, on a request another transport already decoded, checked
 * and authorized (a read worker's chain, the HTTP face's): as `principal`, with the call fields
 * the handlers use (rpc-logger's unary), so the call is logged, counted and mapped as any other.
 */
export function runUnary(
  handler: Handler,
  request: unknown,
  requestId: string,
  peer: string,
  principal: string | undefined,
  breakGlass: boolean,
): Promise<{ value: unknown } | { error: Partial<grpc.ServiceError> }> {
  const metadata = new grpc.Metadata();
  metadata.set("x-request-id", requestId);
  const call = { request, metadata, sendMetadata: () => undefined, getPeer: () => peer, cancelled: false } as unknown as grpc.ServerUnaryCall<unknown, unknown>;
  return new Promise((resolve) => {
    const callback: grpc.sendUnaryData<unknown> = (err, value) => resolve(err ? { error: err } : { value });
    if (principal === undefined && !breakGlass) handler(call, callback);
    else actAs(principal, () => handler(call, callback), breakGlass);
  });
}

const failure = (code: grpc.status, details: string): InternalReply => ({ error: { code, details, metadata: [] } });
