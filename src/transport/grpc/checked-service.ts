import type * as grpc from "@grpc/grpc-js";
import type { DescMessage } from "@bufbuild/protobuf";
import { CtmError } from "../../domain/errors.js";
import { checkRequestBytes, malformed } from "./check-request-bytes.js";
import { requestTypeOf } from "./proto-registry.js";
import { ACCESS_RULES } from "./access-rules.js";
import { bounded } from "./status-table.js";

/** What a request's deserializer hands on instead of throwing: grpc-js would answer INTERNAL. */
export class Refusal {
  constructor(readonly error: CtmError) {}
}

/** Decodes a request after checking its bytes; anything wrong becomes a Refusal naming the field. */
/**
 * A request as it arrived on the gRPC server: its size, and its bytes checked and decoded only
 * once the chain lets the call in (callChain), so a call refused for its client's share of
 * requests in flight is never decoded (a value of many small numbers decodes to several times
 * its bytes).
 */
export class RawRequest {
  constructor(
    readonly size: number,
    readonly decode: () => unknown,
  ) {}
}

export function checkedDeserializer<T>(type: DescMessage, decode: (b: Buffer) => T): (b: Buffer) => T | Refusal {
  return (buf) => {
    try {
      checkRequestBytes(type, buf);
      return decode(buf);
    } catch (e) {
      return new Refusal(e instanceof CtmError ? e : malformed(type, e instanceof Error ? e.message : String(e)));
    }
  };
}

/**
 * A service as the one chain (callChain) serves it: every request's bytes checked before its
 * handler runs (a refused request reaches the chain as a Refusal, answered INVALID_ARGUMENT
 * naming the field). A method without an access rule stops the server from being built, so a
 * new RPC cannot be added without saying who may call it.
 */
export function checkedService(
  definition: grpc.ServiceDefinition,
  handlers: grpc.UntypedServiceImplementation,
  /** `lazy`: requests reach the chain as RawRequests (the gRPC server; the HTTP face decodes its own). */
  { foreign = false, lazy = false }: { foreign?: boolean; lazy?: boolean } = {},
): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] {
  const defs: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const impls: grpc.UntypedServiceImplementation = {};
  for (const [name, m] of Object.entries(definition) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
    // grpc-js finds a handler by the method's key or its original (camelCase) name.
    const key = name in handlers ? name : (m.originalName ?? name);
    const handler = handlers[key];
    if (ACCESS_RULES[m.path] === undefined) throw new Error(`${m.path} has no access rule: say who may call it in access-rules.ts`);
    const type = requestTypeOf(m.path);
    if (handler === undefined) {
      defs[name] = m;
      continue;
    }
    if (type === undefined || m.requestStream) throw new Error(`${m.path}: the chain serves unary and server-streaming calls of known request types only`);
    const checked = checkedDeserializer(type, m.requestDeserialize);
    defs[name] = { ...m, requestDeserialize: lazy ? (buf: Buffer) => new RawRequest(buf.length, () => checked(buf)) : checked };
    impls[key] = foreign && !m.responseStream ? boundedErrors(handler as grpc.handleUnaryCall<unknown, unknown>) : handler;
  }
  return [defs, impls];
}

/**
 * A library's handler (grpc.health.v1) answers with its own messages, which may quote the
 * request; they are cut as the status table cuts ours, or an oversized trailer hangs the call.
 */
function boundedErrors(handler: grpc.handleUnaryCall<unknown, unknown>): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) =>
    handler(call, (err, value, trailer, flags) => {
      if (err && typeof err.details === "string") err = { ...err, details: bounded(err.details) };
      callback(err, value, trailer, flags);
    });
}

/**
 * The method label the handlers log and count under: "Set" for ConfigService,
 * "Validator.Set" for ValidatorService/SetValidator, "AccessLog.Query" for QueryAccessLog.
 */
export function labelOf(path: string): string {
  const [, service = "", method = ""] = /^\/(?:.*\.)?([^./]+)\/([^/]+)$/.exec(path) ?? [];
  const noun = service.replace(/Service$/, "");
  const at = method.search(new RegExp(`${noun}s?$`));
  const verb = at > 0 ? method.slice(0, at) : method;
  return noun === "Config" ? verb : `${noun}.${verb}`;
}
