import type { HttpCall, HttpChain } from "./http-chain.js";
import { OFREP_LIMITS } from "./ofrep-context.js";
import { OfrepError } from "./ofrep-error.js";

/**
 * An evaluation request's body, bounded by OFREP_LIMITS.bodyBytes. A body must be declared JSON:
 * a form or text/plain POST, which a page of any origin may send without asking, is refused.
 */
export function ofrepBody(chain: HttpChain, call: HttpCall): Promise<Buffer> {
  const type = (call.req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  const declared = call.req.headers["content-length"];
  const empty = type === "" && (declared === undefined || declared === "0") && call.req.headers["transfer-encoding"] === undefined;
  if (!empty && type !== "application/json") throw new OfrepError(400, "PARSE_ERROR", `content-type must be application/json, not "${type}"`);
  return chain.body(call, OFREP_LIMITS.bodyBytes, (limit) => new OfrepError(400, "INVALID_CONTEXT", `the request body is larger than ${limit} bytes`));
}

/** The request id the client sent (the chain makes one up otherwise, which nobody could look up). */
export function clientRequestId(call: HttpCall): string {
  return call.req.headers["x-request-id"] === call.requestId ? call.requestId : "";
}
