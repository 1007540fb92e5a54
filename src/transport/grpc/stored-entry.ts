import { KINDS } from "./entry-mapper.js";
import { T, Writer, delimited, timestampSize, varintSize, writeTimestamp } from "./entry-encoder.js";

/** What storedEntry answers for a tombstone: a listing leaves it out. */
export const TOMBSTONE = "tombstone";

/**
 * ctm.v1.Entry bytes straight from a record as the log stores it (the CBOR array [hash of the
 * record before, record]), without making the record: byte for byte what
 * `encodeEntry(decodeRecord(stored))` writes (a property test holds them to it). A page in the
 * past is records read back from the log, sent once: decoding each into objects and encoding
 * those again was most of its CPU. Undefined for a record outside what this encoder takes (a
 * rollout plan, a JSON member named like an array index, which objects put first, a lone
 * surrogate, CBOR forms the store's encoder does not write): the caller decodes it as before.
 */
export function storedEntry(stored: Uint8Array): Buffer | typeof TOMBSTONE | undefined {
  try {
    return transcode(stored);
  } catch (e) {
    if (e === OTHER) return undefined;
    throw e;
  }
}

/** Thrown where the bytes leave the subset: caught above, never seen outside. */
const OTHER = new Error("outside the stored-entry subset");

// The fields of a record, by name in its CBOR map.
const F = {
  key: 0,
  value: 1,
  version: 2,
  revision: 3,
  time: 4,
  author: 5,
  message: 6,
  kind: 7,
  deleted: 8,
  rolledBackTo: 9,
  cause: 10,
  rollout: 11,
  principal: 12,
  valueCompacted: 13,
  breakGlass: 14,
  changeRequest: 15,
} as const;
/** The text fields' slots in TEXT_AT and TEXT_LEN, by field. */
const TEXT = new Int8Array(16).fill(-1);
[F.key, F.author, F.message, F.cause, F.principal, F.changeRequest].forEach((f, slot) => (TEXT[f] = slot));
/** Each text field's start and UTF-8 length in the record being written; a length of 0 leaves it out, as an empty string is. */
const TEXT_AT = new Int32Array(6);
const TEXT_LEN = new Int32Array(6);
/** The nested and UTF-8 lengths of the record being written, reused: one record at a time. */
const SIZES: number[] = [];
/** The field names by length and first letter (the pair tells them apart), each with its bytes. */
// Filled whole first: an array written at scattered indexes only is a dictionary, and a lookup in it a hash.
const BY_START: ({ bytes: Buffer; f: number } | undefined)[] = new Array<undefined>(32 * 128).fill(undefined);
for (const [name, f] of Object.entries(F)) {
  const slot = name.length * 128 + name.charCodeAt(0);
  if (BY_START[slot] !== undefined) throw new Error(`record fields ${name} and ${BY_START[slot].bytes.toString("latin1")} start alike`);
  BY_START[slot] = { bytes: Buffer.from(name, "latin1"), f };
}

/** The field a map key names, or OTHER. */
function field(b: Uint8Array, at: number, len: number): number {
  const n = len < 32 ? BY_START[len * 128 + b[at]!] : undefined;
  if (n === undefined) throw OTHER;
  for (let i = 1; i < len; i++) if (n.bytes[i] !== b[at + i]) throw OTHER;
  return n.f;
}

/** The wire number of each record kind, by its bytes; "set" comes first, as most records are sets. */
const KIND_NAMES = Object.entries(KINDS).map(([name, kind]) => ({ bytes: Buffer.from(name, "latin1"), kind }));

/** KINDS[kind] for the kind's text at [at, at + len); 0 (unspecified) for one it does not know, as encodeEntry. */
function kindOf(b: Uint8Array, at: number, len: number): number {
  next: for (const k of KIND_NAMES) {
    if (k.bytes.length !== len) continue;
    for (let i = 0; i < len; i++) if (k.bytes[i] !== b[at + i]) continue next;
    return k.kind;
  }
  return 0;
}

/** Scratch for reading a big-endian float without a view per record. */
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const F32 = new Float32Array(1);
const F32_BYTES = new Uint8Array(F32.buffer);

/** Whether typed arrays hold numbers little-endian here, as CBOR's big-endian bytes are then copied backwards. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The big-endian float of `size` bytes (4 or 8) at `p`. */
function floatAt(b: Uint8Array, p: number, size: number): number {
  if (p + size > b.length) throw OTHER;
  const bytes = size === 8 ? F64_BYTES : F32_BYTES;
  for (let i = 0; i < size; i++) bytes[LITTLE_ENDIAN ? size - 1 - i : i] = b[p + i]!;
  return size === 8 ? F64[0]! : F32[0]!;
}

