import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ALL_REASONS } from "../../test/helpers/all-reasons.js";
import type { AccessRecord } from "./access-log-store.js";
import { accessBatch, AccessBatchWriter, readAccessBatch, type AccessBatch } from "./access-batch.js";

const REASONS = ALL_REASONS;

/** Characters that stress string handling: NUL, 2/3/4-byte UTF-8, combining marks, RTL, lone surrogates. */
const trickyChar = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  fc.constantFrom("\0", "é", "e\u0301", "中", "😀", "👩‍💻", "ש", "\u202e", "\ud800", "\udc00", "\uffff", '"', "\\", "\n"),
  fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }),
);
const anyString = fc.string({ unit: trickyChar, maxLength: 12 });
/** A small pool, so that keys, variants and sources repeat across records (and across fields). */
const pooled = fc.constantFrom("", "checkout", "new", "stable", "static", "ключ", "鍵", "😀", "a\0b");
const str = fc.oneof(pooled, anyString);
/** Any double: NaN, ±Infinity, -0, subnormals, and the integers real records carry. */
const num = fc.oneof(fc.double(), fc.maxSafeNat(), fc.constantFrom(0, -0, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER));

const record: fc.Arbitrary<AccessRecord> = fc.record({
  time: num,
  requestId: str,
  unitId: str,
  key: str,
  version: num,
  revision: num,
  variant: str,
  reason: fc.constantFrom(...REASONS),
  source: str,
});
const records = fc.array(record, { maxLength: 40 });
/** Records that share many strings: a few distinct values per field, repeated. */
const repetitive = fc
  .tuple(fc.array(record, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 40 }))
  .map(([base, picks]) => picks.map((p) => ({ ...base[p % base.length]! })));

/** The deduplicated strings a batch must carry: key, variant, reason, source of every record. */
const sharedStrings = (rs: readonly AccessRecord[]): Set<string> => new Set(rs.flatMap((r) => [r.key, r.variant, r.reason, r.source]));

/** Copies the batch the way postMessage does, transferring its buffer. */
const viaPostMessage = (b: AccessBatch): AccessBatch => structuredClone(b, { transfer: [b.bytes.buffer as ArrayBuffer] });

/** Bytes a batch of these records takes: 40 fixed per record, then both ids as UTF-16 with a length. */
const expectedBytes = (rs: readonly AccessRecord[]): number => rs.reduce((n, r) => n + 40 + 8 + 2 * (r.requestId.length + r.unitId.length), 0);

function checkShape(rs: readonly AccessRecord[], b: AccessBatch): void {
  expect(b.count).toBe(rs.length);
  expect(b.bytes.byteLength).toBe(expectedBytes(rs));
  // Each shared string once, and nothing else.
  expect(new Set(b.strings).size).toBe(b.strings.length);
  expect(new Set(b.strings)).toEqual(sharedStrings(rs));
}

describe("AccessBatchWriter / readAccessBatch", () => {
  it("round-trips any batch of records, lone surrogates and NUL included: read(write(x)) deep-equals x", () => {
    fc.assert(
      fc.property(records, (rs) => {
        const b = accessBatch(rs);
        checkShape(rs, b);
        expect(readAccessBatch(b)).toEqual(rs);
      }),
      { numRuns: 500 },
    );
  });

  it("round-trips batches whose strings repeat, storing each distinct shared string once", () => {
    fc.assert(
      fc.property(repetitive, (rs) => {
        const b = accessBatch(rs);
        checkShape(rs, b);
        expect(b.strings.length).toBe(sharedStrings(rs).size);
        expect(readAccessBatch(b)).toEqual(rs);
      }),
      { numRuns: 500 },
    );
  });

  it("round-trips through a structured clone that transfers the buffer (as postMessage does)", () => {
    fc.assert(
      fc.property(fc.oneof(records, repetitive), (rs) => {
        const expected = structuredClone(rs);
        const b = accessBatch(rs);
        const copy = viaPostMessage(b);
        // Transferred: the sender's bytes are detached, the records it was built from are untouched.
        expect(b.bytes.byteLength).toBe(0);
        expect(rs).toEqual(expected);
        expect(readAccessBatch(copy)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("grows its buffer as records arrive, from any starting size, and keeps what it had", () => {
    fc.assert(
      fc.property(records, fc.integer({ min: 1, max: 200 }), (rs, initial) => {
        const w = new AccessBatchWriter(initial);
        rs.forEach((r, i) => {
          w.add(r);
          expect(w.count).toBe(i + 1);
        });
        expect(readAccessBatch(w.finish())).toEqual(rs);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps long ids whole (past the initial buffer many times over)", () => {
    const long = "x".repeat(70_000) + "\ud83d\ude00" + "\udc00";
    const r: AccessRecord = { time: 1, requestId: long, unitId: long.slice(3), key: "k", version: 1, revision: 2, variant: "", reason: "static", source: "ctmd" };
    const w = new AccessBatchWriter(16);
    w.add(r);
    w.add({ ...r, requestId: "" });
    expect(readAccessBatch(w.finish())).toEqual([r, { ...r, requestId: "" }]);
  });

  it("keeps -0, NaN and infinities in the numeric fields", () => {
    const r: AccessRecord = { time: -0, requestId: "r", unitId: "u", key: "k", version: NaN, revision: -Infinity, variant: "", reason: "static", source: "" };
    const [back] = readAccessBatch(accessBatch([r]));
    expect(Object.is(back!.time, -0)).toBe(true);
    expect(back!.version).toBeNaN();
    expect(back!.revision).toBe(-Infinity);
  });

  it("turns an empty batch into no bytes and back", () => {
    const b = accessBatch([]);
    expect(b.count).toBe(0);
    expect(b.bytes.byteLength).toBe(0);
    expect(b.strings).toEqual([]);
    expect(readAccessBatch(b)).toEqual([]);
    expect(readAccessBatch(viaPostMessage(accessBatch([])))).toEqual([]);
  });

  it("rejects a batch whose byte length does not match its count", () => {
    const rs: AccessRecord[] = [{ time: 1, requestId: "r", unitId: "u", key: "k", version: 1, revision: 1, variant: "", reason: "static", source: "" }];
    const b = accessBatch([...rs, ...rs]);
    expect(() => readAccessBatch({ ...b, count: 1 })).toThrow(/bytes after 1 records/);
  });

  it("shares one entry between fields that hold the same string, and keeps every reason", () => {
    const rs: AccessRecord[] = REASONS.map((reason, i) => ({
      time: 1_700_000_000_000 + i,
      requestId: `req-${i}`,
      unitId: i % 2 ? "ユーザー" : "user-1",
      key: "static", // equal to a reason
      version: i,
      revision: i * 2,
      variant: i % 3 ? "new" : "stable",
      reason,
      source: "new", // equal to a variant
    }));
    const b = accessBatch(rs);
    expect(b.strings.filter((s) => s === "static")).toHaveLength(1);
    expect(b.strings.filter((s) => s === "new")).toHaveLength(1);
    expect([...b.strings].sort()).toEqual([...new Set(["static", "new", "stable", ...REASONS])].sort());
    expect(readAccessBatch(b)).toEqual(rs);
  });
});
