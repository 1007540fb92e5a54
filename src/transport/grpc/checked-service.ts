import type * as grpc from "@grpc/grpc-js";
import type { DescMessage } from "@bufbuild/protobuf";
import { CtmError } from "../../domain/errors.js";
import { checkRequestBytes, malformed } from "./check-request-bytes.js";
import { requestTypeOf } from "./proto-registry.js";
import { actAs } from "../../service/acting-principal.js";
import { ACCESS_RULES, type AccessRule } from "./access-rules.js";
import { admit, type CallAuth } from "./call-gate.js";
import { requestIdOf, unary, type Rpc } from "./rpc-logger.js";
import { bounded, statusName, toStatus } from "./status-table.js";

/** What a request's deserializer hands on instead of throwing: grpc-js would answer INTERNAL. */
export class Refusal {
  constructor(readonly error: CtmError) {}
}

/** Decodes a request after checking its bytes; anything wrong becomes a Refusal naming the field. */
export function checkedDeserializer<T>(type: DescMessage, decode: (b: Buffer) => T, checksItself = false): (b: Buffer) => T | Refusal {
  return (buf) => {
    try {
      if (!checksItself) checkRequestBytes(type, buf);
      return decode(buf);
    } catch (e) {
      return new Refusal(e instanceof CtmError ? e : malformed(type, e instanceof Error ? e.message : String(e)));
    }
  };
}

/**
 * The service behind the one chain every call passes: the request's bytes checked (a refused
 * request is answered INVALID_ARGUMENT naming the field), then, with auth on, the caller
 * authenticated and every access the request asks for authorized (ACCESS_RULES), then the
 * handler, run as the caller's principal; every refusal goes through the same log, metrics
 * and status table as any call. A method without an access rule stops the server from being
 * built. `checksItself` names methods whose deserializer already calls checkRequestBytes
 * (Get's fast path).
 */
export function checkedService(
  definition: grpc.ServiceDefinition,
  handlers: grpc.UntypedServiceImplementation,
  rpc: Rpc,
  { checksItself = [], foreign = false }: { checksItself?: readonly string[]; foreign?: boolean } = {},
): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] {
  const defs: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const impls: grpc.UntypedServiceImplementation = {};
  for (const [name, m] of Object.entries(definition) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
    // grpc-js finds a handler by the method's key or its original (camelCase) name.
    const key = name in handlers ? name : (m.originalName ?? name);
    const handler = handlers[key];
    const rule = ACCESS_RULES[m.path];
    if (rule === undefined) throw new Error(`${m.path} has no access rule: say who may call it in access-rules.ts`);
    const type = requestTypeOf(m.path);
    if (handler === undefined) {
      defs[name] = m;
      continue;
    }
    if (type === undefined || m.requestStream) throw new Error(`${m.path}: the chain serves unary and server-streaming calls of known request types only`);
    defs[name] = { ...m, requestDeserialize: checkedDeserializer(type, m.requestDeserialize, checksItself.includes(name)) };
    const unaryHandler = foreign ? boundedErrors(handler as grpc.handleUnaryCall<unknown, unknown>) : (handler as grpc.handleUnaryCall<unknown, unknown>);
    impls[key] = m.responseStream
      ? refusingStream(handler as grpc.handleServerStreamingCall<unknown, unknown>, rpc, labelOf(m.path), rule)
      : refusingUnary(unaryHandler, rpc, labelOf(m.path), rule);
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

/** Malformed bytes name no field, so the message carries the request id for the log line. */
function withRequestId(e: CtmError, metadata: grpc.Metadata): CtmError {
  return e.field === "request" ? new CtmError(e.code, `${e.message}; request id ${requestIdOf(metadata)}`, e.field) : e;
}

/** Why a call is refused before its handler: malformed bytes, then credentials, then rights. */
function refusalOf(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>, auth: CallAuth | undefined, rule: AccessRule) {
  if (call.request instanceof Refusal) return { error: withRequestId(call.request.error, call.metadata), delayMs: 0, principal: undefined };
  if (auth === undefined) return undefined;
  const a = admit(auth, rule, call);
  return "refused" in a ? { error: a.refused, delayMs: a.delayMs, principal: undefined } : { error: undefined, delayMs: 0, principal: a.principal };
}

const later = (ms: number, f: () => void): void => void (ms > 0 ? setTimeout(f, ms) : f());

function refusingUnary(handler: grpc.handleUnaryCall<unknown, unknown>, rpc: Rpc, label: string, rule: AccessRule): grpc.handleUnaryCall<unknown, unknown> {
  const refusals = new WeakMap<object, CtmError>();
  const refuse = unary<unknown, unknown>(rpc, label, () => undefined, (_r, call) => {
    throw refusals.get(call)!;
  });
  return (call, callback) => {
    const r = refusalOf(call, rpc.auth, rule);
    if (r === undefined) return handler(call, callback);
    if (r.error) {
      refusals.set(call, r.error);
      return later(r.delayMs, () => refuse(call, callback));
    }
    return r.principal ? actAs(r.principal.name, () => handler(call, callback)) : handler(call, callback);
  };
}

function refusingStream(handler: grpc.handleServerStreamingCall<unknown, unknown>, rpc: Rpc, label: string, rule: AccessRule): grpc.handleServerStreamingCall<unknown, unknown> {
  return (call) => {
    const r = refusalOf(call, rpc.auth, rule);
    if (r === undefined) return handler(call);
    if (!r.error) return r.principal ? actAs(r.principal.name, () => handler(call)) : handler(call);
    const requestId = requestIdOf(call.metadata);
    const { error } = toStatus(r.error, requestId);
    const status = statusName(error.code!);
    rpc.metrics?.countRpc(label, status);
    rpc.log.warn({ method: label, status, requestId, error: error.details }, "rpc");
    later(r.delayMs, () => call.emit("error", error));
  };
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
