import { hash } from "node:crypto";
import type { LogRecord } from "@ctm/core/record";
import { cbor } from "./codec.js";

/** The hash before revision 1: the chain's root. */
export const GENESIS = Buffer.alloc(32);

/** SHA-256 of a record's stored bytes: what the next record names as its predecessor. */
export const recordHash = (bytes: Uint8Array): Buffer => hash("sha256", bytes, "buffer") as unknown as Buffer;

/**
 * A stored log value: the CBOR array [hash of the record before, record]. Hashing the stored
 * bytes covers both, so each record vouches for the whole history before it, as a git commit
 * names its parent.
 */
export const encodeLogValue = (prev: Uint8Array, r: LogRecord): Buffer => cbor.encode([prev, r]);

export interface StoredRecord {
  record: LogRecord;
  /** Absent on records written before the chain (schema 1). */
  prev: Uint8Array | undefined;
}

/** Throws on bytes that are not a log value: the caller decides whether that is damage. */
export function decodeLogValue(bytes: Uint8Array): StoredRecord {
  const v: unknown = cbor.decode(bytes);
  if (Array.isArray(v) && v.length === 2 && v[0] instanceof Uint8Array && isRecordShape(v[1])) return { record: v[1] as LogRecord, prev: v[0] };
  if (isRecordShape(v)) return { record: v as LogRecord, prev: undefined };
  throw new Error("not a log record");
}

export const decodeRecord = (bytes: Uint8Array): LogRecord => decodeLogValue(bytes).record;

function isRecordShape(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.revision === "number" && typeof r.key === "string" && typeof r.version === "number" && typeof r.time === "number";
}
