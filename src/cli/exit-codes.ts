import { status, type ServiceError } from "@grpc/grpc-js";
import { CliError } from "./cli-error.js";

/** Exit status of a command line commander could not parse (unknown option, missing argument, bad option value). */
export const USAGE_EXIT = 2;

/** Shown at the end of `ctm --help`. */
export const EXIT_CODES_HELP = `
Exit status: 0 on success; otherwise the numeric gRPC status code of the failure,
with one line "ctm: CODE: message" on stderr:
   3 INVALID_ARGUMENT     bad input (a bad key, value, plan or file); a value a
                          validator refuses (listed below the line); ctm validate: invalid
   4 DEADLINE_EXCEEDED    no answer within --timeout
   5 NOT_FOUND            missing or deleted key, unknown version, missing file
   7 PERMISSION_DENIED    the token's roles do not grant this verb on this key;
                          a change request's author approving it
   8 RESOURCE_EXHAUSTED   this client has its share of requests (--request-budget-mib)
                          or Watch streams in flight already: retry later
   9 FAILED_PRECONDITION  nothing to roll back to; no rollout on the key; a new
                          validator that current values violate (without --force);
                          a key a protection policy covers (see ctm cr); a change
                          request in a state that does not allow it
  10 ABORTED              --expect-version does not match the current version; a
                          change request's keys changed after its base revision
  11 OUT_OF_RANGE         a time or revision outside the log
  13 INTERNAL             a daemon bug (the message names a request id)
  14 UNAVAILABLE          ctmd cannot be reached, is shutting down, or its store failed
  15 DATA_LOSS            the store's history failed verification (see ctm verify)
  16 UNAUTHENTICATED      no token, or one that is malformed, unknown, expired or revoked
   2                      usage error: the command line could not be parsed
                          (also gRPC UNKNOWN, which ctmd does not send)`;

export const isServiceError = (e: unknown): e is ServiceError =>
  e instanceof Error && typeof (e as Partial<ServiceError>).code === "number" && "details" in e && "metadata" in e;

const FILE_ERRORS: Record<string, status> = { ENOENT: status.NOT_FOUND, EACCES: status.PERMISSION_DENIED, EISDIR: status.INVALID_ARGUMENT };

/** The gRPC status and message of any error a command threw. */
export function describeError(e: unknown, address: string): { code: status; message: string; detail?: string } {
  if (e instanceof CliError) return { code: e.code, message: e.message, detail: e.detail };
  let code: status;
  let message: string;
  if (isServiceError(e)) {
    // A failed TLS handshake's OpenSSL text ends its line: the error stays one line.
    [code, message] = [e.code, (e.details || e.message).replace(/\. Resolution note:\s*$/, "").replace(/\s*\n\s*/g, " ")];
    if (code === status.UNAVAILABLE) message += ` (ctmd at ${address})`;
  } else {
    const errno = (e as NodeJS.ErrnoException | undefined)?.code;
    code = (errno ? FILE_ERRORS[errno] : undefined) ?? status.INTERNAL;
    message = e instanceof Error ? e.message : String(e);
  }
  return { code, message };
}

/** The one stderr line: `ctm: NOT_FOUND: key "x" does not exist`. */
export const errorLine = (code: status, message: string): string => `ctm: ${status[code] ?? code}: ${message}`;
