import type { JsonValue } from "@ctm/core/json";
import type { LogRecord } from "@ctm/core/record";
import { Rollout } from "../../gen/ctm/v1/rollout.js";
import { KINDS } from "./entry-mapper.js";
import { toPbRollout } from "./rollout-mapper.js";

/**
 * ctm.v1.Entry and google.protobuf.Value bytes straight from a record, byte for byte what
 * `Entry.encode(toEntry(r))` writes (a property test holds them to it). The generated encoder
 * wraps every JSON member in a Value object and forks a writer per nested message; Snapshot
 * pages and Watch replays encode records by the hundred thousand, and there that
 * was most of their CPU. Two passes: the first measures (nested lengths and UTF-8 lengths,
 * in the order the second pass needs them), the second writes into one exact buffer.
 */
export function encodeEntry(r: LogRecord): Buffer {
  const sizes: number[] = [];
  // A rollout is rare on the wire and its message is large: the generated encoder writes it.
  const rollout = r.rollout === undefined ? undefined : Rollout.encode(toPbRollout(r.rollout)).finish();
  const size = sizeEntry(r, sizes, rollout);
  const w = new Writer(Buffer.allocUnsafe(size), sizes);
  writeEntry(w, r, rollout);
  return w.buf;
}

/** google.protobuf.Value bytes of a JSON value. */
export function encodeValue(v: JsonValue): Buffer {
  const sizes: number[] = [];
  const size = sizeValue(v, sizes);
  const w = new Writer(Buffer.allocUnsafe(size), sizes);
  writeValue(w, v);
  return w.buf;
}

// Field tags: (field number << 3) | wire type.
export const T = {
  key: 10,
  value: 18,
  version: 24,
  revision: 32,
  time: 42,
  author: 50,
  message: 58,
  kind: 64,
  deleted: 72,
  rolledBackTo: 80,
  cause: 90,
  rollout: 98,
  principal: 106,
  valueCompacted: 112,
  breakGlass: 120,
  /** Field 16: its tag takes two bytes. */
  changeRequest: 130,
} as const;

export const varintSize = (n: number): number => {
  let s = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    s++;
  }
  return s;
};

/** A length-delimited field of `len` bytes: tag, length, payload. */
export const delimited = (len: number): number => 1 + varintSize(len) + len;

/** Strings this long or shorter are measured and copied in JavaScript when they are ASCII. */
const SHORT = 64;

/** UTF-8 length of `s`. Most strings here (keys, names, authors) are short and ASCII, and a loop over them costs less than a call into the runtime. */
function utf8Length(s: string): number {
  if (s.length > SHORT) return Buffer.byteLength(s, "utf8");
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, "utf8");
  return s.length;
}

/** Bytes of a string field, pushing its UTF-8 length for the writer. */
function sizeString(s: string, sizes: number[]): number {
  const len = utf8Length(s);
  sizes.push(len);
  return delimited(len);
}

function sizeEntry(r: LogRecord, sizes: number[], rollout: Uint8Array | undefined): number {
  let n = 0;
  if (r.key !== "") n += sizeString(r.key, sizes);
  if (!r.deleted && r.value !== undefined) {
    const at = sizes.push(0) - 1;
    sizes[at] = sizeValue(r.value, sizes);
    n += delimited(sizes[at]!);
  }
  if (r.version !== 0) n += 1 + varintSize(r.version);
  if (r.revision !== 0) n += 1 + varintSize(r.revision);
  n += delimited(timestampSize(r.time));
  if (r.author !== "") n += sizeString(r.author, sizes);
  if (r.message !== "") n += sizeString(r.message, sizes);
  const kind = KINDS[r.kind] ?? 0;
  if (kind !== 0) n += 1 + varintSize(kind);
  if (r.deleted) n += 2;
  if ((r.rolledBackTo ?? 0) !== 0) n += 1 + varintSize(r.rolledBackTo!);
  if (r.cause !== "") n += sizeString(r.cause, sizes);
  if (rollout !== undefined) n += delimited(rollout.length);
  if ((r.principal ?? "") !== "") n += sizeString(r.principal!, sizes);
  if (r.valueCompacted) n += 2;
  if (r.breakGlass) n += 2;
  if ((r.changeRequest ?? "") !== "") n += 1 + sizeString(r.changeRequest!, sizes);
  return n;
}

function writeEntry(w: Writer, r: LogRecord, rollout: Uint8Array | undefined): void {
  if (r.key !== "") w.string(T.key, r.key);
  if (!r.deleted && r.value !== undefined) {
    w.tagLength(T.value);
    writeValue(w, r.value);
  }
  if (r.version !== 0) w.tag(T.version).varint(r.version);
  if (r.revision !== 0) w.tag(T.revision).varint(r.revision);
  w.tag(T.time).varint(timestampSize(r.time));
  writeTimestamp(w, r.time);
  if (r.author !== "") w.string(T.author, r.author);
  if (r.message !== "") w.string(T.message, r.message);
  const kind = KINDS[r.kind] ?? 0;
  if (kind !== 0) w.tag(T.kind).varint(kind);
  if (r.deleted) w.tag(T.deleted).varint(1);
  if ((r.rolledBackTo ?? 0) !== 0) w.tag(T.rolledBackTo).varint(r.rolledBackTo!);
  if (r.cause !== "") w.string(T.cause, r.cause);
  if (rollout !== undefined) w.tag(T.rollout).varint(rollout.length).raw(rollout);
  if ((r.principal ?? "") !== "") w.string(T.principal, r.principal!);
  if (r.valueCompacted) w.tag(T.valueCompacted).varint(1);
  if (r.breakGlass) w.tag(T.breakGlass).varint(1);
  if ((r.changeRequest ?? "") !== "") w.varint(T.changeRequest).string(-1, r.changeRequest!);
}