// The last head read: its major type and argument (a length, a count or an unsigned integer).
let major = 0;
let arg = 0;

/** Reads a data item's head at `p`; returns where its content starts. Only definite lengths and safe integers. */
function head(b: Uint8Array, p: number): number {
  const ib = b[p];
  if (ib === undefined) throw OTHER;
  major = ib >> 5;
  const info = ib & 31;
  if (info < 24) {
    arg = info;
    return p + 1;
  }
  const n = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
  if (n === 0 || p + 1 + n > b.length) throw OTHER;
  let v = 0;
  for (let i = 1; i <= n; i++) v = v * 256 + b[p + i]!;
  if (!Number.isSafeInteger(v)) throw OTHER;
  arg = v;
  return p + 1 + n;
}

/** head() for an item that must be of major type `m`. */
function headOf(b: Uint8Array, p: number, m: number): number {
  p = head(b, p);
  if (major !== m) throw OTHER;
  return p;
}

/**
 * A non-negative safe integer at `p` into `arg`: an unsigned integer, or a float holding one, as
 * the store's encoder writes numbers past 32 bits (times, for one). Returns where it ends.
 */
function wholeNumber(b: Uint8Array, p: number): number {
  const ib = b[p];
  if (ib === 0xfa || ib === 0xfb) {
    const size = ib === 0xfa ? 4 : 8;
    const v = floatAt(b, p + 1, size);
    if (!Number.isSafeInteger(v) || v < 0 || Object.is(v, -0)) throw OTHER;
    arg = v;
    return p + 1 + size;
  }
  return headOf(b, p, 0);
}

/**
 * Whether the record being written holds no 0xed byte anywhere: then none of its text can hold an
 * encoded lone surrogate, and checkText has nothing to look for. One native scan of the record
 * replaces a scan in JavaScript of each of its strings; most records have no such byte (it
 * starts only the UTF-8 of U+D000 to U+DFFF, Hangul among them, or sits in a hash or a float).
 */
let noSurrogateLead = false;

/** A text string's bytes at [p, p + len) as UTF-8 that the JSON encoder would write the same: no encoded lone surrogate. */
function checkText(b: Uint8Array, p: number, len: number): void {
  if (p + len > b.length) throw OTHER;
  if (noSurrogateLead) return;
  for (let i = p; i < p + len; i++) if (b[i] === 0xed && b[i + 1]! >= 0xa0) throw OTHER;
}

/** Whether the name at [p, p + len) is an array index ("0", "17"): a decoded object lists those first. */
function indexLike(b: Uint8Array, p: number, len: number): boolean {
  if (len === 0 || len > 10 || (len > 1 && b[p] === 0x30)) return false;
  let v = 0;
  for (let i = p; i < p + len; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x39) return false;
    v = v * 10 + (c - 0x30);
  }
  return v < 2 ** 32 - 1;
}

const PROTO = Buffer.from("__proto__", "latin1");
const isProto = (b: Uint8Array, p: number, len: number): boolean => len === PROTO.length && PROTO.every((c, i) => b[p + i] === c);

// Where the last value walked ended.
let end = 0;

/** Skips the data item at `p`; returns where the next starts. */
function skip(b: Uint8Array, p: number): number {
  const ib = b[p];
  if (ib === undefined) throw OTHER;
  if (ib >= 0xf4 && ib <= 0xf7) return p + 1;
  if (ib === 0xf9) return p + 3;
  if (ib === 0xfa) return p + 5;
  if (ib === 0xfb) return p + 9;
  p = head(b, p);
  switch (major) {
    case 0:
    case 1:
      return p;
    case 2:
    case 3:
      return p + arg;
    case 4: {
      const n = arg;
      for (let i = 0; i < n; i++) p = skip(b, p);
      return p;
    }
    case 5: {
      const n = arg;
      for (let i = 0; i < 2 * n; i++) p = skip(b, p);
      return p;
    }
  }
  throw OTHER;
}

