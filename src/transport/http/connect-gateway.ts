import * as grpc from "@grpc/grpc-js";
import { fromBinary, fromJson, toBinary, toJson, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { Refusal } from "../grpc/checked-service.js";
import type { ServiceEntry } from "../grpc/grpc-server.js";
import { runUnary } from "../grpc/internal-calls.js";
import { protoRegistry } from "../grpc/proto-registry.js";
import { HttpError, type Failure, type HttpCall, type HttpChain } from "./http-chain.js";
import type { Route } from "./http-face.js";
import { connectCode, httpStatusOf } from "./http-status.js";

interface Method {
  def: grpc.MethodDefinition<unknown, unknown>;
  handler: grpc.handleUnaryCall<unknown, unknown>;
  input: DescMessage;
  output: DescMessage;
}

/** How long a call may run when the client names no `connect-timeout-ms`, and the most it may name. */
const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_TIMEOUT_MS = 300_000;

/**
 * Every unary ctm.v1 method over HTTP with JSON, as the Connect protocol's unary calls
 * (`POST /api/ctm.v1.ConfigService/History`, `content-type: application/json`, the proto3 JSON
 * mapping; errors as `{"code": "not_found", "message": ...}` with the matching HTTP status). The
 * console speaks only this, so it can show nothing the API cannot. A request is parsed strictly
 * (an unknown or mistyped field is INVALID_ARGUMENT naming it), then takes the gRPC path from its
 * bytes on: the same checks, the same access rules, the same handler, log line and metrics.
 */
export class ConnectGateway implements Route {
  readonly name = "api";
  readonly prefix = "/api/";
  readonly authenticated = true;
  private readonly methods = new Map<string, Method>();

  constructor(
    services: readonly ServiceEntry[],
    private readonly chain: HttpChain,
  ) {
    const registry = protoRegistry();
    for (const s of services) {
      const handlers = s.handlers as Record<string, grpc.handleUnaryCall<unknown, unknown> | undefined>;
      for (const [name, def] of Object.entries(s.definition) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
        if (def.requestStream || def.responseStream) continue;
        const handler = handlers[name] ?? handlers[def.originalName ?? name];
        const [, service = "", method = ""] = /^\/([^/]+)\/([^/]+)$/.exec(def.path) ?? [];
        const desc = registry.getService(service)?.methods.find((m) => m.name === method);
        if (handler && desc) this.methods.set(def.path, { def, handler, input: desc.input, output: desc.output });
      }
    }
  }

  async handle(call: HttpCall): Promise<void> {
    const path = call.path.slice(this.prefix.length - 1);
    const m = this.methods.get(path);
    if (m === undefined) throw new HttpError(grpc.status.NOT_FOUND, `${path} is not a unary method of ctmd (streams: GET /api/events)`);
    if (call.req.method !== "POST") throw new HttpError(grpc.status.UNIMPLEMENTED, "unary methods are called with POST", { allow: "POST" });
    const type = (call.req.headers["content-type"] ?? "").split(";")[0]!.trim();
    if (type !== "application/json") throw new HttpError(grpc.status.INVALID_ARGUMENT, `content-type must be application/json, not "${type}"`);
    const timeoutMs = this.timeoutOf(call);
    const body = await this.chain.body(call);
    let json: JsonValue;
    try {
      json = body.length === 0 ? {} : (JSON.parse(body.toString("utf8")) as JsonValue);
    } catch (e) {
      throw new HttpError(grpc.status.INVALID_ARGUMENT, `the body is not JSON: ${(e as Error).message}`);
    }
    const request = decodeJson(m.def, m.input, json);
    this.chain.authorize(call, path, request);
    const deadline = new Promise<never>((_, reject) => {
      const t = setTimeout(() => reject(new HttpError(grpc.status.DEADLINE_EXCEEDED, `no answer within ${timeoutMs} ms`)), timeoutMs);
      call.res.once("close", () => clearTimeout(t));
    });
    const r = await Promise.race([runUnary(m.handler, request, call.requestId, `http:${call.req.socket.remoteAddress ?? ""}`, call.principal?.name, call.breakGlass), deadline]);
    if ("error" in r) {
      const field = r.error.metadata?.get("ctm-field")[0];
      throw new HttpError(r.error.code ?? grpc.status.UNKNOWN, r.error.details ?? "", {}, typeof field === "string" ? field : undefined);
    }
    const answer = toJson(m.output, fromBinary(m.output, m.def.responseSerialize(r.value)), { registry: protoRegistry() });
    call.res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
  }

  fail(call: HttpCall, f: Failure): void {
    const e = f;
    const body: { code: string; message: string; details?: { field: string }[] } = { code: connectCode(e.code), message: e.message };
    if (e.field) body.details = [{ field: e.field }];
    call.res.writeHead(httpStatusOf(e.code), { "content-type": "application/json", ...e.headers }).end(JSON.stringify(body));
  }

  private timeoutOf(call: HttpCall): number {
    const v = call.req.headers["connect-timeout-ms"];
    if (v === undefined) return DEFAULT_TIMEOUT_MS;
    const n = Number(v);
    if (typeof v !== "string" || !/^\d{1,10}$/.test(v) || n <= 0) throw new HttpError(grpc.status.INVALID_ARGUMENT, "connect-timeout-ms must be a positive whole number of milliseconds");
    return Math.min(n, MAX_TIMEOUT_MS);
  }
}

/** Strict proto3 JSON to the request's bytes, then the same checked decoder gRPC uses. */
export function decodeJson(def: grpc.MethodDefinition<unknown, unknown>, input: DescMessage, json: JsonValue): unknown {
  let bytes: Uint8Array;
  try {
    bytes = toBinary(input, fromJson(input, json, { registry: protoRegistry() }));
  } catch (e) {
    // RangeError: a value nested deeper than the stack; the checks below name ctm's own limit.
    throw new HttpError(grpc.status.INVALID_ARGUMENT, e instanceof RangeError ? "the request is nested too deeply" : (e as Error).message);
  }
  const request = def.requestDeserialize(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (request instanceof Refusal) throw request.error;
  return request;
}
