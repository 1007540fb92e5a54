import { describe, expect, it } from "vitest";
import { makeRecord, type Draft } from "./record.js";

const base: Draft = { key: "k", value: { a: 1 }, deleted: false, author: "ana", message: "m", kind: "set", cause: "api" };

describe("makeRecord", () => {
  it("holds the draft's fields and the store's revision, version and time, and no undefined field", () => {
    const r = makeRecord({ ...base, rolledBackTo: undefined, principal: undefined }, 7, 3, 1000);
    expect(r).toStrictEqual({ ...base, revision: 7, version: 3, time: 1000 });
    expect(Object.keys(r)).not.toContain("rolledBackTo");
    expect(Object.keys(r)).not.toContain("principal");
  });

  it("keeps every optional field a draft has", () => {
    const full: Draft = { ...base, rolledBackTo: 2, principal: "token:ci", breakGlass: true, changeRequest: "cr-1", rollout: { plan: { stable: 0 } } as unknown as Draft["rollout"] };
    expect(makeRecord(full, 1, 1, 5)).toStrictEqual({ ...full, revision: 1, version: 1, time: 5 });
    // A tombstone has no value.
    const { value: _, ...tombstone } = base;
    expect("value" in makeRecord({ ...tombstone, deleted: true, kind: "delete" }, 2, 2, 5)).toBe(false);
  });

  it("sets the fields in one order, whatever the draft's", () => {
    const reordered: Draft = { cause: "api", kind: "set", message: "m", author: "ana", deleted: false, value: { a: 1 }, key: "k" };
    expect(Object.keys(makeRecord(reordered, 1, 1, 1))).toEqual(Object.keys(makeRecord(base, 2, 2, 2)));
  });
});