/** google.protobuf.Value size of the JSON value at `p` (ends at `end`), pushing lengths in the order writeValueAt takes them, as sizeValue does. */
function sizeValueAt(b: Uint8Array, p: number, sizes: number[]): number {
  const ib = b[p];
  if (ib === 0xf4 || ib === 0xf5 || ib === 0xf6) {
    end = p + 1;
    return 2;
  }
  if (ib === 0xf9 || ib === 0xfa || ib === 0xfb) {
    end = p + (ib === 0xf9 ? 3 : ib === 0xfa ? 5 : 9);
    if (end > b.length) throw OTHER;
    return 9;
  }
  p = head(b, p);
  switch (major) {
    case 0:
    case 1:
      end = p;
      return 9;
    case 3:
      checkText(b, p, arg);
      sizes.push(arg);
      end = p + arg;
      return delimited(arg);
    case 4: {
      const at = sizes.push(0) - 1;
      const n = arg;
      let inner = 0;
      for (let k = 0; k < n; k++) {
        if (b[p] === 0xf7) throw OTHER;
        const i = sizes.push(0) - 1;
        sizes[i] = sizeValueAt(b, p, sizes);
        inner += delimited(sizes[i]!);
        p = end;
      }
      sizes[at] = inner;
      end = p;
      return delimited(inner);
    }
    case 5: {
      const at = sizes.push(0) - 1;
      const n = arg;
      let inner = 0;
      for (let k = 0; k < n; k++) {
        p = headOf(b, p, 3);
        const name = p;
        const len = arg;
        checkText(b, name, len);
        if (indexLike(b, name, len) || isProto(b, name, len)) throw OTHER;
        p = name + len;
        // A member whose value is undefined is left out, as the object encoder leaves it out.
        if (b[p] === 0xf7) {
          p++;
          continue;
        }
        const e = sizes.push(0) - 1;
        let entry = 0;
        if (len > 0) {
          sizes.push(len);
          entry = delimited(len);
        }
        const i = sizes.push(0) - 1;
        sizes[i] = sizeValueAt(b, p, sizes);
        entry += delimited(sizes[i]!);
        sizes[e] = entry;
        inner += delimited(entry);
        p = end;
      }
      sizes[at] = inner;
      end = p;
      return delimited(inner);
    }
  }
  throw OTHER;
}

/** Writes the JSON value at `p` as google.protobuf.Value; returns where it ends. The sizing pass has checked it. */
function writeValueAt(w: Writer, b: Uint8Array, p: number): number {
  const ib = b[p]!;
  if (ib === 0xf6) {
    w.tag(8).varint(0);
    return p + 1;
  }
  if (ib === 0xf4 || ib === 0xf5) {
    w.tag(32).varint(ib === 0xf5 ? 1 : 0);
    return p + 1;
  }
  if (ib === 0xf9) {
    w.tag(17).double(half((b[p + 1]! << 8) | b[p + 2]!));
    return p + 3;
  }
  if (ib === 0xfa) {
    w.tag(17).double(floatAt(b, p + 1, 4));
    return p + 5;
  }
  if (ib === 0xfb) {
    w.tag(17).double(floatAt(b, p + 1, 8));
    return p + 9;
  }
  p = head(b, p);
  switch (major) {
    case 0:
      w.tag(17).double(arg);
      return p;
    case 1:
      w.tag(17).double(-1 - arg);
      return p;
    case 3:
      w.utf8(26, b, p);
      return p + arg;
    case 4: {
      const n = arg;
      w.tagLength(50);
      for (let k = 0; k < n; k++) {
        w.tagLength(10);
        p = writeValueAt(w, b, p);
      }
      return p;
    }
  }
  // A map: struct_value.
  const n = arg;
  w.tagLength(42);
  for (let k = 0; k < n; k++) {
    p = head(b, p);
    const name = p;
    const len = arg;
    p = name + len;
    if (b[p] === 0xf7) {
      p++;
      continue;
    }
    w.tagLength(10);
    if (len > 0) w.utf8(10, b, name);
    w.tagLength(18);
    p = writeValueAt(w, b, p);
  }
  return p;
}

/** Bytes of text field `slot`, pushing its length; 0 when it is left out. */
function textSize(slot: number, sizes: number[]): number {
  const len = TEXT_LEN[slot]!;
  if (len === 0) return 0;
  sizes.push(len);
  return delimited(len);
}

function putText(w: Writer, b: Uint8Array, slot: number, tag: number): void {
  if (TEXT_LEN[slot]! > 0) w.utf8(tag, b, TEXT_AT[slot]!);
}

