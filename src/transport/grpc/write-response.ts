import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { LogRecord } from "@ctm/core/record";
import type { ResponseHeader } from "../../gen/ctm/v1/record.js";
import { timeSlices, type Pause } from "../../storage/time-slices.js";
import { writeHeader } from "./response-header.js";
import { entryBytes } from "./wire-cache.js";

/** A field after the header: a uint64 (left out when 0, as proto3 leaves it), one Entry, or repeated Entry. */
export type ResponseField = readonly [field: number, value: number | LogRecord | readonly LogRecord[]];

/**
 * A write's response (SetResponse, ApplyResponse, RollbackPrefixResponse...): its header, then
 * `fields` in the order given (field order, as ts-proto writes them), every Entry written by
 * ctmd's own encoder rather than through ts-proto's objects. The entries are not cached: a
 * write's answer is sent once, and a watcher that sends the same record caches its own bytes;
 * caching every written record cost a durable Set more CPU than it saved.
 */
export function encodeWriteResponse(header: ResponseHeader, fields: readonly ResponseField[], bytesOf: (r: LogRecord) => Uint8Array = uncached): Buffer {
  const w = writeHeader(new BinaryWriter(), header);
  for (const [field, value] of fields) {
    if (typeof value === "number") {
      if (value !== 0) w.uint32(field << 3).uint64(value);
    } else if (isRecordList(value)) {
      for (const r of value) w.uint32((field << 3) | 2).bytes(bytesOf(r));
    } else w.uint32((field << 3) | 2).bytes(bytesOf(value));
  }
  const out = w.finish();
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * The same, its entries encoded a slice at a time (see timeSlices): RollbackPrefix answers up to
 * 1000 of them, and in a daemon whose encoder V8 has not optimized yet that took 35-48 ms in one
 * step on a slow VM, right after the step that made the batch visible.
 */
export async function encodeWriteResponseInSlices(header: ResponseHeader, fields: readonly ResponseField[], pause: Pause = timeSlices()): Promise<Buffer> {
  const encoded = new Map<LogRecord, Uint8Array>();
  for (const [, value] of fields) {
    if (typeof value === "number" || !isRecordList(value)) continue;
    for (const r of value) {
      encoded.set(r, uncached(r));
      const p = pause();
      if (p) await p;
    }
  }
  return encodeWriteResponse(header, fields, (r) => encoded.get(r) ?? uncached(r));
}

const uncached = (r: LogRecord): Uint8Array => entryBytes(r, false);

const isRecordList = (v: LogRecord | readonly LogRecord[]): v is readonly LogRecord[] => Array.isArray(v);
