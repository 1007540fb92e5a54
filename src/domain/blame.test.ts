import { describe, expect, it } from "vitest";
import { blame, BlameWalk, leaves } from "./blame.js";
import type { JsonValue } from "@ctm/core/json";
import type { LogRecord } from "@ctm/core/record";

/** A key's history, oldest first as written; blame() wants newest first. */
function historyOf(...values: (JsonValue | "DELETED")[]): LogRecord[] {
  const records = values.map(
    (v, i): LogRecord => ({
      revision: 10 * (i + 1),
      key: "k",
      version: i + 1,
      ...(v === "DELETED" ? {} : { value: v }),
      deleted: v === "DELETED",
      time: 1000 * (i + 1),
      author: `author${i + 1}`,
      message: "",
      kind: v === "DELETED" ? "delete" : "set",
      cause: "api",
    }),
  );
  return records.reverse();
}

/** path -> version that blame attributes it to. */
const owners = (history: LogRecord[]): Record<string, number> =>
  Object.fromEntries(blame(history).map((l) => [l.path, l.record.version]));

describe("leaves", () => {
  it("maps a scalar to the empty pointer", () => {
    expect([...leaves(5)]).toEqual([["", 5]]);
    expect([...leaves(null)]).toEqual([["", null]]);
  });
  it("keys nested leaves by JSON Pointer, escaping ~ and /", () => {
    expect(Object.fromEntries(leaves({ a: { b: 1 }, "x/y": [true, "s"], "t~": null }))).toEqual({
      "/a/b": 1,
      "/x~1y/0": true,
      "/x~1y/1": "s",
      "/t~0": null,
    });
  });
  it("counts empty containers as leaves", () => {
    expect(Object.fromEntries(leaves({ a: {}, b: [] }))).toEqual({ "/a": {}, "/b": [] });
    expect(Object.fromEntries(leaves([]))).toEqual({ "": [] });
  });
});

describe("blame", () => {
  it("is empty for an empty history or a deleted key", () => {
    expect(blame([])).toEqual([]);
    expect(blame(historyOf({ a: 1 }, "DELETED"))).toEqual([]);
  });

  it("gives every leaf of a single version to that version", () => {
    const h = historyOf({ a: 1, b: { c: 2 } });
    const lines = blame(h);
    expect(lines).toEqual([
      { path: "/a", value: 1, record: h[0] },
      { path: "/b/c", value: 2, record: h[0] },
    ]);
  });

  it("attributes each leaf to the oldest version since which it is unchanged", () => {
    const h = historyOf({ a: 1, b: 1 }, { a: 2, b: 1 }, { a: 2, b: 1, c: 3 });
    expect(owners(h)).toEqual({ "/a": 2, "/b": 1, "/c": 3 });
    // The lines carry the current values and the full records.
    const lines = blame(h);
    expect(lines.find((l) => l.path === "/a")).toMatchObject({ value: 2, record: { version: 2, author: "author2", revision: 20 } });
  });

  it("attributes a scalar value to the path ''", () => {
    expect(owners(historyOf(5, 7, 7, 7))).toEqual({ "": 2 });
  });

  it("does not look past a change, even when an older version had the same value", () => {
    // 1 -> 2 -> 1: the current 1 dates from version 3, not version 1.
    expect(owners(historyOf({ a: 1 }, { a: 2 }, { a: 1 }))).toEqual({ "/a": 3 });
  });

  it("does not look past a tombstone", () => {
    expect(owners(historyOf({ a: 1, b: 2 }, "DELETED", { a: 1, b: 2 }))).toEqual({ "/a": 3, "/b": 3 });
  });

  it("treats a type change at a path as a change", () => {
    expect(owners(historyOf({ a: { x: 1 } }, { a: 1 }))).toEqual({ "/a": 2 });
    expect(owners(historyOf({ a: 1 }, { a: "1" }))).toEqual({ "/a": 2 });
    expect(owners(historyOf({ a: {} }, { a: [] }))).toEqual({ "/a": 2 });
    expect(owners(historyOf(1, { a: 1 }))).toEqual({ "/a": 2 });
  });

  it("tracks array elements by index", () => {
    expect(owners(historyOf([1, 2], [1, 2, 3]))).toEqual({ "/0": 1, "/1": 1, "/2": 2 });
    // Inserting at the front shifts every index: all later elements change.
    expect(owners(historyOf([1, 2], [0, 1, 2]))).toEqual({ "/0": 2, "/1": 2, "/2": 2 });
  });

  it("keeps an unchanged leaf's owner when siblings are added or removed", () => {
    expect(owners(historyOf({ a: 1, gone: true }, { a: 1 }, { a: 1, new: 1 }))).toEqual({ "/a": 1, "/new": 3 });
  });

  it("only reports leaves of the current value", () => {
    const lines = blame(historyOf({ a: 1, b: 2 }, { a: 1 }));
    expect(lines.map((l) => l.path)).toEqual(["/a"]);
  });

  it("stops at the end of the history it was given", () => {
    // A truncated history (the live record first) attributes to the oldest record it holds.
    const h = historyOf({ a: 1 }, { a: 1 }, { a: 1 }).slice(0, 2);
    expect(owners(h)).toEqual({ "/a": 2 });
  });
});

