import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BUCKETING_ALGORITHM,
  BUCKETS,
  bucket,
  inPercentage,
  murmur3,
  pickVariant,
  roundHalfUp,
  thresholdFor,
  variantBucket,
} from "./bucketing.js";

interface VectorCase {
  salt: string;
  unit_id: string;
  bucket: number;
  variant_bucket: number;
  in: Record<string, boolean>;
}
interface VectorFile {
  algorithm: string;
  description: string;
  buckets: number;
  percentages: string[];
  cases: VectorCase[];
  thresholds: { percent: number; threshold: number }[];
  variants: {
    salt: string;
    variants: { name: string; weight: number }[];
    picks: { unit_id: string; variant_bucket: number; variant: string | null }[];
  }[];
}

const vectors = JSON.parse(
  readFileSync(new URL("../../../test/vectors/bucketing.json", import.meta.url), "utf8"),
) as VectorFile;

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
/** The rule spelled out with fresh allocations, to compare the reused-buffer path with. */
const naiveBucket = (salt: string, unit: string): number =>
  Math.floor((murmur3(utf8(salt + "\0" + unit)) * 100000) / 2 ** 32);

/** Characters that stress encoding: NUL, 2/3/4-byte UTF-8, combining, RTL, lone surrogates. */
const trickyChar = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  fc.constantFrom("\0", "é", "e\u0301", "中", "😀", "👩‍💻", "ש", "\u202e", "\ud800", "\udc00", "\uffff"),
  fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }),
);
const unitId = fc.oneof(
  fc.string({ unit: trickyChar, maxLength: 40 }),
  fc.nat().map((n) => `user-${n}`),
  fc.uuid(),
);
const salt = fc.oneof(fc.string({ unit: trickyChar, maxLength: 30 }), fc.constantFrom("checkout.new-flow", ""));
const percent = fc.double({ min: 0, max: 100, noNaN: true });
const weights = fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1000, noNaN: true })), {
  minLength: 1,
  maxLength: 6,
});
const named = (ws: readonly number[]) => ws.map((weight, i) => ({ name: `v${i}`, weight }));