// google.protobuf.Timestamp{seconds = 1, nanos = 2}, zero fields left out, as ts-proto does.
export const timestampSize = (ms: number): number => {
  const { seconds, nanos } = splitTime(ms);
  return (seconds !== 0 ? 1 + varintSize(seconds) : 0) + (nanos !== 0 ? 1 + varintSize(nanos) : 0);
};

export function writeTimestamp(w: Writer, ms: number): void {
  const { seconds, nanos } = splitTime(ms);
  if (seconds !== 0) w.tag(8).varint(seconds);
  if (nanos !== 0) w.tag(16).varint(nanos);
}

const splitTime = (ms: number): { seconds: number; nanos: number } => ({ seconds: Math.trunc(ms / 1000), nanos: (ms % 1000) * 1_000_000 });

// google.protobuf.Value: null_value = 1, number_value = 2, string_value = 3, bool_value = 4,
// struct_value = 5 (Struct{fields = 1: entries {key = 1, value = 2}}), list_value = 6 (ListValue{values = 1}).
function sizeValue(v: JsonValue, sizes: number[]): number {
  if (v === null) return 2;
  switch (typeof v) {
    case "boolean":
      return 2;
    case "number":
      return 9;
    case "string":
      return sizeString(v, sizes);
  }
  const at = sizes.push(0) - 1;
  let inner = 0;
  if (Array.isArray(v)) {
    for (const item of v) {
      const i = sizes.push(0) - 1;
      sizes[i] = sizeValue(item, sizes);
      inner += delimited(sizes[i]!);
    }
  } else {
    for (const name of Object.keys(v)) {
      const member = (v as { [k: string]: JsonValue | undefined })[name];
      if (member === undefined) continue;
      const e = sizes.push(0) - 1;
      let entry = name === "" ? 0 : sizeString(name, sizes);
      const i = sizes.push(0) - 1;
      sizes[i] = sizeValue(member, sizes);
      entry += delimited(sizes[i]!);
      sizes[e] = entry;
      inner += delimited(entry);
    }
  }
  sizes[at] = inner;
  return delimited(inner);
}

function writeValue(w: Writer, v: JsonValue): void {
  if (v === null) {
    w.tag(8).varint(0);
    return;
  }
  switch (typeof v) {
    case "boolean":
      w.tag(32).varint(v ? 1 : 0);
      return;
    case "number":
      w.tag(17).double(v);
      return;
    case "string":
      w.string(26, v);
      return;
  }
  if (Array.isArray(v)) {
    w.tagLength(50);
    for (const item of v) {
      w.tagLength(10);
      writeValue(w, item);
    }
    return;
  }
  w.tagLength(42);
  for (const name of Object.keys(v)) {
    const member = (v as { [k: string]: JsonValue | undefined })[name];
    if (member === undefined) continue;
    w.tagLength(10);
    if (name !== "") w.string(10, name);
    w.tagLength(18);
    writeValue(w, member);
  }
}

/** Writes into an exact buffer, taking nested and UTF-8 lengths from the sizing pass in order. */
export class Writer {
  pos = 0;
  private next = 0;
  constructor(
    readonly buf: Buffer,
    readonly sizes: number[],
  ) {}

  tag(t: number): this {
    this.buf[this.pos++] = t;
    return this;
  }

  /** A length-delimited field whose length the sizing pass recorded. */
  tagLength(t: number): this {
    return this.tag(t).varint(this.sizes[this.next++]!);
  }

  varint(n: number): this {
    while (n >= 128) {
      this.buf[this.pos++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
    return this;
  }

  double(n: number): this {
    this.pos = this.buf.writeDoubleLE(n, this.pos);
    return this;
  }

  /** A string field; `t` < 0: its tag is written already (a tag of more than one byte). */
  string(t: number, s: string): this {
    const len = this.sizes[this.next++]!;
    if (t >= 0) this.tag(t);
    this.varint(len);
    if (len === s.length && len <= SHORT) {
      // ASCII (its UTF-8 length is its length): one byte per character.
      const buf = this.buf;
      for (let i = 0, at = this.pos; i < len; i++) buf[at + i] = s.charCodeAt(i);
      this.pos += len;
    } else this.pos += this.buf.write(s, this.pos, len, "utf8");
    return this;
  }

  /** A string field from UTF-8 bytes `src[start, start + len)`, its length recorded by the sizing pass. */
  utf8(t: number, src: Uint8Array, start: number): this {
    const len = this.sizes[this.next++]!;
    if (t >= 0) this.tag(t);
    this.varint(len);
    if (len <= SHORT) {
      const buf = this.buf;
      for (let i = 0, at = this.pos; i < len; i++) buf[at + i] = src[start + i]!;
    } else this.buf.set(src.subarray(start, start + len), this.pos);
    this.pos += len;
    return this;
  }

  raw(b: Uint8Array): this {
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
}
