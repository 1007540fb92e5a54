import * as grpc from "@grpc/grpc-js";
import { isCtmError, type ErrorCode } from "../../domain/errors.js";

/** The one table from domain errors to gRPC status codes. */
const CODES: Record<ErrorCode, grpc.status> = {
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  not_found: grpc.status.NOT_FOUND,
  conflict: grpc.status.ABORTED,
  failed_precondition: grpc.status.FAILED_PRECONDITION,
  out_of_range: grpc.status.OUT_OF_RANGE,
  permission_denied: grpc.status.PERMISSION_DENIED,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  unavailable: grpc.status.UNAVAILABLE,
  resource_exhausted: grpc.status.RESOURCE_EXHAUSTED,
  data_loss: grpc.status.DATA_LOSS,
  internal: grpc.status.INTERNAL,
};

export interface MappedError {
  error: Partial<grpc.StatusObject>;
  /** Set when the error was not a domain error: it must be logged in full. */
  unexpected: boolean;
}

/**
 * Maps any thrown value to a status. Domain errors keep their message and put
 * the field and details in trailers (`ctm-field`, `ctm-<detail>`) for
 * programs; anything else becomes INTERNAL naming the request id, so the log
 * line with the stack can be found.
 */
export function toStatus(e: unknown, requestId: string): MappedError {
  const metadata = new grpc.Metadata();
  metadata.set("ctm-request-id", requestId);
  if (isCtmError(e)) {
    if (e.field) metadata.set("ctm-field", headerText(bounded(e.field)));
    for (const [k, v] of Object.entries(e.details)) metadata.set(`ctm-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, headerText(bounded(String(v))));
    return { error: { code: CODES[e.code], details: bounded(e.message), metadata }, unexpected: e.code === "internal" };
  }
  return { error: { code: grpc.status.INTERNAL, details: `internal error (request id ${requestId})`, metadata }, unexpected: true };
}

/**
 * Messages quote what the client sent (a key, a name), and travel in HTTP/2 trailers: one
 * longer than the peer's header list limit (16 KiB in grpc-js) never arrives, and the call
 * hangs until its deadline. Cut them well below that.
 */
const MAX_TEXT = 1024;
/**
 * A trailer's text as HTTP/2 carries it: grpc-js throws on anything but printable ASCII, and a
 * throw while answering a refusal would take the daemon down, so other characters (and "%") are
 * percent-encoded as UTF-8, as grpc-message is.
 */
export const headerText = (s: string): string =>
  s.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => [...Buffer.from(c, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(""));

export const bounded = (s: string): string => (s.length <= MAX_TEXT ? s : `${s.slice(0, MAX_TEXT)}... (${s.length - MAX_TEXT} more characters)`);

export const statusName = (code: grpc.status): string => grpc.status[code] ?? String(code);
