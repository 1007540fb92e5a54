/**
 * The shared bucketing known-answer vectors (test/vectors/bucketing.json), from the SDK's
 * side: through its public exports, and end to end through its local evaluation of Entries
 * that went over the wire (protobuf-encoded and decoded with the SDK's own stubs).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BUCKETING_ALGORITHM,
  BUCKETS,
  bucket,
  evaluateEntry,
  inPercentage,
  pickVariant,
  thresholdFor,
  variantBucket,
} from "../../clients/ts/src/index.js";
import { Entry, RecordKind } from "../../clients/ts/src/gen/ctm/v1/record.js";
import type { RolloutPlan } from "../../clients/ts/src/gen/ctm/v1/rollout.js";

interface Vectors {
  algorithm: string;
  buckets: number;
  percentages: string[];
  cases: { salt: string; unit_id: string; bucket: number; variant_bucket: number; in: Record<string, boolean> }[];
  thresholds: { percent: number; threshold: number }[];
  variants: { salt: string; variants: { name: string; weight: number }[]; picks: { unit_id: string; variant_bucket: number; variant: string | null }[] }[];
}

const vectors = JSON.parse(readFileSync(resolve(import.meta.dirname, "../vectors/bucketing.json"), "utf8")) as Vectors;

const STARTED = Date.parse("2026-11-21T09:00:00Z");

/** An Entry as the daemon sends it for a rolling key, after a trip through protobuf. */
function wireEntry(plan: Partial<RolloutPlan>): Entry {
  const e = Entry.fromPartial({
    key: "vectors.flag",
    value: true,
    version: 2,
    revision: 7,
    time: new Date(STARTED),
    kind: RecordKind.RECORD_KIND_SET,
    cause: "api",
    rollout: {
      plan: { stable: false, ...plan },
      state: { startedAt: new Date(STARTED), paused: false, shift: { seconds: 0, nanos: 0 }, promotedRings: 0, killed: false, milestones: 0 },
    },
  });
  return Entry.decode(Entry.encode(e).finish());
}

describe("bucketing known-answer vectors from the SDK", () => {
  it("are the vectors of the SDK's algorithm", () => {
    expect(vectors.algorithm).toBe(BUCKETING_ALGORITHM);
    expect(vectors.buckets).toBe(BUCKETS);
    expect(vectors.cases.length).toBeGreaterThanOrEqual(240);
  });

  it("the SDK's bucket, variant bucket, thresholds and in/out answers match every case", () => {
    for (const c of vectors.cases) {
      const where = JSON.stringify([c.salt.slice(0, 30), c.unit_id.slice(0, 30)]);
      expect(bucket(c.salt, c.unit_id), where).toBe(c.bucket);
      expect(variantBucket(c.salt, c.unit_id), where).toBe(c.variant_bucket);
      for (const [p, want] of Object.entries(c.in)) expect(inPercentage(c.bucket, Number(p)), `${where} ${p}%`).toBe(want);
    }
    for (const t of vectors.thresholds) expect(thresholdFor(t.percent), String(t.percent)).toBe(t.threshold);
  });

  it("local evaluation of a wire Entry puts every unit in or out of the rollout as the vectors say", () => {
    let checked = 0;
    for (const p of vectors.percentages) {
      const byPercent = new Map<string, Entry>(); // one entry per salt
      for (const c of vectors.cases) {
        let e = byPercent.get(c.salt);
        if (e === undefined) {
          e = wireEntry({ salt: c.salt, percentage: { $case: "steps", value: { start: Number(p), increment: 1, interval: { seconds: 3600, nanos: 0 }, target: 100 } } });
          byPercent.set(c.salt, e);
        }
        const r = evaluateEntry(e, { unitId: c.unit_id }, STARTED);
        const want = c.in[p]!;
        expect([r.value, r.variant, r.reason], `${JSON.stringify(c.unit_id.slice(0, 30))} at ${p}%`).toEqual(
          want ? [true, "new", "in_rollout"] : [false, "stable", "out_of_rollout"],
        );
        checked++;
      }
    }
    expect(checked).toBe(vectors.cases.length * vectors.percentages.length);
  });

  it("variant picks match, through wire Entries wherever the weights fit the protocol's uint32", () => {
    let wire = 0;
    for (const set of vectors.variants) {
      for (const pick of set.picks) {
        expect(variantBucket(set.salt, pick.unit_id)).toBe(pick.variant_bucket);
        expect(pickVariant(set.salt, pick.unit_id, set.variants)?.name ?? null).toBe(pick.variant);
      }
      if (!set.variants.every((v) => Number.isInteger(v.weight) && v.weight >= 0)) continue;
      const e = wireEntry({ salt: set.salt, variants: set.variants.map((v) => ({ name: v.name, weight: v.weight, value: `value-of-${v.name}` })) });
      for (const pick of set.picks) {
        const r = evaluateEntry(e, { unitId: pick.unit_id }, STARTED);
        if (pick.variant === null) expect([r.value, r.variant, r.reason]).toEqual([true, "new", "in_rollout"]);
        else expect([r.value, r.variant, r.reason]).toEqual([`value-of-${pick.variant}`, pick.variant, "variant"]);
        wire++;
      }
    }
    expect(wire).toBeGreaterThanOrEqual(200);
  });
});
