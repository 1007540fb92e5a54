import type { HttpResponse } from "./http-exchange.js";

/** OFREP's error codes (the OpenFeature ones a remote evaluation can answer). */
export type OfrepErrorCode = "PARSE_ERROR" | "TARGETING_KEY_MISSING" | "INVALID_CONTEXT" | "FLAG_NOT_FOUND" | "GENERAL";

/**
 * A refusal in OFREP's own terms: the HTTP status and error code the protocol defines for it.
 * The OFREP routes answer it themselves; everything else goes through the chain's status table.
 */
export class OfrepError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: OfrepErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An OFREP error body: `key` for a single flag (providers only read a 400 or 404 that names
 * its key), `errorCode` and `errorDetails`.
 */
export function sendOfrepError(res: HttpResponse, status: number, errorCode: OfrepErrorCode, details: string, key?: string, headers: Record<string, string> = {}): void {
  const body = key === undefined ? { errorCode, errorDetails: details } : { key, errorCode, errorDetails: details };
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}
