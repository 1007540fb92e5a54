import type { ErrorCode } from "../domain/errors.js";
import type { AccessRecord } from "../storage/access-log-store.js";

/** The primary's history reads a worker may ask for (see WriterReads). */
export const READ_OPS = ["pageAt", "at", "version", "history", "revisionAt", "range", "readNote"] as const;
export type ReadOp = (typeof READ_OPS)[number];

export interface WireError {
  code: ErrorCode;
  message: string;
  field?: string;
  details: Record<string, string | number>;
}

/**
 * Primary -> worker, in order on one IPC channel. Records travel as the store's CBOR (what a
 * restart would read back), a batch per message: `load` pages the latest records as they stood
 * at `revision`, then every `commit` follows in revision order.
 */
export type ToWorker =
  | { t: "load"; records: Uint8Array; revision: number; first: number; done: boolean }
  | { t: "commit"; records: Uint8Array }
  | { t: "reply"; id: number; value?: Uint8Array; error?: WireError }
  | { t: "serving"; serving: boolean }
  | { t: "metrics"; id: number }
  | { t: "reload-tls" }
  | { t: "stop" };

/** Worker -> primary. */
export type ToPrimary =
  /** Sent once the worker listens for messages: IPC messages that arrive before that are lost. */
  | { t: "hello" }
  | { t: "read"; id: number; op: ReadOp; args: unknown[] }
  | { t: "listening"; address: string }
  | { t: "access"; records: AccessRecord[] }
  | { t: "usage"; used: [string, number][] }
  | { t: "metrics"; id: number; json: unknown };

/** Where the worker finds the primary's internal gRPC socket. */
export const SOCKET_ENV = "CTM_PRIMARY_SOCKET";
