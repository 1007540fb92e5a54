import { isUtf8 } from "node:buffer";
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { CtmError, invalidArgument } from "../../domain/errors.js";
import { LIMITS, MAX_INTEGER } from "../../domain/limits.js";

/**
 * Checks a request's bytes against its message type before ts-proto decodes them, so that
 * what ts-proto would throw on (truncation, 64-bit numbers beyond a double's integers, 100
 * nested messages), silently change (invalid UTF-8, unknown enum numbers, a "__proto__"
 * member, a Value with no kind) or store unreadably (times outside years 0001-9999, values
 * nested deeper than clients decode) is refused as INVALID_ARGUMENT naming the field.
 * Unknown fields and fields of an unexpected wire type are skipped, as ts-proto skips them.
 */
export function checkRequestBytes(type: DescMessage, bytes: Uint8Array): void {
  const r = new BinaryReader(bytes);
  try {
    message(r, type, bytes.length, undefined, 1);
  } catch (e) {
    if (e instanceof CtmError) throw e;
    throw malformed(type, e instanceof Error ? e.message : String(e));
  }
}

export const malformed = (type: DescMessage, reason: string): CtmError =>
  new CtmError("invalid_argument", `request: is not a valid ${type.typeName} message (${reason})`, "request");

/**
 * A field path, built as a chain and spelled out only for an error ("rollout.variants[0].value").
 * Inside a value, a segment is a list index or a member's raw name: a 256 KiB value holds tens
 * of thousands of them, and turning each into a JSON Pointer string would cost more than the
 * whole check.
 */
type Path = { up: Path; seg: string | number | Uint8Array } | undefined;
const pointerSegment = (seg: string | number | Uint8Array): string => {
  if (typeof seg === "string") return seg;
  if (typeof seg === "number") return `/${seg}`;
  return `/${Buffer.from(seg.buffer, seg.byteOffset, seg.length).toString("utf8").replace(/~/g, "~0").replace(/\//g, "~1")}`;
};
const spell = (p: Path, sep = ""): string => {
  let s = "";
  for (let at = p; at; at = at.up) s = pointerSegment(at.seg) + s;
  return s.startsWith(".") ? s.slice(1) : s || sep;
};
const seg = (up: Path, s: string | number | Uint8Array): Path => ({ up, seg: s });

/** Deeper nesting is refused before ts-proto's own limit of 100 turns it into an exception. */
const MAX_MESSAGE_DEPTH = 64;
const TIME_SECONDS = { min: -62_135_596_800, max: 253_402_300_799 };
const DURATION_SECONDS = 315_576_000_000;
const BIG_MAX = BigInt(MAX_INTEGER);

const fieldMaps = new WeakMap<DescMessage, Map<number, DescField>>();
function fieldsOf(type: DescMessage): Map<number, DescField> {
  let m = fieldMaps.get(type);
  if (m === undefined) fieldMaps.set(type, (m = new Map(type.fields.map((f) => [f.number, f]))));
  return m;
}

/** The end of the length-delimited field about to be read, inside `end`. */
function sub(r: BinaryReader, end: number): number {
  const len = r.uint32();
  if (r.pos + len > end) throw new Error("a length runs past the end of its message");
  return r.pos + len;
}

function done(r: BinaryReader, end: number): void {
  if (r.pos !== end) throw new Error("a field runs past the end of its message");
}

function message(r: BinaryReader, type: DescMessage, end: number, path: Path, depth: number): void {
  if (depth > MAX_MESSAGE_DEPTH) throw invalidArgument(spell(path, "request"), `nests more than ${MAX_MESSAGE_DEPTH} messages deep`);
  switch (type.typeName) {
    case "google.protobuf.Timestamp":
      return time(r, end, path);
    case "google.protobuf.Duration":
      return duration(r, end, path);
    case "google.protobuf.Value":
      // Every value a request carries is held to LIMITS.valueBytes as JSON (checkValue, or the
      // document it is part of): one far past it is refused here, before ts-proto makes objects
      // of all of it, which for 40,000 members took longer than this whole check.
      json = 0;
      jsonLimit = LIMITS.valueBytes;
      try {
        value(r, end, path, undefined, 0);
        overLimit(path);
      } finally {
        jsonLimit = Infinity;
      }
      return;
    case "google.protobuf.Struct":
      return struct(r, end, path, undefined, 1);
    case "google.protobuf.ListValue":
      return list(r, end, path, undefined, 1);
  }
  const fields = fieldsOf(type);
  let counts: Map<number, number> | undefined;
  while (r.pos < end) {
    const [no, wt] = r.tag();
    const f = fields.get(no);
    if (f === undefined || (f.fieldKind === "map" && wt !== WireType.LengthDelimited)) {
      skip(r, wt, no);
      continue;
    }
    let at = seg(path, `.${f.name}`);
    if (f.fieldKind === "list" || f.fieldKind === "map") {
      const n = (counts ??= new Map()).get(no) ?? 0;
      counts.set(no, n + 1);
      if (f.fieldKind === "list") at = seg(at, `[${n}]`);
    }
    if (f.fieldKind === "map") mapEntry(r, f, sub(r, end), at, depth);
    else if (f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message")) {
      if (wt !== WireType.LengthDelimited) skip(r, wt, no);
      else {
        const e = sub(r, end);
        message(r, f.message!, e, at, depth + 1);
        done(r, e);
      }
    } else if (f.fieldKind === "list" && wt === WireType.LengthDelimited && f.scalar !== ScalarType.STRING && f.scalar !== ScalarType.BYTES) {
      // A packed run of numbers or enums.
      const e = sub(r, end);
      for (let i = 0; r.pos < e; i++) single(r, f, wireTypeOf(f), seg(path, `.${f.name}[${i}]`));
      done(r, e);
    } else single(r, f, wt, at);
  }
  done(r, end);
}

