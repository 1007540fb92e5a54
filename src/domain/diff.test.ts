import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyPatch, diffValues, type PatchOp } from "./diff.js";
import type { JsonValue } from "@ctm/core/json";

/**
 * JSON equality as RFC 6902 "test" defines it: numbers compare numerically, so
 * -0 equals 0 (JSON text cannot tell them apart either). Everything else is
 * structural, with object key order ignored.
 */
const asJson = (v: JsonValue | undefined): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/** A member named "__proto__" anywhere: checkValue refuses such values, so none is ever stored or diffed. */
const holdsProto = (v: unknown): boolean =>
  typeof v === "object" && v !== null && (Object.hasOwn(v, "__proto__") || Object.values(v).some(holdsProto));

/** Any JSON value a key can hold. */
const anyJson = (fc.jsonValue() as fc.Arbitrary<JsonValue>).filter((v) => !holdsProto(v));

// An independent RFC 6902 applier (add/remove/replace, which is what diffValues
// emits), written from the RFC rather than taken from fast-json-patch, so that
// the diff is not only checked by the library that produced it. It uses
// define-property semantics, so any object key (even "__proto__") is plain data.
function parsePointer(p: string): string[] {
  expect(p.startsWith("/"), `pointer ${JSON.stringify(p)} must start with /`).toBe(true);
  return p.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}
function oracleApply(doc: JsonValue | undefined, ops: readonly PatchOp[]): JsonValue | undefined {
  let root = doc === undefined ? undefined : (structuredClone(doc) as JsonValue);
  for (const op of ops) {
    expect(["add", "remove", "replace"]).toContain(op.op);
    if (op.path === "") {
      if (op.op === "remove") {
        expect(root).not.toBeUndefined();
        root = undefined;
      } else {
        if (op.op === "replace") expect(root).not.toBeUndefined();
        root = structuredClone(op.value) as JsonValue;
      }
      continue;
    }
    const tokens = parsePointer(op.path);
    const last = tokens.pop()!;
    let parent: unknown = root;
    for (const t of tokens) {
      expect(typeof parent === "object" && parent !== null && Object.hasOwn(parent, t), `missing ${op.path}`).toBe(true);
      parent = (parent as Record<string, unknown>)[t];
    }
    expect(typeof parent === "object" && parent !== null, `no container at ${op.path}`).toBe(true);
    if (Array.isArray(parent)) {
      const i = last === "-" ? parent.length : Number(last);
      expect(/^(0|[1-9][0-9]*|-)$/.test(last), `bad array index in ${op.path}`).toBe(true);
      if (op.op === "add") {
        expect(i).toBeLessThanOrEqual(parent.length);
        parent.splice(i, 0, structuredClone(op.value));
      } else {
        expect(i).toBeLessThan(parent.length);
        if (op.op === "remove") parent.splice(i, 1);
        else parent[i] = structuredClone(op.value);
      }
    } else {
      const obj = parent as Record<string, unknown>;
      if (op.op !== "add") expect(Object.hasOwn(obj, last), `missing member ${op.path}`).toBe(true);
      if (op.op === "remove") delete obj[last];
      else Object.defineProperty(obj, last, { value: structuredClone(op.value), enumerable: true, writable: true, configurable: true });
    }
  }
  return root;
}

