import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Principal } from "../../service/auth-service.js";
import type { Metrics } from "../../service/metrics.js";
import { ACCESS_RULES } from "../grpc/access-rules.js";
import type { CallAuth } from "../grpc/call-auth.js";
import { ClientBudget } from "../grpc/client-budget.js";
import { authorizeAll, BREAK_GLASS_HEADER } from "../grpc/call-chain.js";
import { toStatus } from "../grpc/status-table.js";
import type { HttpRequest, HttpResponse } from "./http-exchange.js";
import type { RateLimiter } from "./rate-limiter.js";
import { httpFields, type HttpLines } from "../log/log-shipper.js";

/** A failure the HTTP face answers itself, with a gRPC code so every route maps it the same way. */
export class HttpError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
    readonly headers: Record<string, string> = {},
    /** The request field at fault, for INVALID_ARGUMENT. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** One HTTP request on its way through the chain. */
export interface HttpCall {
  readonly req: HttpRequest;
  readonly res: HttpResponse;
  /** The path as sent, without the query: what routes and logs go by (URL parsing would resolve "." and ".." segments, which a flag key may hold). */
  readonly path: string;
  /** The query's parameters (parsed when first asked for: most requests have none). */
  readonly query: URLSearchParams;
  /** The caller's `x-request-id` (1 to 128 characters), or a new one; echoed in the response. */
  readonly requestId: string;
  /** Whom the chain authenticated; undefined with auth off. */
  principal: Principal | undefined;
  /** The caller sent `ctm-break-glass`. */
  readonly breakGlass: boolean;
  readonly started: number;
  /** Bytes of its body counted against its client's share of requests in flight, given back once answered. */
  heldBytes: number;
}

/** A failure as the protocol of a route spells it: Connect JSON, OFREP's errorCode, text. */
export interface Failure {
  code: grpc.status;
  message: string;
  headers: Record<string, string>;
  /** The field at fault, for INVALID_ARGUMENT. */
  field?: string;
}

export interface HttpChainOptions {
  log: Logger;
  /** Where info lines go as rows (the log shipper), when not through `log`. */
  lines?: HttpLines;
  metrics?: Metrics;
  /** With auth on: who may call what, as on gRPC. */
  auth?: CallAuth;
  /** Set while calls must be refused (a store that failed verification). */
  gate?: () => Error | undefined;
  /** Requests per second per client, when configured. */
  rate?: RateLimiter;
  /** Largest request body read. */
  maxBodyBytes: number;
  /** A body must have arrived within this of its request's start (default 30 s). */
  bodyTimeoutMs?: number;
  /** Each client's share of bytes of requests being served, shared with gRPC (see callChain); unset: no limit. */
  requestBudget?: ClientBudget;
}

/**
 * The chain every HTTP request passes, as callChain is for gRPC: the request id, the rate limit,
 * authentication (`authorization: Bearer <token>`, or `x-api-key: <token>` as OFREP clients send
 * it) with the same failure penalty, authorization by the same ACCESS_RULES against the decoded
 * request, bounded bodies, one status table, one log line and metric per request.
 */
export class HttpChain {
  /** Bodies being read, each with its deadline: one sweep checks them all (a timer each cost OFREP a tenth of its rate). */
  private readonly reading = new Set<{ deadline: number; stop: (e: Error) => void }>();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly inFlight: ClientBudget;

  constructor(readonly opts: HttpChainOptions) {
    this.inFlight = opts.requestBudget ?? new ClientBudget(0);
  }

  get authOn(): boolean {
    return this.opts.auth !== undefined;
  }

  begin(req: HttpRequest, res: HttpResponse): HttpCall {
    const given = req.headers["x-request-id"];
    const requestId = typeof given === "string" && given.length > 0 && given.length <= 128 ? given : randomUUID();
    res.setHeader("x-request-id", requestId);
    const target = req.url ?? "/";
    const q = target.indexOf("?");
    let query: URLSearchParams | undefined;
    return {
      req,
      res,
      path: q < 0 ? target : target.slice(0, q),
      get query() {
        return (query ??= new URLSearchParams(q < 0 ? "" : target.slice(q + 1)));
      },
      requestId,
      principal: undefined,
      breakGlass: req.headers[BREAK_GLASS_HEADER] !== undefined,
      started: performance.now(),
      heldBytes: 0,
    };
  }

  /** Throws RESOURCE_EXHAUSTED with Retry-After once the caller spent its configured rate. */
  limit(call: HttpCall): void {
    const rate = this.opts.rate;
    if (rate === undefined) return;
    const client = call.principal?.name ?? call.req.socket.remoteAddress ?? "unknown";
    const wait = rate.take(client);
    if (wait > 0) throw new HttpError(grpc.status.RESOURCE_EXHAUSTED, `more than the configured ${"--http-rate-limit"} requests per second; retry after ${wait} s`, { "retry-after": String(wait) });
  }

  /**
   * Authenticates the caller (auth on); a refusal waits as long as the failure penalty says, as
   * on gRPC, so guessing tokens over HTTP is no faster. Only that wait is asynchronous: an
   * accepted caller costs no promise.
   */
  authenticate(call: HttpCall): Promise<never> | undefined {
    const auth = this.opts.auth;
    if (auth === undefined) return undefined;
    const header = call.req.headers.authorization;
    const key = call.req.headers["x-api-key"];
    const authorization = header !== undefined ? header : typeof key === "string" ? `Bearer ${key}` : undefined;
    try {
      call.principal = auth.service.authenticate(authorization, undefined);
      return undefined;
    } catch (e) {
      const delay = auth.penalty?.failed(call.req.socket.remoteAddress ?? "unknown") ?? 0;
      if (delay === 0) throw e;
      return new Promise((_, reject) => setTimeout(() => reject(e), delay));
    }
  }