function wireTypeOf(f: DescField): WireType {
  if (f.fieldKind === "enum" || (f.fieldKind === "list" && f.listKind === "enum")) return WireType.Varint;
  switch (f.scalar) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    default:
      return WireType.Varint;
  }
}

/** One scalar or enum: read, and checked where ts-proto would fail or change it. */
function single(r: BinaryReader, f: DescField, wt: WireType, path: Path): void {
  if (wt !== wireTypeOf(f)) return skip(r, wt, 0);
  if (f.enum) {
    const n = r.int32();
    if (!f.enum.values.some((v) => v.number === n)) throw invalidArgument(spell(path), `${n} is not a value of ${f.enum.typeName}`);
    return;
  }
  switch (f.scalar) {
    case ScalarType.STRING:
      utf8(r, path);
      return;
    case ScalarType.UINT64:
      return wholeNumber(BigInt(r.uint64()), path);
    case ScalarType.FIXED64:
      return wholeNumber(BigInt(r.fixed64()), path);
    case ScalarType.INT64:
      return wholeNumber(BigInt(r.int64()), path);
    case ScalarType.SINT64:
      return wholeNumber(BigInt(r.sint64()), path);
    case ScalarType.SFIXED64:
      return wholeNumber(BigInt(r.sfixed64()), path);
    default:
      return skip(r, wt, 0);
  }
}

function wholeNumber(n: bigint, path: Path): void {
  if (n > BIG_MAX || n < -BIG_MAX) throw invalidArgument(spell(path), `must be below 2^53 (${MAX_INTEGER + 1}); ${n} is not`);
}

function utf8(r: BinaryReader, path: Path): Uint8Array {
  const b = r.bytes();
  if (!isUtf8(b)) throw invalidArgument(spell(path), "is not valid UTF-8");
  return b;
}

const PROTO = Buffer.from("__proto__");
const isProto = (b: Uint8Array): boolean => b.length === PROTO.length && PROTO.equals(b);

function skip(r: BinaryReader, wt: WireType, no: number): void {
  if (wt === WireType.EndGroup) throw new Error("an end-group tag without its start");
  r.skip(wt, no || undefined);
}

/** A map entry: a string key (never "__proto__", which a plain object cannot hold) and a value. */
function mapEntry(r: BinaryReader, f: DescField & { fieldKind: "map" }, end: number, path: Path, depth: number): void {
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no === 1 && f.mapKey === ScalarType.STRING && wt === WireType.LengthDelimited) {
      if (isProto(utf8(r, path))) throw invalidArgument(spell(path), 'must not hold a key named "__proto__"');
    } else if (no === 2 && f.mapKind === "message" && wt === WireType.LengthDelimited) {
      const e = sub(r, end);
      message(r, f.message, e, path, depth + 1);
      done(r, e);
    } else if (no === 2 && f.mapKind !== "message") single(r, f as unknown as DescField, wt, path);
    else skip(r, wt, no);
  }
  done(r, end);
}

/** The `seconds` and `nanos` of a Timestamp or a Duration (they share field numbers and types). */
function secondsAndNanos(r: BinaryReader, end: number): { seconds: bigint; nanos: number } {
  let seconds = 0n;
  let nanos = 0;
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no === 1 && wt === WireType.Varint) seconds = BigInt(r.int64());
    else if (no === 2 && wt === WireType.Varint) nanos = r.int32();
    else skip(r, wt, no);
  }
  done(r, end);
  return { seconds, nanos };
}

function time(r: BinaryReader, end: number, path: Path): void {
  const { seconds, nanos } = secondsAndNanos(r, end);
  if (seconds < TIME_SECONDS.min || seconds > TIME_SECONDS.max || nanos < 0 || nanos > 999_999_999) {
    throw invalidArgument(spell(path), "must be a time from 0001-01-01 to 9999-12-31 UTC (seconds in range, nanos from 0 to 999999999)");
  }
}

