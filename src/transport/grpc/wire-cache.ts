import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { JsonValue } from "../../domain/json.js";
import type { LogRecord } from "../../domain/record.js";
import { Entry } from "../../gen/ctm/v1/record.js";
import { Value } from "../../gen/google/protobuf/struct.js";
import { toEntry } from "./entry-mapper.js";

// Records and their values are immutable, so their protobuf bytes are computed
// once and shared by every Get and every Watch stream that sends them.
const entries = new WeakMap<LogRecord, Uint8Array>();
const values = new WeakMap<object, Uint8Array>();

export function entryBytes(r: LogRecord): Uint8Array {
  let b = entries.get(r);
  if (b === undefined) entries.set(r, (b = Entry.encode(toEntry(r)).finish()));
  return b;
}

/** google.protobuf.Value bytes of a JSON value; objects and arrays are cached by identity. */
export function valueBytes(v: JsonValue): Uint8Array {
  if (typeof v !== "object" || v === null) return Value.encode(Value.wrap(v)).finish();
  let b = values.get(v);
  if (b === undefined) values.set(v, (b = Value.encode(Value.wrap(v)).finish()));
  return b;
}

/** Field 1 of every response: ResponseHeader{revision}. */
export function writeHeader(w: BinaryWriter, revision: number): BinaryWriter {
  return w.uint32(10).fork().uint32(8).uint64(revision).join();
}