describe("BlameWalk", () => {
  it("gives the same answer fed a page at a time as fed all at once, and says when it is done", () => {
    const h = historyOf({ a: 1, b: 1, c: [1, 2] }, { a: 1, b: 2, c: [1, 2] }, { a: 1, b: 2, c: [1, 3] }, { a: 1, b: 2, c: [1, 3], d: null });
    const walk = new BlameWalk(h[0]!);
    walk.feed(h.slice(1, 2));
    expect(walk.done).toBe(false);
    walk.feed(h.slice(2, 3));
    walk.feed(h.slice(3));
    expect(walk.lines()).toEqual(blame(h));
    expect(walk.done).toBe(false);
    expect(walk.unresolved).toEqual(["/a", "/c/0"]);
    expect(walk.examined).toBe(3);
  });

  it("is done, and reads no further, once every leaf has changed", () => {
    const h = historyOf({ a: 1 }, { a: 2 }, { a: 3 });
    const walk = new BlameWalk(h[0]!);
    walk.feed(h.slice(1));
    expect(walk.done).toBe(true);
    expect(walk.examined).toBe(1);
  });

  it("looks leaves up the way leaves() names them: no array 'length', no leading zeros, no inherited keys", () => {
    expect(owners(historyOf([1, 2], { length: 2 }))).toEqual({ "/length": 2 });
    expect(owners(historyOf({ "01": 5 }, [0, 5], { "01": 5 }))).toEqual({ "/01": 3 });
    expect(owners(historyOf({}, { constructor: {} }))).toEqual({ "/constructor": 2 });
    expect(owners(historyOf({ "a/b": { "~": 1 } }, { "a/b": { "~": 1 } }))).toEqual({ "/a~1b/~0": 1 });
  });
});

describe("BlameWalk scope", () => {
  const [v1, v2] = historyOf({ db: { pool: 10, host: "a" }, cache: { ttl: 5 } }, { db: { pool: 20, host: "a" }, cache: { ttl: 5 } }).reverse();

  it("blames only the leaves at or under a JSON Pointer", () => {
    const walk = new BlameWalk(v2!, "/db");
    walk.feed([v1!]);
    expect(walk.found).toBe(true);
    expect(walk.lines().map((l) => [l.path, l.value, l.record.version])).toEqual([
      ["/db/pool", 20, 2],
      ["/db/host", "a", 1],
    ]);
    const leaf = new BlameWalk(v2!, "/cache/ttl");
    leaf.feed([v1!]);
    expect(leaf.lines().map((l) => [l.path, l.record.version])).toEqual([["/cache/ttl", 1]]);
  });

  it("says when the pointer names nothing", () => {
    expect(new BlameWalk(v2!, "/nope").found).toBe(false);
    expect(new BlameWalk(v2!, "/db/pool/x").found).toBe(false);
    expect(new BlameWalk(v2!, "/db/pool/x").done).toBe(true);
  });

  it("walks only the first maxLeaves leaves, in document order, and says there were more", () => {
    const [big] = historyOf({ list: Array.from({ length: 50 }, (_, i) => i) });
    const walk = new BlameWalk(big!, "", 10);
    expect(walk.truncated).toBe(true);
    expect(walk.lines().map((l) => l.path)).toEqual(Array.from({ length: 10 }, (_, i) => `/list/${i}`));
    expect(new BlameWalk(big!, "", 50).truncated).toBe(false);
    expect(leaves({ a: [1, 2, 3], b: 4 }, "", new Map(), 2).size).toBe(2);
  });
});
