import { describe, expect, it } from "vitest";
import { CtmError } from "./errors.js";
import type { JsonValue } from "@ctm/core/json";
import { checkKey, checkPrefix, checkText, checkValue, checkVersion, LIMITS, TIME_RANGE } from "./limits.js";

/** Runs `fn`, which must throw a CtmError; returns it. */
function errorOf(fn: () => unknown): CtmError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CtmError);
    return e as CtmError;
  }
  throw new Error("expected an error, got none");
}

const expectInvalid = (fn: () => unknown, field: string): CtmError => {
  const e = errorOf(fn);
  expect(e.code).toBe("invalid_argument");
  expect(e.field).toBe(field);
  return e;
};

describe("checkKey", () => {
  it("accepts path-like keys and returns them", () => {
    for (const k of ["a", "db.pool_size", "app/checkout:v2", "_ctm/validators/x", "A-1", "0", "x..y", "a/"]) {
      expect(checkKey(k)).toBe(k);
    }
  });

  it("rejects the empty key", () => {
    expect(expectInvalid(() => checkKey(""), "key").message).toMatch(/empty/);
  });

  it("accepts exactly 256 bytes and rejects 257", () => {
    expect(LIMITS.keyBytes).toBe(256);
    expect(checkKey("k".repeat(256))).toHaveLength(256);
    expect(expectInvalid(() => checkKey("k".repeat(257)), "key").message).toMatch(/256 bytes/);
  });

  it("rejects characters outside the key alphabet", () => {
    for (const k of ["a b", "a\0b", "a\nb", "a*b", "a?b", "a#b", "a%b", "a\\b", "a,b", "a\"b", "a'b", "a@b", "a+b", "tab\t"]) {
      expectInvalid(() => checkKey(k), "key");
    }
  });

  it("rejects keys starting with . - / or :", () => {
    for (const k of [".a", "-a", "/a", ":a", "/", "."]) expectInvalid(() => checkKey(k), "key");
  });

  it("rejects non-ASCII keys, counting the length in UTF-8 bytes", () => {
    expectInvalid(() => checkKey("café"), "key");
    expectInvalid(() => checkKey("ключ"), "key");
    expectInvalid(() => checkKey("😀"), "key");
    // 128 two-byte characters are 256 bytes, 129 are 258: the byte limit comes first.
    expect(expectInvalid(() => checkKey("é".repeat(129)), "key").message).toMatch(/256 bytes/);
  });

  it("names the field it was given", () => {
    expectInvalid(() => checkKey("", "operations[3].set.key"), "operations[3].set.key");
  });
});

describe("checkPrefix", () => {
  it("accepts the empty prefix and prefixes that may start with any key character", () => {
    for (const p of ["", "app/", "a", ".x", "/", "a:b-c_d.e"]) expect(checkPrefix(p)).toBe(p);
  });
  it("rejects bad characters and over-long prefixes", () => {
    expectInvalid(() => checkPrefix("a b"), "prefix");
    expectInvalid(() => checkPrefix("é"), "prefix");
    expect(checkPrefix("p".repeat(256))).toHaveLength(256);
    expectInvalid(() => checkPrefix("p".repeat(257)), "prefix");
  });
});

