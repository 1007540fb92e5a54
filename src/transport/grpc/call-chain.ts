import * as grpc from "@grpc/grpc-js";
import * as http2 from "node:http2";
import { CtmError, isCtmError } from "../../domain/errors.js";
import type { Principal } from "../../service/auth-service.js";
import { actAs } from "../../service/acting-principal.js";
import { ACCESS_RULES, type AccessRule } from "./access-rules.js";
import { labelOf, RawRequest, Refusal } from "./checked-service.js";
import { ArrivalDeadlines, type Wait } from "./arrival-deadlines.js";
import { ClientBudget } from "./client-budget.js";
import { clientOfAddress } from "../connection-guard.js";
import { requestIdOf, type Rpc } from "./rpc-logger.js";
import { statusName, toStatus } from "./status-table.js";
import type { CallAuth } from "./call-auth.js";

const headerOf = (md: grpc.Metadata): string | undefined => {
  const v = md.get("authorization");
  if (v.length === 0) return undefined;
  // Two headers, or a binary one, are malformed rather than a choice between them.
  return v.length === 1 && typeof v[0] === "string" ? v[0] : "";
};

/** The header a caller sends to write past a protection policy (see protection-policy.ts). */
export const BREAK_GLASS_HEADER = "ctm-break-glass";

/** The verbs that change keys: what breaking the glass is asked for. */
const WRITING = new Set(["write", "rollout", "admin"]);

const noRule: AccessRule = () => {
  throw new CtmError("permission_denied", "this method has no access rule");
};

/** Grants every access `rule` asks of the decoded `message` to `principal`, or throws the refusal. */
export function authorizeAll(auth: CallAuth, rule: AccessRule, message: unknown, principal: Principal, breakGlass: boolean): void {
  if (rule === "public" || rule === "authenticated") return;
  for (const access of rule(message as never, auth.context)) {
    auth.service.authorize(principal, access);
    // Asking to break the glass needs the right to, over what the call writes.
    if (breakGlass && WRITING.has(access.verb)) auth.service.authorize(principal, { ...access, verb: "break_glass" });
  }
}

/**
 * The one chain every call ctmd serves passes, as a grpc-js server interceptor: the request
 * counted against its client's share of requests in flight (RESOURCE_EXHAUSTED past it, before
 * it is decoded), its bytes checked (a Refusal from checkedDeserializer becomes INVALID_ARGUMENT
 * naming the field);
 * with auth on, the caller authenticated from its metadata (and its client certificate), every
 * access the decoded request asks for authorized (ACCESS_RULES), and the handler started as the
 * caller's principal. A refusal is logged, counted and mapped by the same status table as a
 * handler's error; a peer that keeps failing authentication waits longer for each refusal.
 * grpc-js applies interceptors to every method of the server, so no handler can be reached
 * around it. The handler's own log line, metrics and status mapping are `unary`'s.
 */
