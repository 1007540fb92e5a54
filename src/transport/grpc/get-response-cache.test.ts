import { describe, expect, it } from "vitest";
import type { LogRecord } from "@ctm/core/record";
import type { Resolution } from "@ctm/core/rollout/plan";
import { GetResponse } from "../../gen/ctm/v1/config_service.js";
import { Reason } from "../../gen/ctm/v1/rollout.js";
import { ANSWERS_PER_RECORD, GetResponseCache } from "./get-response-cache.js";

const record = (version: number, value: LogRecord["value"]): LogRecord => ({
  revision: version + 10,
  key: "app/flags/checkout",
  version,
  value,
  deleted: false,
  time: Date.UTC(2026, 0, 1),
  author: "ana",
  message: "m",
  kind: "set",
  cause: "api",
});

const stat = (r: LogRecord): Resolution => ({ value: r.value, variant: "", reason: "static" });

/** A header at head revision `revision`, never compacted. */
const at = (revision: number) => ({ revision, oldestRevision: 1 });

describe("GetResponseCache", () => {
  it("answers the GetResponse ts-proto would encode: header, entry, value, variant, reason", () => {
    const r = record(3, { on: true, tiers: ["a", "b"] });
    const got = GetResponse.decode(new GetResponseCache().bytes(r, at(42), { value: "new", variant: "b", reason: "variant" }));
    expect(got.header?.revision).toBe(42);
    expect(got.entry).toMatchObject({ key: "app/flags/checkout", version: 3, revision: 13, value: { on: true, tiers: ["a", "b"] }, author: "ana" });
    expect(got.value).toBe("new");
    expect(got.variant).toBe("b");
    expect(got.reason).toBe(Reason.REASON_VARIANT);
  });

  it("serves the same bytes for the same answer, and new bytes once the head revision moves", () => {
    const cache = new GetResponseCache();
    const r = record(1, { n: 1 });
    const a = cache.bytes(r, at(5), stat(r));
    expect(cache.bytes(r, at(5), stat(r))).toBe(a);
    const b = cache.bytes(r, at(6), stat(r));
    expect(b).not.toBe(a);
    expect(GetResponse.decode(b).header?.revision).toBe(6);
    expect(GetResponse.decode(cache.bytes(r, at(5), stat(r))).header?.revision).toBe(5);
  });

  it("keeps answers that differ in value, variant or reason apart", () => {
    const cache = new GetResponseCache();
    const r = record(2, 10);
    const answers: Resolution[] = [
      { value: 10, variant: "", reason: "static" },
      { value: 10, variant: "new", reason: "in_rollout" },
      { value: 7, variant: "stable", reason: "out_of_rollout" },
      { value: 7, variant: "stable", reason: "pinned" },
      { value: 8.5, variant: "", reason: "in_rollout" },
    ];
    for (let round = 0; round < 2; round++) {
      for (const a of answers) {
        const got = GetResponse.decode(cache.bytes(r, at(9), a));
        expect([got.value, got.variant]).toEqual([a.value, a.variant]);
      }
    }
  });

  it("still answers correctly past the per-record limit (interpolated numbers are many)", () => {
    const cache = new GetResponseCache();
    const r = record(4, 100);
    for (let v = 0; v < 100; v++) expect(GetResponse.decode(cache.bytes(r, at(1), { value: v, variant: "", reason: "in_rollout" })).value).toBe(v);
  });

  it("keeps at most ANSWERS_PER_RECORD answers per record, however many distinct ones are asked for", () => {
    const cache = new GetResponseCache();
    const r = record(5, 100);
    for (let v = 0; v < 1000; v++) cache.bytes(r, at(1), { value: v, variant: `variant-${v}`, reason: "in_rollout" });
    expect(cache.kept(r)).toBe(ANSWERS_PER_RECORD);
    // A new head revision starts the list over rather than adding to it.
    cache.bytes(r, at(2), stat(r));
    expect(cache.kept(r)).toBe(1);
  });
});
