import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { JsonValue } from "@ctm/core/json";
import type { LogRecord } from "@ctm/core/record";
import { encodeEntry, encodeValue } from "./entry-encoder.js";

// Records and their values are immutable, so their protobuf bytes are computed
// once and shared by every Get and every Watch stream that sends them.
const entries = new WeakMap<LogRecord, Uint8Array>();
const values = new WeakMap<object, Uint8Array>();

/**
 * A record's Entry bytes. `keep` false encodes without caching: a record read from disk for one
 * answer (a page in the past, a replay) is not sent again, and caching a hundred thousand of
 * them costs more than encoding them. As a function it is asked only when the bytes are not
 * cached yet: asking whether a record is its key's head costs a lookup in a map of every key.
 */
export function entryBytes(r: LogRecord, keep: boolean | ((r: LogRecord) => boolean) = true): Uint8Array {
  let b = entries.get(r);
  if (b === undefined) {
    b = encodeEntry(r);
    if (keep === true || (keep !== false && keep(r))) entries.set(r, b);
  }
  return b;
}

/** google.protobuf.Value bytes of a JSON value; objects and arrays are cached by identity. */
export function valueBytes(v: JsonValue): Uint8Array {
  if (typeof v !== "object" || v === null) return encodeValue(v);
  let b = values.get(v);
  if (b === undefined) values.set(v, (b = encodeValue(v)));
  return b;
}