export function callChain(
  rpc: Rpc,
  // Each request is held, decoded, until its call is answered (a value of many small numbers
  // takes several times its bytes): without a share per client, one client sending a thousand
  // large writes at once took 2 GiB.
  inFlight = new ClientBudget(0),
  streams: CallLimits = { perClient: new ClientBudget(0), arrivalMs: 0 },
): grpc.ServerInterceptor {
  const arrivals = new ArrivalDeadlines(streams.arrivalMs);
  // Parsing an address costs about 1 µs a call; the addresses calls come from are few.
  const clientKeys = new Map<string, string>();
  const clientKeyOf = (host: string): string => {
    let key = clientKeys.get(host);
    if (key === undefined) {
      if (clientKeys.size >= 4096) clientKeys.clear();
      clientKeys.set(host, (key = clientOfAddress(host)));
    }
    return key;
  };
  const auth = rpc.auth;
  const labels = new Map<string, string>();
  const labelFor = (path: string): string => {
    let l = labels.get(path);
    if (l === undefined) labels.set(path, (l = labelOf(path)));
    return l;
  };

  const refuse = (call: grpc.ServerInterceptingCallInterface, path: string, metadata: grpc.Metadata | undefined, e: CtmError | grpc.status, delayMs: number, late?: string): void => {
    const requestId = requestIdOf(metadata ?? new grpc.Metadata());
    const { error } =
      typeof e === "number"
        ? { error: { code: e, details: `${late}; request id ${requestId}`, metadata: requestIdMetadata(requestId) } }
        : toStatus(e.field === "request" ? new CtmError(e.code, `${e.message}; request id ${requestId}`, e.field) : e, requestId);
    const status = statusName(error.code!);
    const method = labelFor(path);
    rpc.metrics?.countRpc(method, status);
    rpc.log.warn({ method, status, requestId, error: error.details }, "rpc");
    const send = () => {
      call.sendStatus({ code: error.code!, details: error.details!, metadata: error.metadata ?? new grpc.Metadata() });
      endRequest(call);
    };
    if (delayMs > 0) setTimeout(send, delayMs);
    else send();
  };

  return (method, call) => {
    const rule = ACCESS_RULES[method.path] ?? noRule;
    const checked = auth !== undefined && rule !== "public";
    let metadata: grpc.Metadata | undefined;
    let principal: Principal | undefined;
    let breakGlass = false;
    let refused = false;
    let client = "";
    let held = 0;
    // The call's place among its client's open calls, and its wait for a request that may never arrive.
    const peer = call.getPeer();
    // The connection guard's key: an IPv6 client is its /64, so it cannot multiply its calls by addresses.
    const address = clientKeyOf(peer.replace(/:\d+$/, ""));
    let placed = false;
    let wait: Wait | undefined;
    const release = (): void => {
      if (held > 0) inFlight.give(client, held);
      held = 0;
      if (placed) streams.perClient.give(address);
      placed = false;
      arrivals.done(wait);
    };
    const fail = (e: unknown, delayMs = 0): void => {
      if (!isCtmError(e)) throw e;
      refused = true;
      // A refusal is sent on the call below this interceptor: its sendStatus below does not run.
      release();
      refuse(call, method.path, metadata, e, delayMs);
    };
    const tooLate = (): void => {
      refused = true;
      release();
      refuse(call, method.path, metadata, grpc.status.DEADLINE_EXCEEDED, 0, `the request did not arrive within ${streams.arrivalMs} ms of the call's start (--request-arrival-ms)`);
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata(md, nextMd) {
            metadata = md;
            breakGlass = md.get(BREAK_GLASS_HEADER).length > 0;
            // Every open call holds a stream and its state, whether or not its request ever comes.
            if (!streams.perClient.take(address)) return fail(tooManyCalls(streams.perClient));
            placed = true;
            wait = arrivals.start(tooLate);
            if (!checked) return nextMd(md);
            try {
              principal = auth.service.authenticate(headerOf(md), auth.certificateOf?.(call, md));
            } catch (e) {
              return fail(e, isCtmError(e) && e.code === "unauthenticated" ? (auth.penalty?.failed(call.getPeer()) ?? 0) : 0);
            }
            nextMd(md);
          },
          onReceiveMessage(received, nextMessage) {
            if (refused) return;
            let message: unknown = received;
            if (received instanceof RawRequest) {
              client = ClientBudget.clientOf(principal?.name, peer);
              if (!inFlight.take(client, received.size)) return fail(overBudget(inFlight, client, received.size));
              held = received.size;
              message = received.decode();
            }
            if (message instanceof Refusal) return fail(message.error);
            if (checked) {
              try {
                authorizeAll(auth, rule, message, principal!, breakGlass);
              } catch (e) {
                return fail(e);
              }
            }
            nextMessage(message);
          },
          // A cancelled call gets no status: what it held is given back here.
          onCancel() {
            release();
          },
          // grpc-js starts unary and server-streaming handlers when the request's stream half-closes.
          onReceiveHalfClose(nextHalfClose) {
            if (refused) return;
            // The request has arrived whole; the handler's time is the client's deadline's business.
            arrivals.done(wait);
            if (principal || breakGlass) actAs(principal?.name, nextHalfClose, breakGlass);
            else nextHalfClose();
          },
        }),
      sendStatus(status, next) {
        release();
        next(status);
      },
    });
  };
}

const overBudget = (budget: ClientBudget, client: string, size: number): CtmError =>
  new CtmError(
    "resource_exhausted",
    `this client (its principal and address) has ${budget.of(client)} bytes of requests being served; this one's ${size} more would pass its share of ${budget.limit} (--request-budget-mib): retry once some are answered`,
    undefined,
    { limit: budget.limit },
  );

/** What bounds a client's open calls: how many at once (by address), and how long a request may take to arrive. */
export interface CallLimits {
  perClient: ClientBudget;
  /** 0: no limit. */
  arrivalMs: number;
}

const tooManyCalls = (budget: ClientBudget): CtmError =>
  new CtmError(
    "resource_exhausted",
    `this client (its address) has ${budget.limit} calls open already, the most ctmd allows (--calls-per-client): retry once some are answered`,
    undefined,
    { limit: budget.limit },
  );

function requestIdMetadata(requestId: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set("ctm-request-id", requestId);
  return md;
}

/**
 * Ends the request side of a call refused before its request was whole. HTTP/2 lets a server
 * reset such a stream with NO_ERROR once its response is complete (RFC 9113, 8.1); without it,
 * a client that never finishes its requests kept every refused stream's state on the server, about
 * 9 KB each, until its connection closed. A refusal is answered before any handler runs, as
 * trailers alone, which grpc-js hands to HTTP/2 at once, so the reset follows them. grpc-js keeps
 * the stream on the call it gives the first interceptor, outside its API: should that change,
 * nothing is reset (the connection-limits test would say so).
 */
function endRequest(call: object): void {
  const stream = (call as { stream?: unknown }).stream;
  if (!isHttp2Stream(stream) || stream.closed || stream.destroyed) return;
  setImmediate(() => {
    if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
  });
}

const isHttp2Stream = (s: unknown): s is http2.ServerHttp2Stream =>
  typeof s === "object" && s !== null && "rstCode" in s && typeof (s as { close?: unknown }).close === "function";
