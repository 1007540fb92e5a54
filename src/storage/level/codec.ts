import { Encoder } from "cbor-x";
import type { LogRecord } from "@ctm/core/record";

// Plain objects in, plain objects out: records must read back as they were written.
export const cbor = new Encoder({ useRecords: false, mapsAsObjects: true });

export const encodeRecord = (r: LogRecord): Buffer => cbor.encode(r);
export const decodeRecord = (b: Uint8Array): LogRecord => cbor.decode(b) as LogRecord;

/** Big-endian fixed-width numbers so byte order is number order. */
export function u64(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  // A BigInt per call cost more than the rest of a key's encoding; it is kept for what only it
  // rejects (a negative, fractional or unsafe number).
  if (Number.isSafeInteger(n) && n >= 0) {
    b.writeUInt32BE(Math.floor(n / 0x1_0000_0000), 0);
    b.writeUInt32BE(n >>> 0, 4);
  } else b.writeBigUInt64BE(BigInt(n));
  return b;
}

/**
 * Writes u64(n)'s bytes into `b` at `at` without a BigInt or an allocation. Only for
 * non-negative safe integers; anything else goes through u64, which rejects it.
 */
export function putU64(b: Buffer, at: number, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    u64(n).copy(b, at);
    return;
  }
  b.writeUInt32BE(Math.floor(n / 0x1_0000_0000), at);
  b.writeUInt32BE(n >>> 0, at + 4);
}

/** u64's number back; exact up to 2^53, as every revision, version and time is. */
export function readU64(b: Uint8Array, offset = 0): number {
  const v = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return v.readUInt32BE(offset) * 0x1_0000_0000 + v.readUInt32BE(offset + 4);
}

/** `key \0 number`: keys never hold \0, and \0 sorts below every key byte, so a key's entries are contiguous. */
export const keyNum = (key: string, n: number): Buffer => Buffer.concat([Buffer.from(key, "utf8"), ZERO, u64(n)]);

export const timeRev = (ms: number, rev: number): Buffer => Buffer.concat([u64(ms), u64(rev)]);

const ZERO = Buffer.from([0]);
export const MAX_U64 = Number.MAX_SAFE_INTEGER;
