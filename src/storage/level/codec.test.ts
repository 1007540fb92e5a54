import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { JsonValue } from "@ctm/core/json";
import { checkValue } from "../../domain/limits.js";
import type { LogRecord } from "@ctm/core/record";
import { decodeRecord, encodeRecord, keyNum, MAX_U64, putU64, readU64, timeRev, u64 } from "./codec.js";

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const num = fc.oneof(fc.maxSafeNat(), fc.nat(1000), fc.constantFrom(0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, MAX_U64));

/** Keys from the key alphabet, biased towards the separators that sort near \0. */
const keyArb = fc.stringMatching(/^[a-c0_][a-c0._\-/:]{0,6}$/);

describe("putU64", () => {
  it("writes exactly u64(n)'s bytes at the offset and nothing around them", () => {
    fc.assert(
      fc.property(num, fc.nat(6), (n, at) => {
        const b = Buffer.alloc(at + 10, 0xaa);
        putU64(b, at, n);
        expect(b.subarray(at, at + 8)).toEqual(u64(n));
        expect([...b.subarray(0, at), ...b.subarray(at + 8)].every((x) => x === 0xaa)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("rejects what u64 rejects (negative or fractional numbers)", () => {
    for (const n of [-1, 1.5, NaN, -0.5]) {
      expect(() => u64(n)).toThrow();
      expect(() => putU64(Buffer.alloc(8), 0, n)).toThrow();
    }
  });
});

describe("u64", () => {
  it("is 8 bytes, big-endian", () => {
    expect(u64(0)).toEqual(Buffer.alloc(8));
    expect(u64(1)).toEqual(Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]));
    expect(u64(256)).toEqual(Buffer.from([0, 0, 0, 0, 0, 0, 1, 0]));
    expect(u64(MAX_U64)).toHaveLength(8);
  });

  it("writes the unsigned 64-bit big-endian integer, and reads back as it was", () => {
    fc.assert(
      fc.property(num, (n) => {
        const big = Buffer.alloc(8);
        big.writeBigUInt64BE(BigInt(n));
        expect(u64(n)).toEqual(big);
        expect(readU64(u64(n))).toBe(n);
      }),
      { numRuns: 1000 },
    );
    expect(u64(2 ** 53 - 1)).toEqual(Buffer.from([0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  });

  it("orders bytes as numbers: compare(u64(a), u64(b)) = sign(a - b)", () => {
    fc.assert(
      fc.property(num, num, (a, b) => {
        expect(Buffer.compare(u64(a), u64(b))).toBe(sign(a - b));
      }),
      { numRuns: 1000 },
    );
  });

  it("reads back what it wrote, at any offset of any view", () => {
    fc.assert(
      fc.property(num, fc.uint8Array({ maxLength: 5 }), (n, pad) => {
        expect(readU64(u64(n))).toBe(n);
        const buf = Buffer.concat([Buffer.from(pad), u64(n), Buffer.from([9])]);
        expect(readU64(buf, pad.length)).toBe(n);
        // A subarray with a non-zero byteOffset into a larger buffer.
        expect(readU64(buf.subarray(pad.length, pad.length + 8))).toBe(n);
        expect(readU64(new Uint8Array(buf.buffer, buf.byteOffset + pad.length, 8))).toBe(n);
      }),
    );
  });
});

describe("keyNum", () => {
  it("ends with the number, so the number can be read from the last 8 bytes", () => {
    fc.assert(
      fc.property(keyArb, num, (k, n) => {
        const b = keyNum(k, n);
        expect(readU64(b, b.length - 8)).toBe(n);
        expect(b.subarray(0, b.length - 9).toString("utf8")).toBe(k);
      }),
    );
  });

  it("keeps each key's entries contiguous and in number order: a, a.b, a/b, a-, a0, ab", () => {
    const keys = ["a", "a.b", "a/b", "a-", "a0", "ab", "a:b", "a_b", "a.", "b", "A", "_a"];
    const nums = [0, 1, 2, 255, 256, 65_536, 2 ** 32, MAX_U64];
    const entries = keys.flatMap((k) => nums.map((n) => ({ k, n, b: keyNum(k, n) })));
    entries.sort((x, y) => Buffer.compare(x.b, y.b));
    // Each key occupies one run, and inside it the numbers ascend.
    const runs: string[] = [];
    for (const e of entries) if (runs[runs.length - 1] !== e.k) runs.push(e.k);
    expect(runs).toHaveLength(keys.length);
    expect(new Set(runs).size).toBe(keys.length);
    for (const k of keys) expect(entries.filter((e) => e.k === k).map((e) => e.n)).toEqual(nums);
    // "a" sorts before its own extensions: its range [a\0 0, a\0 MAX] holds nothing else.
    for (const k of keys) {
      const inRange = entries.filter((e) => Buffer.compare(e.b, keyNum(k, 0)) >= 0 && Buffer.compare(e.b, keyNum(k, MAX_U64)) <= 0);
      expect(inRange.every((e) => e.k === k)).toBe(true);
      expect(inRange).toHaveLength(nums.length);
    }
  });

  it("a key's range holds exactly that key's entries, for any keys (property)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(keyArb, num), { minLength: 1, maxLength: 30 }), keyArb, ([...pairs], probe) => {
        const lo = keyNum(probe, 0);
        const hi = keyNum(probe, MAX_U64);
        for (const [k, n] of pairs) {
          const b = keyNum(k, n);
          const inside = Buffer.compare(b, lo) >= 0 && Buffer.compare(b, hi) <= 0;
          expect(inside).toBe(k === probe);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("orders entries of one key by number (property)", () => {
    fc.assert(
      fc.property(keyArb, num, num, (k, a, b) => {
        expect(Buffer.compare(keyNum(k, a), keyNum(k, b))).toBe(sign(a - b));
      }),
    );
  });
});

describe("timeRev", () => {
  it("orders by time, then by revision", () => {
    fc.assert(
      fc.property(num, num, num, num, (t1, r1, t2, r2) => {
        const expected = t1 !== t2 ? sign(t1 - t2) : sign(r1 - r2);
        expect(Buffer.compare(timeRev(t1, r1), timeRev(t2, r2))).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe("record encoding", () => {
  const base: LogRecord = {
    revision: 7,
    key: "db.pool_size",
    version: 3,
    value: { size: 20, hosts: ["a", "b"], tls: true, ratio: 0.25, note: null, "ключ": "значение 😀" },
    deleted: false,
    time: 1_700_000_000_123,
    author: "alice",
    message: "bump",
    kind: "set",
    cause: "api",
  };

  it("decodes what it encoded", () => {
    expect(decodeRecord(encodeRecord(base))).toEqual(base);
  });

  it("keeps optional fields absent, not undefined", () => {
    const tomb: LogRecord = { ...base, kind: "delete", deleted: true, value: undefined };
    delete (tomb as { value?: unknown }).value;
    const back = decodeRecord(encodeRecord(tomb));
    expect(back).toEqual(tomb);
    expect(Object.hasOwn(back, "value")).toBe(false);
    expect(Object.hasOwn(back, "rolledBackTo")).toBe(false);
  });

  it("keeps rolledBackTo and large revisions", () => {
    const r: LogRecord = { ...base, kind: "rollback", rolledBackTo: 2, revision: MAX_U64, time: 2 ** 50 + 3 };
    expect(decodeRecord(encodeRecord(r))).toEqual(r);
  });

  it("decodes from a Uint8Array view into a larger buffer", () => {
    const bytes = encodeRecord(base);
    const big = Buffer.concat([Buffer.from([1, 2, 3]), bytes]);
    expect(decodeRecord(big.subarray(3))).toEqual(base);
  });

  it("never stores a value it cannot read back: a __proto__ member is rejected or round-trips", () => {
    for (const text of ['{"__proto__": 1}', '{"a": [{"__proto__": {"x": 1}}]}']) {
      const value = JSON.parse(text) as JsonValue;
      let accepted = true;
      try {
        checkValue(value);
      } catch {
        accepted = false;
      }
      if (accepted) expect(JSON.stringify(decodeRecord(encodeRecord({ ...base, value })).value)).toBe(JSON.stringify(value));
    }
  });

  it("round-trips every value checkValue accepts (property)", () => {
    const accepted = (fc.jsonValue() as fc.Arbitrary<JsonValue>).filter((v) => {
      try {
        checkValue(v);
        return true;
      } catch {
        return false;
      }
    });
    fc.assert(
      fc.property(accepted, (value) => {
        const r: LogRecord = { ...base, value };
        // -0 and 0 are the same JSON number; compare as JSON.
        expect(JSON.parse(JSON.stringify(decodeRecord(encodeRecord(r))))).toEqual(JSON.parse(JSON.stringify(r)));
      }),
      { numRuns: 500 },
    );
  });
});
