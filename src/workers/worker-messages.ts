import type { ErrorCode } from "../domain/errors.js";
import type { AccessRecord } from "../storage/access-log-store.js";
import type { InternalCall, InternalReply } from "../transport/grpc/internal-calls.js";

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
  | { t: "load"; records: Uint8Array; revision: number; first: number; firstTime: number; done: boolean }
  /** `first` and `firstTime`: the horizon as it stood when the batch was durable (compaction raises it). */
  | { t: "commit"; records: Uint8Array; first: number; firstTime: number }
  | { t: "reply"; id: number; value?: Uint8Array; error?: WireError }
  /** Replies to `calls`, as many as were ready in one turn of the primary's event loop. */
  | { t: "called"; replies: { id: number; reply: InternalReply }[] }
  | { t: "serving"; serving: boolean }
  | { t: "metrics"; id: number }
  | { t: "reload-tls" }
  | { t: "stop" };

/** Worker -> primary. */
export type ToPrimary =
  /** Sent once the worker listens for messages: IPC messages that arrive before that are lost. */
  | { t: "hello" }
  | { t: "read"; id: number; op: ReadOp; args: unknown[] }
  /**
   * Calls the worker does not serve itself (writes, history reads), after its own chain: as many
   * as it took in one turn of its event loop, since each IPC message costs both processes more
   * than the call's own bytes.
   */
  | { t: "calls"; calls: { id: number; call: InternalCall }[] }
  | { t: "listening"; address: string }
  | { t: "access"; records: AccessRecord[] }
  /** Gets counted since the last report: key, reads, last read (ms). */
  | { t: "reads"; entries: [string, number, number][] }
  | { t: "usage"; used: [string, number][] }
  | { t: "metrics"; id: number; json: unknown };