  /** Authorizes what the decoded request of gRPC method `path` asks, as the gRPC chain does. */
  authorize(call: HttpCall, path: string, message: unknown): void {
    const auth = this.opts.auth;
    if (auth === undefined) return;
    const rule = ACCESS_RULES[path];
    if (rule === undefined) throw new HttpError(grpc.status.PERMISSION_DENIED, "this method has no access rule");
    if (rule === "public") return;
    authorizeAll(auth, rule, message, call.principal!, call.breakGlass);
  }

  /** The refusal a failing store's gate gives, if any. */
  gate(): void {
    const refused = this.opts.gate?.();
    if (refused) throw refused;
  }

  /**
   * The whole body, up to `maxBodyBytes`; more is RESOURCE_EXHAUSTED without reading on. A body
   * still coming after `bodyTimeoutMs` is DEADLINE_EXCEEDED: an HTTP/2 stream has no request
   * deadline of its own, and a trickling client would hold it for as long as it likes.
   */
  body(call: HttpCall, limit = this.opts.maxBodyBytes, tooLarge: (limit: number) => Error = tooLargeError): Promise<Buffer> {
    const declared = Number(call.req.headers["content-length"] ?? 0);
    if (declared > limit) return Promise.reject(tooLarge(limit));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      // Whichever of end, error, the limit or the deadline comes first settles the read.
      const settle = (): boolean => this.reading.delete(pending);
      const stop = (e: Error): void => {
        if (!settle()) return;
        call.req.off("data", onData);
        call.req.resume();
        reject(e);
      };
      const pending = { deadline: call.started + this.bodyTimeoutMs, stop };
      // The body counts against its client's share of requests in flight until its answer is
      // sent (track gives it back).
      const client = clientOf(call);
      const onData = (b: Buffer): void => {
        size += b.length;
        if (size > limit) return stop(tooLarge(limit));
        if (!this.inFlight.take(client, b.length)) return stop(overShare(this.inFlight, client, size));
        call.heldBytes += b.length;
        chunks.push(b);
      };
      // A client that goes away midway is an error on the request, or, for an HTTP/2 stream it
      // cancels, nothing at all: the deadline ends that wait (a close listener each cost OFREP a tenth).
      this.watch(pending);
      call.req.on("data", onData);
      call.req.once("end", () => settle() && resolve(Buffer.concat(chunks, size)));
      call.req.once("error", (e) => settle() && reject(e));
    });
  }

  private get bodyTimeoutMs(): number {
    return this.opts.bodyTimeoutMs ?? 30_000;
  }

  /** Stops, as DEADLINE_EXCEEDED, the bodies still coming past their deadline; runs while any is read. */
  private watch(pending: { deadline: number; stop: (e: Error) => void }): void {
    this.reading.add(pending);
    if (this.sweeper !== undefined) return;
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const p of this.reading) if (p.deadline <= now) p.stop(new HttpError(grpc.status.DEADLINE_EXCEEDED, `the request body did not arrive within ${this.bodyTimeoutMs} ms`));
      if (this.reading.size === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, Math.max(50, Math.min(1000, this.bodyTimeoutMs / 4)));
    this.sweeper.unref();
  }

  /** Maps anything thrown to a Failure, logging the unexpected in full under the request id. */
  failure(call: HttpCall, e: unknown): Failure {
    if (e instanceof HttpError) return { code: e.code, message: e.message, headers: e.headers, ...(e.field !== undefined ? { field: e.field } : {}) };
    const { error, unexpected } = toStatus(e, call.requestId);
    if (unexpected) this.opts.log.error({ err: e, requestId: call.requestId, path: call.path }, "http");
    const field = error.metadata?.get("ctm-field")[0];
    return { code: error.code ?? grpc.status.UNKNOWN, message: error.details ?? "", headers: {}, ...(typeof field === "string" ? { field } : {}) };
  }

  /** One log line and one metric per request, once its answer is sent (or its client left). */
  track(call: HttpCall, route: string, quiet = false): void {
    const { log, lines, metrics } = this.opts;
    const done = (): void => {
      if (call.heldBytes > 0) this.inFlight.give(clientOf(call), call.heldBytes);
      call.heldBytes = 0;
      const status = call.res.headersSent ? call.res.statusCode : 499;
      const durationMs = performance.now() - call.started;
      metrics?.httpRecorder(route, status)(durationMs / 1000);
      const level = status >= 500 ? "error" : status >= 400 && status !== 404 && status !== 304 ? "warn" : quiet ? "debug" : "info";
      if (!log.isLevelEnabled(level)) return;
      const row = { time: Date.now(), route, method: call.req.method, path: call.path, status, durationMs, requestId: call.requestId, principal: call.principal?.name };
      // The common line, a success at info, is a row for the log worker to make, as an RPC's is.
      if (level === "info" && lines !== undefined) lines.http(row);
      else log[level](httpFields(row), "http");
    };
    call.res.once("close", done);
  }
}

const tooLargeError = (limit: number): HttpError => new HttpError(grpc.status.RESOURCE_EXHAUSTED, `the request body is larger than ${limit} bytes`);

/** A client as the share of requests in flight counts it, the same key as on gRPC. */
const clientOf = (call: HttpCall): string => ClientBudget.clientAt(call.principal?.name, call.req.socket.remoteAddress ?? "");

const overShare = (budget: ClientBudget, client: string, size: number): HttpError =>
  new HttpError(
    grpc.status.RESOURCE_EXHAUSTED,
    `this client (its principal and address) has ${budget.of(client)} bytes of requests being served; this one's ${size} would pass its share of ${budget.limit} (--request-budget-mib): retry once some are answered`,
    { "retry-after": "1" },
  );
