import type { AccessRecord } from "./access-log-store.js";

/**
 * Access records packed into one byte buffer, so a batch crosses to the access log's worker
 * thread as a transferred ArrayBuffer instead of being cloned field by field. Per record:
 *   time, version, revision   float64 LE each
 *   key, variant, reason, source   uint32 LE index into `strings` (each distinct string once)
 *   request id, unit id       uint32 LE count of UTF-16 code units, then the code units
 * UTF-16 keeps every JavaScript string exactly, lone surrogates included, with no encoder call.
 * Code units are in the platform's byte order: a batch never leaves the process, and every
 * field is a whole number of 16-bit units long, so they are written through a Uint16Array.
 */
export interface AccessBatch {
  count: number;
  bytes: Uint8Array;
  strings: string[];
}

const NUMBERS = 3 * 8;
const REFS = 4 * 4;
/** Shared strings whose last value is remembered, so a run of equal ones skips the map. */
const KEY = 0;
const VARIANT = 1;
const REASON = 2;
const SOURCE = 3;

/** Builds one AccessBatch. A record is written as it is added: nothing holds on to it. */
export class AccessBatchWriter {
  private buf: Uint8Array;
  private view: DataView;
  private units: Uint16Array;
  private pos = 0;
  private n = 0;
  private readonly strings: string[] = [];
  private readonly index = new Map<string, number>();
  private readonly lastString = ["", "", "", ""];
  private readonly lastRef = [-1, -1, -1, -1];

  constructor(initialBytes = 16 * 1024) {
    this.buf = uninitialized(initialBytes);
    this.view = new DataView(this.buf.buffer);
    this.units = new Uint16Array(this.buf.buffer);
  }

  get count(): number {
    return this.n;
  }

  add(r: AccessRecord): void {
    this.ensure(NUMBERS + REFS + 8 + 2 * (r.requestId.length + r.unitId.length));
    const v = this.view;
    let p = this.pos;
    v.setFloat64(p, r.time, true);
    v.setFloat64(p + 8, r.version, true);
    v.setFloat64(p + 16, r.revision, true);
    v.setUint32(p + 24, this.ref(KEY, r.key), true);
    v.setUint32(p + 28, this.ref(VARIANT, r.variant), true);
    v.setUint32(p + 32, this.ref(REASON, r.reason), true);
    v.setUint32(p + 36, this.ref(SOURCE, r.source), true);
    p = this.text(p + 40, r.requestId);
    this.pos = this.text(p, r.unitId);
    this.n++;
  }

  /** The batch so far. The writer must not be used afterwards: the batch owns its buffer. */
  finish(): AccessBatch {
    return { count: this.n, bytes: this.buf.subarray(0, this.pos), strings: this.strings };
  }

  private ref(slot: number, s: string): number {
    if (this.lastString[slot] === s && this.lastRef[slot]! >= 0) return this.lastRef[slot]!;
    let i = this.index.get(s);
    if (i === undefined) this.index.set(s, (i = this.strings.push(s) - 1));
    this.lastString[slot] = s;
    this.lastRef[slot] = i;
    return i;
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const next = uninitialized(Math.max(this.buf.length * 2, this.pos + bytes));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
    this.units = new Uint16Array(next.buffer);
  }

  /** Writes `s` at byte offset `at` (always even); returns the offset after it. */
  private text(at: number, s: string): number {
    const n = s.length;
    this.view.setUint32(at, n, true);
    const u = this.units;
    const first = (at + 4) >> 1;
    for (let i = 0; i < n; i++) u[first + i] = s.charCodeAt(i);
    return at + 4 + 2 * n;
  }
}

/**
 * Bytes not zeroed first (only what was written is ever read), in an ArrayBuffer of their own
 * that can be transferred: Buffer.allocUnsafeSlow never hands out a slice of the shared pool.
 */
function uninitialized(size: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(size + (size & 1));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** One batch of the given records (uploads, tests). */
export function accessBatch(records: readonly AccessRecord[]): AccessBatch {
  const w = new AccessBatchWriter(Math.max(64, records.length * 128));
  for (const r of records) w.add(r);
  return w.finish();
}

/** The records of a batch, in the order they were added. */
export function readAccessBatch(b: AccessBatch): AccessRecord[] {
  const v = new DataView(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength);
  const raw = Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength);
  const out = new Array<AccessRecord>(b.count);
  let p = 0;
  const text = (): string => {
    const n = v.getUint32(p, true);
    const s = LITTLE_ENDIAN ? raw.toString("utf16le", p + 4, p + 4 + 2 * n) : Buffer.from(raw.subarray(p + 4, p + 4 + 2 * n)).swap16().toString("utf16le");
    p += 4 + 2 * n;
    return s;
  };
  for (let i = 0; i < b.count; i++) {
    const time = v.getFloat64(p, true);
    const version = v.getFloat64(p + 8, true);
    const revision = v.getFloat64(p + 16, true);
    const key = b.strings[v.getUint32(p + 24, true)]!;
    const variant = b.strings[v.getUint32(p + 28, true)]!;
    const reason = b.strings[v.getUint32(p + 32, true)]! as AccessRecord["reason"];
    const source = b.strings[v.getUint32(p + 36, true)]!;
    p += 40;
    const requestId = text();
    const unitId = text();
    out[i] = { time, requestId, unitId, key, version, revision, variant, reason, source };
  }
  if (p !== b.bytes.byteLength) throw new Error(`access batch: ${b.bytes.byteLength - p} bytes after ${b.count} records`);
  return out;
}
