import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { LogRecord } from "@ctm/core/record";
import type { ResponseHeader } from "../../gen/ctm/v1/record.js";
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
export function encodeWriteResponse(header: ResponseHeader, fields: readonly ResponseField[]): Buffer {
  const w = writeHeader(new BinaryWriter(), header);
  for (const [field, value] of fields) {
    if (typeof value === "number") {
      if (value !== 0) w.uint32(field << 3).uint64(value);
    } else if (isRecordList(value)) {
      for (const r of value) w.uint32((field << 3) | 2).bytes(entryBytes(r, false));
    } else w.uint32((field << 3) | 2).bytes(entryBytes(value, false));
  }
  const out = w.finish();
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

const isRecordList = (v: LogRecord | readonly LogRecord[]): v is readonly LogRecord[] => Array.isArray(v);