describe("murmur3", () => {
  it("matches the published murmur3_x86_32 values (seed 0)", () => {
    expect(murmur3(utf8(""))).toBe(0);
    expect(murmur3(utf8("hello"))).toBe(0x248bfa47);
    expect(murmur3(utf8("The quick brown fox jumps over the lazy dog"))).toBe(0x2e4ff723);
    expect(murmur3(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toBe(0x76293b50);
    expect(murmur3(new Uint8Array([0x21, 0x43, 0x65, 0x87]))).toBe(0xf55b516b);
    expect(murmur3(new Uint8Array([0x21, 0x43, 0x65]))).toBe(0x7e4a8634);
    expect(murmur3(new Uint8Array([0x21, 0x43]))).toBe(0xa0f7b07a);
    expect(murmur3(new Uint8Array([0x21]))).toBe(0x72661cf4);
    expect(murmur3(new Uint8Array([0, 0, 0, 0]))).toBe(0x2362f9de);
  });

  it("hashes a view's bytes only (offset and length of a subarray are honoured)", () => {
    const big = utf8("xxhelloyy");
    expect(murmur3(big.subarray(2, 7))).toBe(0x248bfa47);
    expect(murmur3(Buffer.from("hello"))).toBe(0x248bfa47);
  });

  it("hashes UTF-8 bytes, not UTF-16 code units", () => {
    // murmurhash3js (not -revisited) would hash the low byte of each char code instead.
    expect(murmur3(utf8("é"))).toBe(murmur3(new Uint8Array([0xc3, 0xa9])));
    expect(murmur3(utf8("é"))).not.toBe(murmur3(new Uint8Array([0xe9])));
  });
});

describe("known-answer vectors", () => {
  it("are the vectors of this algorithm, with enough cases", () => {
    expect(vectors.algorithm).toBe(BUCKETING_ALGORITHM);
    expect(BUCKETING_ALGORITHM).toBe("murmur3_x86_32/v1");
    expect(vectors.buckets).toBe(BUCKETS);
    expect(BUCKETS).toBe(100_000);
    expect(vectors.cases.length).toBeGreaterThanOrEqual(240);
    const nonAscii = vectors.cases.filter((c) => /[^\x00-\x7f]/.test(c.salt + c.unit_id));
    expect(nonAscii.length).toBeGreaterThanOrEqual(60);
    expect(vectors.cases.some((c) => c.unit_id === "")).toBe(true);
    expect(vectors.cases.some((c) => c.unit_id.includes("\0"))).toBe(true);
    expect(vectors.cases.some((c) => /[\u{10000}-\u{10ffff}]/u.test(c.unit_id))).toBe(true);
    expect(vectors.cases.some((c) => c.unit_id.length > 20_000)).toBe(true);
  });

  it("bucket, variant bucket and every in/out answer match", () => {
    for (const c of vectors.cases) {
      const where = JSON.stringify([c.salt.slice(0, 40), c.unit_id.slice(0, 40)]);
      const b = bucket(c.salt, c.unit_id);
      expect(b, where).toBe(c.bucket);
      expect(variantBucket(c.salt, c.unit_id), where).toBe(c.variant_bucket);
      expect(Object.keys(c.in).sort(), where).toEqual([...vectors.percentages].sort());
      for (const [p, expected] of Object.entries(c.in)) {
        expect(inPercentage(b, Number(p)), `${where} at ${p}%`).toBe(expected);
      }
    }
  });

  it("cover both sides of every percentage threshold", () => {
    const buckets = new Set(vectors.cases.map((c) => c.bucket));
    for (const p of vectors.percentages) {
      const t = thresholdFor(Number(p));
      if (t > 0) expect(buckets.has(t - 1), `${p}: bucket ${t - 1}`).toBe(true);
      if (t < BUCKETS) expect(buckets.has(t), `${p}: bucket ${t}`).toBe(true);
    }
  });

  it("thresholds match, ties rounding up", () => {
    for (const { percent: p, threshold } of vectors.thresholds) expect(thresholdFor(p), String(p)).toBe(threshold);
  });

  it("every variant pick matches", () => {
    for (const set of vectors.variants) {
      for (const pick of set.picks) {
        const where = `${set.salt} ${JSON.stringify(pick.unit_id.slice(0, 40))}`;
        expect(variantBucket(set.salt, pick.unit_id), where).toBe(pick.variant_bucket);
        const got = pickVariant(set.salt, pick.unit_id, set.variants);
        expect(got?.name ?? null, where).toBe(pick.variant);
        if (got) expect(set.variants).toContain(got); // the element itself, not a copy
      }
    }
  });
});

describe("thresholds and rounding", () => {
  it("rounds ties up, never to even", () => {
    expect(roundHalfUp(0.5)).toBe(1);
    expect(roundHalfUp(2.5)).toBe(3);
    expect(roundHalfUp(0.49999999999999994)).toBe(0);
    expect(thresholdFor(0.0005)).toBe(1);
    expect(thresholdFor(0.0025)).toBe(3);
    expect(thresholdFor(12.5)).toBe(12_500);
    expect(thresholdFor(0.001)).toBe(1);
    expect(thresholdFor(99.999)).toBe(99_999);
  });

  it("clamps to [0, BUCKETS] and fails closed on NaN", () => {
    expect(thresholdFor(0)).toBe(0);
    expect(thresholdFor(-5)).toBe(0);
    expect(thresholdFor(Number.NaN)).toBe(0);
    expect(thresholdFor(Number.NEGATIVE_INFINITY)).toBe(0);
    expect(thresholdFor(100)).toBe(BUCKETS);
    expect(thresholdFor(250)).toBe(BUCKETS);
    expect(thresholdFor(Number.POSITIVE_INFINITY)).toBe(BUCKETS);
    expect(inPercentage(0, 0)).toBe(false);
    expect(inPercentage(0, 0.001)).toBe(true);
    expect(inPercentage(BUCKETS - 1, 100)).toBe(true);
    expect(inPercentage(BUCKETS - 1, 99.999)).toBe(false);
  });

  it("is monotonic in the percentage", () => {
    fc.assert(
      fc.property(percent, percent, (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(thresholdFor(lo)).toBeLessThanOrEqual(thresholdFor(hi));
      }),
    );
  });
});

describe("bucket properties", () => {
  it("is an integer in [0, BUCKETS), equal to the rule computed with fresh buffers", () => {
    fc.assert(
      fc.property(salt, unitId, (s, u) => {
        const b = bucket(s, u);
        expect(Number.isInteger(b) && b >= 0 && b < BUCKETS).toBe(true);
        expect(b).toBe(naiveBucket(s, u));
        expect(variantBucket(s, u)).toBe(naiveBucket(s + "\0variant", u));
      }),
      { numRuns: 500 },
    );
  });

  it("is sticky: the same (salt, unit) always gets the same bucket and variant", () => {
    const huge = "é".repeat(40_000); // takes the fallback path, replacing nothing
    fc.assert(
      fc.property(salt, unitId, unitId, weights, (s, u, other, ws) => {
        const vs = named(ws);
        const b = bucket(s, u);
        const vb = variantBucket(s, u);
        const v = pickVariant(s, u, vs);
        // Interleave other work that uses (and may grow) the shared scratch buffer.
        bucket(other, u + other + u);
        bucket(s, huge);
        variantBucket(u, "x".repeat(2000));
        expect(bucket(s, u)).toBe(b);
        expect(variantBucket(s, u)).toBe(vb);
        expect(pickVariant(s, u, vs)).toBe(v);
        expect(pickVariant(s, u, named(ws))?.name).toBe(v?.name);
      }),
      { numRuns: 300 },
    );
  });

  it("is monotonic: in at p1 <= p2 implies in at p2", () => {
    fc.assert(
      fc.property(salt, unitId, percent, percent, (s, u, a, b) => {
        const [p1, p2] = a <= b ? [a, b] : [b, a];
        const bk = bucket(s, u);
        if (inPercentage(bk, p1)) expect(inPercentage(bk, p2)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  const units = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? `user-${i}` : i % 3 === 1 ? `用户-${i}-é` : `😀${i}`));
  const ramp = fc.array(percent, { minLength: 1, maxLength: 20 });

  it("never flaps along an increasing ramp: once in, a unit stays in", () => {
    fc.assert(
      fc.property(salt, ramp, (s, steps) => {
        const ps = [...steps].sort((x, y) => x - y);
        const buckets = units.map((u) => bucket(s, u));
        const wasIn = new Array<boolean>(units.length).fill(false);
        for (const p of ps) {
          buckets.forEach((b, i) => {
            const now = inPercentage(b, p);
            if (wasIn[i]) expect(now, `${units[i]} left at ${p}%`).toBe(true);
            wasIn[i] = now;
          });
        }
      }),
      { numRuns: 100 },
    );
  });

  it("ramps down last in, first out: units leave in descending bucket order", () => {
    fc.assert(
      fc.property(salt, ramp, (s, steps) => {
        const ps = [100, ...steps].sort((x, y) => y - x);
        const buckets = units.map((u) => bucket(s, u));
        let inside = new Set(buckets.map((_, i) => i));
        let lowestLeaver = Number.POSITIVE_INFINITY; // the smallest bucket that has left so far
        for (const p of ps) {
          const stay = new Set([...inside].filter((i) => inPercentage(buckets[i]!, p)));
          const leavers = [...inside].filter((i) => !stay.has(i)).map((i) => buckets[i]!);
          const stayers = [...stay].map((i) => buckets[i]!);
          // Everyone leaving now sits above everyone staying, and not above anyone who left earlier.
          if (leavers.length > 0) {
            expect(Math.min(...leavers)).toBeGreaterThan(Math.max(-1, ...stayers));
            expect(Math.max(...leavers)).toBeLessThanOrEqual(lowestLeaver);
            lowestLeaver = Math.min(...leavers);
          }
          inside = stay;
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe("pickVariant", () => {
  it("gives no variant without variants or weight", () => {
    expect(pickVariant("s", "u", [])).toBeUndefined();
    expect(pickVariant("s", "u", named([0, 0]))).toBeUndefined();
    expect(pickVariant("s", "u", named([-1, Number.NaN]))).toBeUndefined();
  });

  it("always picks a lone weighted variant and never a zero-weight one", () => {
    fc.assert(
      fc.property(salt, unitId, weights, (s, u, ws) => {
        const vs = named(ws);
        const v = pickVariant(s, u, vs);
        if (ws.every((w) => w === 0)) {
          expect(v).toBeUndefined();
          return;
        }
        expect(v).toBeDefined();
        expect(v!.weight).toBeGreaterThan(0);
        expect(pickVariant(s, u, [{ name: "only", weight: 3 }])?.name).toBe("only");
      }),
      { numRuns: 500 },
    );
  });

  it("picks the variant whose cumulative boundary range holds the variant bucket", () => {
    fc.assert(
      fc.property(salt, unitId, weights, (s, u, ws) => {
        const total = ws.reduce((a, w) => a + w, 0);
        fc.pre(total > 0);
        let cum = 0;
        const bounds = ws.map((w) => Math.round(((cum += w) / total) * BUCKETS));
        expect(bounds.at(-1)).toBe(BUCKETS);
        const vb = variantBucket(s, u);
        const i = bounds.findIndex((b) => b > vb);
        expect(pickVariant(s, u, named(ws))?.name).toBe(`v${i}`);
        expect(i === 0 ? 0 : bounds[i - 1]!).toBeLessThanOrEqual(vb);
      }),
      { numRuns: 500 },
    );
  });

  it("treats negative, NaN and infinite weights as 0", () => {
    for (let i = 0; i < 200; i++) {
      const vs = [
        { name: "neg", weight: -5 },
        { name: "nan", weight: Number.NaN },
        { name: "inf", weight: Number.POSITIVE_INFINITY },
        { name: "real", weight: 1 },
      ];
      expect(pickVariant("s", `user-${i}`, vs)?.name).toBe("real");
    }
  });
});

describe("distribution over a fixed set of 100,000 ids", () => {
  const N = 100_000;
  const SALT = "checkout.new-flow";
  const ids = Array.from({ length: N }, (_, i) => `user-${i}`);
  const buckets = ids.map((u) => bucket(SALT, u));
  const share = (count: number, of: number) => (100 * count) / of;

  it("puts p% of units (±0.5 points) in a p% rollout", () => {
    for (const p of [1, 5, 10, 25, 50, 75, 90]) {
      const inside = buckets.filter((b) => inPercentage(b, p)).length;
      expect(Math.abs(share(inside, N) - p), `${p}%: ${share(inside, N)}`).toBeLessThanOrEqual(0.5);
    }
  });

  const WEIGHT_SETS = [
    [
      { name: "a", weight: 50 },
      { name: "b", weight: 30 },
      { name: "c", weight: 20 },
    ],
    [
      { name: "a", weight: 1 },
      { name: "b", weight: 1 },
      { name: "c", weight: 1 },
    ],
  ];

  const counts = (names: (string | undefined)[]) => {
    const m = new Map<string, number>();
    for (const n of names) if (n !== undefined) m.set(n, (m.get(n) ?? 0) + 1);
    return m;
  };
  const expectSplit = (names: (string | undefined)[], vs: { name: string; weight: number }[], label: string) => {
    const total = vs.reduce((a, v) => a + v.weight, 0);
    const c = counts(names);
    for (const v of vs) {
      const got = share(c.get(v.name) ?? 0, names.length);
      expect(Math.abs(got - (100 * v.weight) / total), `${label} ${v.name}: ${got}`).toBeLessThanOrEqual(1);
    }
  };

  it("splits variants by weight (±1 point)", () => {
    for (const vs of WEIGHT_SETS) {
      expectSplit(ids.map((u) => pickVariant(SALT, u, vs)?.name), vs, JSON.stringify(vs));
    }
  });

  it("assigns variants independently of canary membership", () => {
    const CANARY = 20;
    for (const vs of WEIGHT_SETS) {
      const picked = ids.map((u) => pickVariant(SALT, u, vs)!.name);
      const inCanary = buckets.map((b) => inPercentage(b, CANARY));
      const inside = picked.filter((_, i) => inCanary[i]);
      const outside = picked.filter((_, i) => !inCanary[i]);
      expect(Math.abs(share(inside.length, N) - CANARY)).toBeLessThanOrEqual(0.5);
      expectSplit(inside, vs, "inside the canary");
      expectSplit(outside, vs, "outside the canary");
      for (const v of vs) {
        const members = picked.map((n, i) => (n === v.name ? i : -1)).filter((i) => i >= 0);
        const rate = share(members.filter((i) => inCanary[i]).length, members.length);
        expect(Math.abs(rate - CANARY), `canary rate within ${v.name}: ${rate}`).toBeLessThanOrEqual(1);
      }
    }
  });
});
