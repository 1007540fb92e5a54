/**
 * Typed errors shared by every layer. Transport maps `code` to a gRPC status in
 * one table; nothing below transport knows about gRPC.
 */
export type ErrorCode =
  | "invalid_argument"
  | "not_found"
  | "conflict"
  | "failed_precondition"
  | "out_of_range"
  | "permission_denied"
  /** No credentials, or credentials that are malformed, unknown, expired or revoked. */
  | "unauthenticated"
  | "unavailable"
  /** A client holds more than its share (of requests in flight, of streams): it should back off and retry. */
  | "resource_exhausted"
  /** Stored history is damaged or missing: never answered as if it were whole. */
  | "data_loss"
  | "internal";

export class CtmError extends Error {
  readonly code: ErrorCode;
  /** The request field at fault, for invalid_argument. */
  readonly field: string | undefined;
  /** Structured facts a client may act on (e.g. the current version). */
  readonly details: Readonly<Record<string, string | number>>;

  constructor(code: ErrorCode, message: string, field?: string, details: Record<string, string | number> = {}) {
    super(message);
    this.name = "CtmError";
    this.code = code;
    this.field = field;
    this.details = details;
  }
}

export const invalidArgument = (field: string, reason: string): CtmError =>
  new CtmError("invalid_argument", `${field}: ${reason}`, field);

export const notFound = (message: string): CtmError => new CtmError("not_found", message);

export const versionConflict = (key: string, expected: number, actual: number): CtmError =>
  new CtmError(
    "conflict",
    `expected_version ${expected} does not match the current version ${actual} of "${key}"`,
    "expected_version",
    { expected, actual },
  );

export const outOfRange = (field: string, reason: string, details: Record<string, string | number> = {}): CtmError =>
  new CtmError("out_of_range", `${field}: ${reason}`, field, details);

export const failedPrecondition = (message: string): CtmError => new CtmError("failed_precondition", message);

export const unavailable = (message: string): CtmError => new CtmError("unavailable", message);

export const permissionDenied = (message: string): CtmError => new CtmError("permission_denied", message);

export const unauthenticated = (message: string, reason: string): CtmError => new CtmError("unauthenticated", message, undefined, { reason });

export const isCtmError = (e: unknown): e is CtmError => e instanceof CtmError;
