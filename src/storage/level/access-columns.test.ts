import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Reason } from "../../domain/rollout/plan.js";
import type { AccessRecord } from "../access-log-store.js";
import { fromColumns, toColumns, type AccessColumns } from "./access-columns.js";

/**
 * Every value of plan.ts's Reason (a type-only union, so spelled out here): a Record over the
 * union makes tsc reject this list when a reason is added to or removed from plan.ts.
 */
const ALL_REASONS: Record<Reason, true> = {
  static: true,
  early_adopter: true,
  pinned: true,
  rule_match: true,
  in_rollout: true,
  out_of_rollout: true,
  scheduled_not_yet: true,
  ring_not_reached: true,
  variant: true,
  rolled_back: true,
};
const REASONS = Object.keys(ALL_REASONS) as Reason[];

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

/** Copies the batch the way postMessage does, transferring the two arrays' buffers. */
const viaPostMessage = (c: AccessColumns): AccessColumns => structuredClone(c, { transfer: [c.numbers.buffer as ArrayBuffer, c.refs.buffer as ArrayBuffer] });

function checkShape(rs: readonly AccessRecord[], c: AccessColumns): void {
  expect(c.numbers).toBeInstanceOf(Float64Array);
  expect(c.refs).toBeInstanceOf(Int32Array);
  expect(c.numbers).toHaveLength(rs.length * 3);
  expect(c.refs).toHaveLength(rs.length * 4);
  // Request and unit ids travel per record, never deduplicated.
  expect(c.requestIds).toEqual(rs.map((r) => r.requestId));
  expect(c.unitIds).toEqual(rs.map((r) => r.unitId));
  // Each repeated string once, and nothing else.
  expect(new Set(c.strings).size).toBe(c.strings.length);
  expect(new Set(c.strings)).toEqual(sharedStrings(rs));
  for (const i of c.refs) expect(i >= 0 && i < c.strings.length).toBe(true);
}

describe("toColumns / fromColumns", () => {
  it("round-trips any batch of records: fromColumns(toColumns(x)) deep-equals x", () => {
    fc.assert(
      fc.property(records, (rs) => {
        const c = toColumns(rs);
        checkShape(rs, c);
        expect(fromColumns(c)).toEqual(rs);
      }),
      { numRuns: 500 },
    );
  });

  it("round-trips batches whose strings repeat, storing each distinct string once", () => {
    fc.assert(
      fc.property(repetitive, (rs) => {
        const c = toColumns(rs);
        checkShape(rs, c);
        expect(c.strings.length).toBe(sharedStrings(rs).size);
        expect(fromColumns(c)).toEqual(rs);
      }),
      { numRuns: 500 },
    );
  });

  it("round-trips through a structured clone that transfers the numeric arrays (as postMessage does)", () => {
    fc.assert(
      fc.property(fc.oneof(records, repetitive), (rs) => {
        const expected = structuredClone(rs);
        const c = toColumns(rs);
        const copy = viaPostMessage(c);
        // Transferred: the sender's arrays are detached, the records it was built from are untouched.
        expect(c.numbers.byteLength).toBe(0);
        expect(c.refs.byteLength).toBe(0);
        expect(rs).toEqual(expected);
        expect(fromColumns(copy)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps -0, NaN and infinities in the numeric fields", () => {
    const r: AccessRecord = { time: -0, requestId: "r", unitId: "u", key: "k", version: NaN, revision: -Infinity, variant: "", reason: "static", source: "" };
    const [back] = fromColumns(toColumns([r]));
    expect(Object.is(back!.time, -0)).toBe(true);
    expect(back!.version).toBeNaN();
    expect(back!.revision).toBe(-Infinity);
  });

  it("turns an empty batch into empty columns and back", () => {
    const c = toColumns([]);
    expect(c.numbers).toHaveLength(0);
    expect(c.refs).toHaveLength(0);
    expect(c.strings).toEqual([]);
    expect(c.requestIds).toEqual([]);
    expect(c.unitIds).toEqual([]);
    expect(fromColumns(c)).toEqual([]);
    expect(fromColumns(viaPostMessage(toColumns([])))).toEqual([]);
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
    const c = toColumns(rs);
    expect(c.strings.filter((s) => s === "static")).toHaveLength(1);
    expect(c.strings.filter((s) => s === "new")).toHaveLength(1);
    expect([...c.strings].sort()).toEqual([...new Set(["static", "new", "stable", ...REASONS])].sort());
    expect(fromColumns(c)).toEqual(rs);
  });
});