/** An IEEE 754 half-precision float's value. */
function half(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function transcode(b: Uint8Array): Buffer | typeof TOMBSTONE {
  noSurrogateLead = b.indexOf(0xed) === -1;
  let p = 0;
  // [hash of the record before, record]; a record written before the chain is the bare map.
  if (b[0] === 0x82) p = headOf(b, 1, 2) + arg;
  p = headOf(b, p, 5);
  const n = arg;
  TEXT_LEN.fill(0);
  // Sizes in the order encodeEntry's sizing pass pushes them, and its writer takes them.
  const sizes = SIZES;
  sizes.length = 0;
  let keySeen = false;
  let valueSlot = -1;
  let value = -1;
  let kind = 0;
  let version = 0;
  let revision = 0;
  let time = 0;
  let rolledBackTo = 0;
  let deleted = false;
  let valueCompacted = false;
  let breakGlass = false;
  for (let k = 0; k < n; k++) {
    p = headOf(b, p, 3);
    const f = field(b, p, arg);
    p += arg;
    // An undefined member is an absent one: the decoded record has it undefined.
    if (b[p] === 0xf7) {
      p++;
      continue;
    }
    switch (f) {
      case F.value:
        value = p;
        // The key comes first in the store's records: its length, then the value's, are then
        // the first sizes, and the value is measured now rather than skipped and walked again.
        if (keySeen && sizes.length === 0) {
          if (TEXT_LEN[0]! > 0) sizes.push(TEXT_LEN[0]!);
          valueSlot = sizes.push(0) - 1;
          sizes[valueSlot] = sizeValueAt(b, p, sizes);
          p = end;
        } else p = skip(b, p);
        break;
      case F.version:
      case F.revision:
      case F.time:
      case F.rolledBackTo:
        p = wholeNumber(b, p);
        if (f === F.version) version = arg;
        else if (f === F.revision) revision = arg;
        else if (f === F.time) time = arg;
        else rolledBackTo = arg;
        break;
      case F.deleted:
      case F.valueCompacted:
      case F.breakGlass: {
        const v = b[p++];
        if (v !== 0xf4 && v !== 0xf5) throw OTHER;
        if (f === F.deleted) deleted = v === 0xf5;
        else if (f === F.valueCompacted) valueCompacted = v === 0xf5;
        else breakGlass = v === 0xf5;
        break;
      }
      case F.kind:
        p = headOf(b, p, 3);
        if (p + arg > b.length) throw OTHER;
        kind = kindOf(b, p, arg);
        p += arg;
        break;
      case F.rollout:
        // A plan is rare on the wire and large: the generated encoder writes it, from the record.
        throw OTHER;
      default: {
        p = headOf(b, p, 3);
        checkText(b, p, arg);
        const t = TEXT[f]!;
        TEXT_AT[t] = p;
        TEXT_LEN[t] = arg;
        if (t === 0) keySeen = true;
        p += arg;
      }
    }
  }
  if (deleted) return TOMBSTONE;
  let size: number;
  if (valueSlot >= 0) size = (TEXT_LEN[0]! > 0 ? delimited(TEXT_LEN[0]!) : 0) + delimited(sizes[valueSlot]!);
  else {
    size = textSize(0, sizes);
    if (value >= 0) {
      const v = sizes.push(0) - 1;
      sizes[v] = sizeValueAt(b, value, sizes);
      size += delimited(sizes[v]!);
    }
  }
  if (version !== 0) size += 1 + varintSize(version);
  if (revision !== 0) size += 1 + varintSize(revision);
  size += delimited(timestampSize(time));
  size += textSize(1, sizes) + textSize(2, sizes);
  if (kind !== 0) size += 1 + varintSize(kind);
  if (rolledBackTo !== 0) size += 1 + varintSize(rolledBackTo);
  size += textSize(3, sizes) + textSize(4, sizes);
  if (valueCompacted) size += 2;
  if (breakGlass) size += 2;
  // change_request is field 16: its tag takes two bytes.
  if (TEXT_LEN[5]! > 0) size += 1 + textSize(5, sizes);

  const w = new Writer(Buffer.allocUnsafe(size), sizes);
  putText(w, b, 0, T.key);
  if (value >= 0) {
    w.tagLength(T.value);
    writeValueAt(w, b, value);
  }
  if (version !== 0) w.tag(T.version).varint(version);
  if (revision !== 0) w.tag(T.revision).varint(revision);
  w.tag(T.time).varint(timestampSize(time));
  writeTimestamp(w, time);
  putText(w, b, 1, T.author);
  putText(w, b, 2, T.message);
  if (kind !== 0) w.tag(T.kind).varint(kind);
  if (rolledBackTo !== 0) w.tag(T.rolledBackTo).varint(rolledBackTo);
  putText(w, b, 3, T.cause);
  putText(w, b, 4, T.principal);
  if (valueCompacted) w.tag(T.valueCompacted).varint(1);
  if (breakGlass) w.tag(T.breakGlass).varint(1);
  if (TEXT_LEN[5]! > 0) {
    w.varint(T.changeRequest);
    putText(w, b, 5, -1);
  }
  if (w.pos !== size) throw new Error(`stored entry: wrote ${w.pos} bytes of ${size}`);
  return w.buf;
}
