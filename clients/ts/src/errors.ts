import * as grpc from "@grpc/grpc-js";
import { Violation } from "./gen/ctm/v1/validator_service.js";

const trailer = (md: grpc.Metadata | undefined, name: string): string | undefined => {
  const v = md?.get(name)[0];
  return v === undefined ? undefined : String(v);
};
/** The `ctm-violations` trailer (JSON) of a write a validator refused, decoded. */
function violationsOf(md: grpc.Metadata | undefined): Violation[] | undefined {
  const raw = trailer(md, "ctm-violations");
  if (raw === undefined) return undefined;
  try {
    const list: unknown = JSON.parse(raw);
    return Array.isArray(list) ? list.map((v) => Violation.fromJSON(v)) : undefined;
  } catch {
    return undefined;
  }
}

const num = (s: string | undefined): number | undefined => (s === undefined || s === "" || Number.isNaN(Number(s)) ? undefined : Number(s));

/**
 * A failed ctm call. `code` is the gRPC status (see README "Errors"); the ctm trailers are
 * decoded: `field` (INVALID_ARGUMENT), `expectedVersion` / `actualVersion` (ABORTED) and
 * `requestId` (INTERNAL), and the `violations` of a write a validator refused.
 */
export class CtmError extends Error {
  override readonly name = "CtmError";
  /** The gRPC status code (`grpc.status`). */
  readonly code: grpc.status;
  /** The status name, e.g. "NOT_FOUND". */
  readonly codeName: string;
  /** The server's message, without the "5 NOT_FOUND:" prefix grpc-js adds. */
  readonly details: string;
  /** The RPC, e.g. "Set" or "Rollout.Pause". */
  readonly method: string;
  /** How many attempts were made (retries included). */
  readonly attempts: number;
  /**
   * True when a write was retried after UNAVAILABLE and then answered ABORTED: the version
   * moved, possibly because the earlier attempt did commit. Read the key to find out.
   */
  readonly maybeCommitted: boolean;
  readonly field: string | undefined;
  readonly expectedVersion: number | undefined;
  readonly actualVersion: number | undefined;
  readonly requestId: string | undefined;
  /**
   * A write a validator refused (INVALID_ARGUMENT, or FAILED_PRECONDITION for a validator that
   * current values violate): each failed rule (validator, field, JSON Pointer, rule index,
   * message). The trailer is size-bounded: `violationsTotal` counts them all.
   */
  readonly violations: Violation[] | undefined;
  readonly violationsTotal: number | undefined;
  readonly metadata: grpc.Metadata | undefined;

  constructor(init: { code: grpc.status; details: string; method: string; attempts?: number; maybeCommitted?: boolean; metadata?: grpc.Metadata; cause?: unknown }) {
    const codeName = grpc.status[init.code] ?? String(init.code);
    super(`${init.method}: ${codeName}: ${init.details}`, { cause: init.cause });
    this.code = init.code;
    this.codeName = codeName;
    this.details = init.details;
    this.method = init.method;
    this.attempts = init.attempts ?? 1;
    this.maybeCommitted = init.maybeCommitted ?? false;
    this.metadata = init.metadata;
    this.field = trailer(init.metadata, "ctm-field");
    this.expectedVersion = num(trailer(init.metadata, "ctm-expected"));
    this.actualVersion = num(trailer(init.metadata, "ctm-actual"));
    this.requestId = trailer(init.metadata, "ctm-request-id");
    this.violations = violationsOf(init.metadata);
    this.violationsTotal = this.violations === undefined ? undefined : (num(trailer(init.metadata, "ctm-violations-total")) ?? this.violations.length);
  }

  /** Wraps a grpc-js error (or anything thrown) as a CtmError. */
  static from(e: unknown, method: string, extra: { attempts?: number; maybeCommitted?: boolean } = {}): CtmError {
    if (e instanceof CtmError) return e;
    const se = e as Partial<grpc.ServiceError> | undefined;
    if (se && typeof se.code === "number") {
      return new CtmError({ code: se.code, details: se.details ?? se.message ?? "", method, metadata: se.metadata, cause: e, ...extra });
    }
    return new CtmError({ code: grpc.status.UNKNOWN, details: e instanceof Error ? e.message : String(e), method, cause: e, ...extra });
  }
}

/** The status code of anything a call threw (UNKNOWN when it is not a gRPC error). */
export const codeOf = (e: unknown): grpc.status =>
  typeof (e as { code?: unknown } | undefined)?.code === "number" ? (e as { code: grpc.status }).code : grpc.status.UNKNOWN;