describe("diffValues", () => {
  it("returns no operations for equal values", () => {
    expect(diffValues({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toEqual([]);
    expect(diffValues("x", "x")).toEqual([]);
    expect(diffValues(undefined, undefined)).toEqual([]);
    // Key order is not a difference.
    expect(diffValues({ a: 1, b: 2 }, { b: 2, a: 1 })).toEqual([]);
  });

  describe("objects", () => {
    it("replaces a changed member", () => {
      expect(diffValues({ a: 1, b: 2 }, { a: 1, b: 3 })).toEqual([{ op: "replace", path: "/b", value: 3 }]);
    });
    it("adds a new member and removes a gone one", () => {
      const ops = diffValues({ a: 1, gone: true }, { a: 1, added: "x" });
      expect(ops).toHaveLength(2);
      expect(ops).toEqual(expect.arrayContaining([{ op: "add", path: "/added", value: "x" }, { op: "remove", path: "/gone" }]));
    });
    it("descends into nested objects", () => {
      expect(diffValues({ db: { pool: 10, host: "h" } }, { db: { pool: 20, host: "h" } })).toEqual([
        { op: "replace", path: "/db/pool", value: 20 },
      ]);
    });
    it("escapes ~ and / in member names (RFC 6901)", () => {
      expect(diffValues({ "a/b": 1, "c~d": 1 }, { "a/b": 2, "c~d": 1 })).toEqual([{ op: "replace", path: "/a~1b", value: 2 }]);
      expect(diffValues({ "c~d": 1 }, {})).toEqual([{ op: "remove", path: "/c~0d" }]);
    });
    it("emits a correct operation for a member named __proto__", () => {
    // fast-json-patch's applier refuses such paths (and checkValue rejects such values),
    // but the diff itself must still be right.
    const from = JSON.parse('{"a": {"__proto__": 1}}') as JsonValue;
    const to = JSON.parse('{"a": {"__proto__": 2, "b": 1}}') as JsonValue;
    const ops = diffValues(from, to);
    expect(ops).toEqual(expect.arrayContaining([{ op: "replace", path: "/a/__proto__", value: 2 }]));
    const out = oracleApply(from, ops);
    expect(Object.hasOwn((out as { a: object }).a, "__proto__")).toBe(true);
    expect(asJson(out)).toEqual(asJson(to));
  });
  it("handles the empty member name", () => {
      expect(diffValues({ "": 1 }, { "": 2 })).toEqual([{ op: "replace", path: "/", value: 2 }]);
    });
  });

  describe("arrays", () => {
    it("appends an element", () => {
      expect(diffValues([1, 2, 3], [1, 2, 3, 4])).toEqual([{ op: "add", path: "/3", value: 4 }]);
    });
    it("removes the last element", () => {
      expect(diffValues([1, 2, 3], [1, 2])).toEqual([{ op: "remove", path: "/2" }]);
    });
    it("replaces an element", () => {
      expect(diffValues(["a", "b"], ["a", "c"])).toEqual([{ op: "replace", path: "/1", value: "c" }]);
    });
    it("descends into elements", () => {
      expect(diffValues([{ on: false }], [{ on: true }])).toEqual([{ op: "replace", path: "/0/on", value: true }]);
    });
    it("shrinks to a shorter array correctly", () => {
      const from: JsonValue = [1, 2, 3];
      const to: JsonValue = [3];
      expect(oracleApply(from, diffValues(from, to))).toEqual(to);
    });
  });

  describe("scalars and type changes", () => {
    it("replaces a scalar document", () => {
      expect(diffValues(1, 2)).toEqual([{ op: "replace", path: "", value: 2 }]);
      expect(diffValues("on", "off")).toEqual([{ op: "replace", path: "", value: "off" }]);
      expect(diffValues(true, null)).toEqual([{ op: "replace", path: "", value: null }]);
    });
    it("replaces the whole document when the type changes", () => {
      expect(diffValues({ a: 1 }, [1])).toEqual([{ op: "replace", path: "", value: [1] }]);
      expect(diffValues([1], { a: 1 })).toEqual([{ op: "replace", path: "", value: { a: 1 } }]);
      expect(diffValues(5, { a: 1 })).toEqual([{ op: "replace", path: "", value: { a: 1 } }]);
      expect(diffValues({ a: 1 }, "x")).toEqual([{ op: "replace", path: "", value: "x" }]);
      expect(diffValues(null, [])).toEqual([{ op: "replace", path: "", value: [] }]);
    });
    it("replaces a member whose type changes", () => {
      expect(diffValues({ a: { b: 1 } }, { a: [1] })).toEqual([{ op: "replace", path: "/a", value: [1] }]);
      expect(diffValues({ a: 1 }, { a: "1" })).toEqual([{ op: "replace", path: "/a", value: "1" }]);
    });
  });

  describe("whole documents", () => {
    it("adds the document when there was none (a new key or a tombstone)", () => {
      expect(diffValues(undefined, { a: 1 })).toEqual([{ op: "add", path: "", value: { a: 1 } }]);
      expect(diffValues(undefined, null)).toEqual([{ op: "add", path: "", value: null }]);
    });
    it("removes the document when it is gone", () => {
      expect(diffValues({ a: 1 }, undefined)).toEqual([{ op: "remove", path: "" }]);
      expect(diffValues(0, undefined)).toEqual([{ op: "remove", path: "" }]);
    });
  });

  it("does not modify its inputs", () => {
    const from = { a: [1, 2], b: { c: 1 } };
    const to = { a: [2], d: 1 };
    const before = structuredClone([from, to]);
    diffValues(from, to);
    expect([from, to]).toEqual(before);
  });
});

describe("applyPatch", () => {
  it("adds, replaces and removes the whole document", () => {
    expect(applyPatch(undefined, [{ op: "add", path: "", value: { a: 1 } }])).toEqual({ a: 1 });
    expect(applyPatch({ a: 1 }, [{ op: "replace", path: "", value: [1] }])).toEqual([1]);
    expect(applyPatch({ a: 1 }, [{ op: "remove", path: "" }])).toBeUndefined();
  });
  it("applies member operations to a copy", () => {
    const doc = { a: 1, b: [1] };
    expect(applyPatch(doc, [{ op: "replace", path: "/a", value: 2 }, { op: "add", path: "/b/1", value: 2 }])).toEqual({
      a: 2,
      b: [1, 2],
    });
    expect(doc).toEqual({ a: 1, b: [1] });
  });
  it("rejects an operation on a missing path", () => {
    expect(() => applyPatch({ a: 1 }, [{ op: "replace", path: "/missing/x", value: 1 }])).toThrow();
  });
});

describe("diff properties", () => {
  it("applyPatch(from, diffValues(from, to)) equals to, for any JSON values", () => {
    fc.assert(
      fc.property(anyJson, anyJson, (from, to) => {
        expect(asJson(applyPatch(from, diffValues(from, to)))).toEqual(asJson(to));
      }),
      { numRuns: 500 },
    );
  });

  it("the same holds for nearby values (one deep leaf edited)", () => {
    // Unrelated random pairs mostly differ at the root; edits exercise deep paths.
    fc.assert(
      fc.property(anyJson, anyJson, (from, leaf) => {
        const to = mutate(from, leaf);
        expect(asJson(applyPatch(from, diffValues(from, to)))).toEqual(asJson(to));
        expect(asJson(oracleApply(from, diffValues(from, to)))).toEqual(asJson(to));
      }),
      { numRuns: 500 },
    );
  });

  it("the operations are valid RFC 6902 for any JSON values (independent applier)", () => {
    fc.assert(
      fc.property(anyJson, anyJson, (from, to) => {
        expect(asJson(oracleApply(from, diffValues(from, to)))).toEqual(asJson(to));
      }),
      { numRuns: 500 },
    );
  });

  it("round-trips through missing documents", () => {
    fc.assert(
      fc.property(anyJson, (v) => {
        expect(asJson(applyPatch(undefined, diffValues(undefined, v)))).toEqual(asJson(v));
        expect(applyPatch(v, diffValues(v, undefined))).toBeUndefined();
      }),
    );
  });

  it("is empty exactly when the values are equal", () => {
    fc.assert(
      fc.property(anyJson, (v) => {
        expect(diffValues(v, structuredClone(v))).toEqual([]);
      }),
    );
  });
});

const isObj = (v: JsonValue): v is { [k: string]: JsonValue } => typeof v === "object" && v !== null && !Array.isArray(v);

/** Replaces one deep leaf of `v` with `leaf`, so diffs land below the root. */
function mutate(v: JsonValue, leaf: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.length === 0 ? [leaf] : [...v.slice(0, -1), mutate(v[v.length - 1]!, leaf)];
  if (isObj(v)) {
    const keys = Object.keys(v);
    if (keys.length === 0) return { k: leaf };
    const k = keys[keys.length - 1]!;
    const out: { [k: string]: JsonValue } = {};
    for (const key of keys) Object.defineProperty(out, key, { value: key === k ? mutate(v[k]!, leaf) : v[key], enumerable: true, writable: true, configurable: true });
    return out;
  }
  return leaf;
}

describe("diffValues bounds", () => {
  const bounds = { operations: 3, bytes: 100 };

  it("keeps a patch within both bounds as it is", () => {
    expect(diffValues({ a: 1, b: 2 }, { a: 2, b: 3 }, bounds)).toEqual([
      { op: "replace", path: "/b", value: 3 },
      { op: "replace", path: "/a", value: 2 },
    ]);
  });

  it("gives a patch of more operations, or more bytes, as one replace of the whole value, which still applies exactly", () => {
    const from = { a: 1, b: 2, c: 3, d: 4 };
    const to = { a: 0, b: 0, c: 0, d: 0 };
    expect(diffValues(from, to, bounds)).toEqual([{ op: "replace", path: "", value: to }]);
    const long = { s: "x".repeat(200) };
    expect(diffValues({ s: "" }, long, bounds)).toEqual([{ op: "replace", path: "", value: long }]);
    expect(applyPatch(from, diffValues(from, to, bounds))).toEqual(to);
  });

  it("keeps one change in the largest array a single operation", () => {
    const from = Array.from({ length: 120_000 }, () => 0);
    const to = [...from];
    to[7] = 1;
    expect(diffValues(from, to)).toEqual([{ op: "replace", path: "/7", value: 1 }]);
    expect(diffValues(from, from.map(() => 1))).toEqual([{ op: "replace", path: "", value: from.map(() => 1) }]);
  });
});
