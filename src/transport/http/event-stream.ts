import { EventEmitter } from "node:events";
import * as grpc from "@grpc/grpc-js";
import { fromBinary, toJson, type DescMessage } from "@bufbuild/protobuf";
import type { ServiceEntry } from "../grpc/grpc-server.js";
import { protoRegistry } from "../grpc/proto-registry.js";
import { decodeJson } from "./connect-gateway.js";
import { HttpError, type Failure, type HttpCall, type HttpChain } from "./http-chain.js";
import type { Route } from "./http-face.js";
import { connectCode, httpStatusOf } from "./http-status.js";

const WATCH = "/ctm.v1.ConfigService/Watch";
/** Open event streams one client (its principal, else its address) may hold: each holds a watcher. */
export const STREAMS_PER_CLIENT = 32;

/**
 * Watch as server-sent events, for browsers: `GET /api/events?prefix=pay/` (or `?key=K`, or
 * neither for every key). Each WatchResponse is one event (`created`, `events`, `progress`) whose
 * data is its proto3 JSON and whose id is the last revision it covers, so an EventSource that
 * reconnects with Last-Event-ID resumes at the next revision with nothing missed or repeated;
 * `start_revision` asks for an earlier start. It runs the gRPC Watch handler itself, so the
 * guarantees, back-pressure and heartbeats are Watch's. A stream that must end (OUT_OF_RANGE
 * below compaction, shutdown) sends an `error` event with the Connect code before it closes.
 */
export class EventStream implements Route {
  readonly name = "events";
  readonly prefix = "/api/events";
  readonly authenticated = true;
  private readonly def: grpc.MethodDefinition<unknown, unknown>;
  private readonly handler: grpc.handleServerStreamingCall<unknown, unknown>;
  private readonly input: DescMessage;
  private readonly output: DescMessage;
  private readonly open = new Map<string, number>();

  constructor(
    services: readonly ServiceEntry[],
    private readonly chain: HttpChain,
  ) {
    const s = services.find((e) => Object.values(e.definition).some((m) => m.path === WATCH));
    const [name, def] = Object.entries(s?.definition ?? {}).find(([, m]) => m.path === WATCH) ?? [];
    const handler = (s?.handlers as Record<string, grpc.handleServerStreamingCall<unknown, unknown>> | undefined)?.[name ?? ""];
    const desc = protoRegistry().getService("ctm.v1.ConfigService")?.methods.find((m) => m.name === "Watch");
    if (!def || !handler || !desc) throw new Error("the event stream needs ConfigService/Watch");
    this.def = def as grpc.MethodDefinition<unknown, unknown>;
    this.handler = handler;
    this.input = desc.input;
    this.output = desc.output;
  }

  async handle(call: HttpCall): Promise<void> {
    if (call.req.method !== "GET") throw new HttpError(grpc.status.UNIMPLEMENTED, "the event stream is read with GET", { allow: "GET" });
    const q = call.query;
    const prefix = q.get("prefix");
    const key = q.get("key");
    if (prefix !== null && key !== null) throw new HttpError(grpc.status.INVALID_ARGUMENT, "name a key or a prefix, not both", {}, "prefix");
    const request = decodeJson(this.def, this.input, { key: key ?? prefix ?? "", prefix: key === null, startRevision: this.startOf(call) });
    this.chain.authorize(call, WATCH, request);
    const client = call.principal?.name ?? call.req.socket.remoteAddress ?? "unknown";
    const held = this.open.get(client) ?? 0;
    if (held >= STREAMS_PER_CLIENT) throw new HttpError(grpc.status.RESOURCE_EXHAUSTED, `${held} event streams are open for this client already; close one first`, { "retry-after": "5" });
    this.open.set(client, held + 1);
    call.res.once("close", () => {
      const n = (this.open.get(client) ?? 1) - 1;
      if (n > 0) this.open.set(client, n);
      else this.open.delete(client);
    });
    call.res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" });
    // An EventSource retries after this long when the stream drops.
    call.res.write("retry: 2000\n\n");
    this.handler(this.stream(call, request));
  }

  fail(call: HttpCall, f: Failure): void {
    call.res.writeHead(httpStatusOf(f.code), { "content-type": "application/json", ...f.headers });
    call.res.end(JSON.stringify({ code: connectCode(f.code), message: f.message }));
  }

  /** The first revision to send: `start_revision`, else the one after Last-Event-ID, else from now on. */
  private startOf(call: HttpCall): string {
    const given = call.query.get("start_revision");
    const last = call.req.headers["last-event-id"];
    const n = (v: string, what: string): bigint => {
      if (!/^\d{1,19}$/.test(v)) throw new HttpError(grpc.status.INVALID_ARGUMENT, `${what} must be a revision (a whole number)`, {}, what);
      return BigInt(v);
    };
    if (given !== null) return n(given, "start_revision").toString();
    if (typeof last === "string" && last !== "") return (n(last, "last-event-id") + 1n).toString();
    return "0";
  }

  /** What the Watch handler writes to, as a grpc-js server stream: each response becomes one event. */
  private stream(call: HttpCall, request: unknown): grpc.ServerWritableStream<unknown, unknown> {
    const res = call.res;
    const s = new EventEmitter() as EventEmitter & Record<string, unknown>;
    const metadata = new grpc.Metadata();
    metadata.set("x-request-id", call.requestId);
    let ended = false;
    Object.assign(s, {
      request,
      metadata,
      cancelled: false,
      getPeer: () => `http:${call.req.socket.remoteAddress ?? ""}`,
      sendMetadata: () => undefined,
      write: (v: unknown): boolean => {
        if (ended) return true;
        const msg = fromBinary(this.output, this.def.responseSerialize(v)) as unknown as { status: number; header?: { revision: bigint }; events: { revision: bigint }[] };
        const json = toJson(this.output, msg as never, { registry: protoRegistry() }) as { status?: string };
        const kind = String(json.status ?? "").replace(/^WATCH_STATUS_/, "").toLowerCase();
        // The id is the last revision this event covers: events', or a heartbeat's (nothing
        // matched up to it). "created" has none, as nothing is covered yet.
        const last = kind === "created" ? undefined : (msg.events.at(-1)?.revision ?? msg.header?.revision);
        return res.write(`event: ${kind}\n${last === undefined ? "" : `id: ${last}\n`}data: ${JSON.stringify(json)}\n\n`);
      },
    });
    s.on("error", (e: { code?: grpc.status; details?: string }) => {
      if (ended) return;
      ended = true;
      res.end(`event: error\ndata: ${JSON.stringify({ code: connectCode(e.code ?? grpc.status.UNKNOWN), message: e.details ?? "" })}\n\n`);
    });
    res.on("drain", () => s.emit("drain"));
    res.once("close", () => {
      ended = true;
      s.cancelled = true;
      s.emit("cancelled");
    });
    return s as unknown as grpc.ServerWritableStream<unknown, unknown>;
  }
}