describe("checkValue", () => {
  it("accepts every kind of JSON value", () => {
    for (const v of [null, true, false, 0, -1.5, "", "text", [], {}, { a: [1, { b: null }] }] as JsonValue[]) {
      expect(checkValue(v)).toBe(v);
    }
  });

  it("requires a value", () => {
    expect(expectInvalid(() => checkValue(undefined), "value").message).toMatch(/required/);
  });

  it("accepts a value of exactly LIMITS.valueBytes as JSON and rejects one byte more", () => {
    // A string's JSON is its characters plus two quotes.
    const atLimit = "x".repeat(LIMITS.valueBytes - 2);
    expect(Buffer.byteLength(JSON.stringify(atLimit))).toBe(LIMITS.valueBytes);
    expect(checkValue(atLimit)).toBe(atLimit);
    const over = "x".repeat(LIMITS.valueBytes - 1);
    expect(expectInvalid(() => checkValue(over), "value").message).toContain(String(LIMITS.valueBytes));
  });

  it("measures the size in UTF-8 bytes, not characters", () => {
    // "é" is two bytes: half as many characters reach the limit.
    const atLimit = "é".repeat((LIMITS.valueBytes - 2) / 2);
    expect(checkValue(atLimit)).toBe(atLimit);
    expectInvalid(() => checkValue("é".repeat((LIMITS.valueBytes - 2) / 2 + 1)), "value");
  });

  it("counts the size of containers as compact JSON", () => {
    // {"a":"..."} is 8 bytes of syntax around the string.
    const atLimit = { a: "x".repeat(LIMITS.valueBytes - 8) };
    expect(Buffer.byteLength(JSON.stringify(atLimit))).toBe(LIMITS.valueBytes);
    expect(checkValue(atLimit)).toBe(atLimit);
    expectInvalid(() => checkValue({ a: "x".repeat(LIMITS.valueBytes - 7) }), "value");
  });

  it("rejects NaN and infinities", () => {
    for (const n of [NaN, Infinity, -Infinity]) {
      expect(expectInvalid(() => checkValue(n), "value").message).toMatch(/finite/);
    }
  });

  it("rejects NaN and infinities nested inside objects and arrays", () => {
    // JSON.stringify would silently turn these into null; the stored value would not be JSON.
    for (const v of [{ a: NaN }, [1, Infinity], { a: { b: [-Infinity] } }]) {
      expect(expectInvalid(() => checkValue(v as JsonValue), "value").message).toMatch(/finite/);
    }
  });

  it("rejects an object member named __proto__, which cannot be stored faithfully", () => {
    expectInvalid(() => checkValue(JSON.parse('{"__proto__": 1}') as JsonValue), "value");
    expectInvalid(() => checkValue(JSON.parse('{"a": [{"__proto__": {}}]}') as JsonValue), "value");
    // Other names that are special in JavaScript are ordinary data.
    expect(checkValue({ constructor: 1, prototype: 2, toString: 3 })).toEqual({ constructor: 1, prototype: 2, toString: 3 });
  });

  it("names the field it was given", () => {
    expectInvalid(() => checkValue(undefined, "operations[0].set.value"), "operations[0].set.value");
  });
});

describe("checkText", () => {
  it("accepts up to the limit in characters", () => {
    expect(checkText("a".repeat(LIMITS.authorChars), "author", LIMITS.authorChars)).toHaveLength(LIMITS.authorChars);
    expectInvalid(() => checkText("a".repeat(LIMITS.authorChars + 1), "author", LIMITS.authorChars), "author");
    expectInvalid(() => checkText("m".repeat(LIMITS.messageChars + 1), "message", LIMITS.messageChars), "message");
  });
});

describe("checkVersion", () => {
  it("passes undefined through and accepts non-negative integers", () => {
    expect(checkVersion(undefined, "v")).toBeUndefined();
    expect(checkVersion(0, "v")).toBe(0);
    expect(checkVersion(42, "v")).toBe(42);
  });
  it("rejects negative, fractional and unsafe numbers", () => {
    for (const v of [-1, 1.5, NaN, Infinity, 2 ** 53]) expectInvalid(() => checkVersion(v, "expected_version"), "expected_version");
  });
});

describe("value nesting and time range", () => {
  const nested = (d: number, array: boolean): JsonValue => (d === 0 ? 1 : array ? [nested(d - 1, array)] : { a: nested(d - 1, array) });

  it(`accepts values nested ${LIMITS.valueDepth} deep and refuses one level more, objects and arrays alike`, () => {
    for (const array of [false, true]) {
      expect(checkValue(nested(LIMITS.valueDepth, array))).toEqual(nested(LIMITS.valueDepth, array));
      const e = expectInvalid(() => checkValue(nested(LIMITS.valueDepth + 1, array), "rollout.stable"), "rollout.stable");
      expect(e.message).toMatch(new RegExp(`more than ${LIMITS.valueDepth} deep \\(at /`));
    }
  });

  it("names where a number is not finite as a JSON Pointer, its names escaped", () => {
    const e = expectInvalid(() => checkValue({ ok: [1, "x"], "a/b": [1, { "c~d": NaN }] }), "value");
    expect(e.message).toBe("value: must hold only finite numbers (at /a~1b/1/c~0d)");
    expect(expectInvalid(() => checkValue(Infinity), "value").message).toBe("value: must hold only finite numbers");
  });

  it("TIME_RANGE is years 0001 to 9999 UTC, as google.protobuf.Timestamp", () => {
    expect(new Date(TIME_RANGE.min).toISOString()).toBe("0001-01-01T00:00:00.000Z");
    expect(new Date(TIME_RANGE.max).toISOString()).toBe("9999-12-31T23:59:59.999Z");
  });
});