function duration(r: BinaryReader, end: number, path: Path): void {
  const { seconds, nanos } = secondsAndNanos(r, end);
  const s = Number(seconds);
  if (Math.abs(s) > DURATION_SECONDS || Math.abs(nanos) > 999_999_999 || (s > 0 && nanos < 0) || (s < 0 && nanos > 0)) {
    throw invalidArgument(spell(path), "must be a duration of at most 10000 years (seconds and nanos of one sign, |nanos| below 10^9)");
  }
}

/**
 * At least how many bytes the Value being checked takes as JSON, so far: a string its UTF-8 bytes
 * and quotes, a number one byte, punctuation as written. Counted only inside a Value field, whose
 * limit is jsonLimit; Infinity elsewhere.
 */
let json = 0;
let jsonLimit = Infinity;

function overLimit(field: Path): void {
  if (json > jsonLimit) throw invalidArgument(spell(field), `is at least ${json} bytes as JSON; the limit is ${jsonLimit}`);
}

/** google.protobuf.Value: `depth` containers enclose it; `at` is its JSON pointer inside the field. */
function value(r: BinaryReader, end: number, field: Path, at: Path, depth: number): boolean {
  let kind = false;
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no === 1 && wt === WireType.Varint) {
      if (r.int32() !== 0) throw invalidArgument(spell(field), `null_value must be NULL_VALUE${where(at)}`);
      json += 4;
    } else if (no === 2 && wt === WireType.Bit64) {
      r.double();
      json += 1;
    } else if (no === 3 && wt === WireType.LengthDelimited) json += utf8(r, field).length + 2;
    else if (no === 4 && wt === WireType.Varint) json += r.bool() ? 4 : 5;
    else if ((no === 5 || no === 6) && wt === WireType.LengthDelimited) {
      const e = sub(r, end);
      (no === 5 ? struct : list)(r, e, field, at, depth + 1);
      done(r, e);
    } else {
      skip(r, wt, no);
      continue;
    }
    kind = true;
  }
  done(r, end);
  return kind;
}

function container(field: Path, at: Path, depth: number): void {
  if (depth > LIMITS.valueDepth) throw invalidArgument(spell(field), `must not nest objects and arrays more than ${LIMITS.valueDepth} deep${where(at)}`);
}

function struct(r: BinaryReader, end: number, field: Path, at: Path, depth: number): void {
  container(field, at, depth);
  // "{}", and a comma before each member but the first.
  json += 1;
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no !== 1 || wt !== WireType.LengthDelimited) {
      skip(r, wt, no);
      continue;
    }
    const e = sub(r, end);
    let key: Uint8Array = EMPTY;
    let valueStart = -1;
    let valueEnd = -1;
    while (r.pos < e) {
      const [n, w] = r.tag();
      if (n === 1 && w === WireType.LengthDelimited) key = r.bytes();
      else if (n === 2 && w === WireType.LengthDelimited) {
        // Read once the member's name is known: it may follow the value on the wire.
        valueEnd = sub(r, e);
        valueStart = r.pos;
        r.pos = valueEnd;
      } else skip(r, w, n);
    }
    done(r, e);
    // Most names are short ASCII: a loop over them costs less than a call into isUtf8 each.
    if (!isAscii(key) && !isUtf8(key)) throw invalidArgument(spell(field), `holds a member name that is not valid UTF-8${where(at)}`);
    const member = seg(at, key);
    if (isProto(key)) throw invalidArgument(spell(field), `must not hold a member named "__proto__"${where(member)}`);
    if (valueStart < 0) throw noValue(field, member);
    r.pos = valueStart;
    if (!value(r, valueEnd, field, member, depth)) throw noValue(field, member);
    r.pos = e;
    // The name, its quotes, the colon and a comma.
    json += key.length + 4;
    overLimit(field);
  }
  done(r, end);
}

const EMPTY = new Uint8Array(0);
const noValue = (field: Path, member: Path): CtmError => invalidArgument(spell(field), `holds a member with no value (a google.protobuf.Value with no kind set)${where(member)}`);

function isAscii(b: Uint8Array): boolean {
  if (b.length > 64) return false;
  for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80) return false;
  return true;
}

function list(r: BinaryReader, end: number, field: Path, at: Path, depth: number): void {
  container(field, at, depth);
  // "[]", and a comma before each element but the first.
  json += 1;
  for (let i = 0; r.pos < end; ) {
    const [no, wt] = r.tag();
    if (no !== 1 || wt !== WireType.LengthDelimited) {
      skip(r, wt, no);
      continue;
    }
    const e = sub(r, end);
    const element = seg(at, i++);
    if (!value(r, e, field, element, depth)) throw invalidArgument(spell(field), `holds a google.protobuf.Value with no kind set${where(element)}`);
    done(r, e);
    json += 1;
    overLimit(field);
  }
  done(r, end);
}

const where = (at: Path): string => (at ? ` (at ${spell(at)})` : "");
