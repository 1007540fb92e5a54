import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { JsonValue } from "@ctm/core/json";
import type { LogRecord } from "@ctm/core/record";
import { cbor } from "../../storage/level/codec.js";
import { decodeRecord, encodeLogValue } from "../../storage/level/record-bytes.js";
import { record } from "../../../test/helpers/record-arbitrary.js";
import { encodeEntry } from "./entry-encoder.js";
import { storedEntry, TOMBSTONE } from "./stored-entry.js";

const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a record may be left to the decoder: a lone surrogate or an array-index member name anywhere. */
function outside(v: unknown): boolean {
  if (typeof v === "string") return LONE.test(v);
  if (Array.isArray(v)) return v.some(outside);
  if (typeof v === "object" && v !== null) return Object.entries(v).some(([k, x]) => /^(0|[1-9]\d{0,9})$/.test(k) || outside(k) || outside(x));
  return false;
}

describe("storedEntry", () => {
  it("writes exactly encodeEntry(decodeRecord(stored)) for any record the log holds, and leaves only the odd ones to them", () => {
    let taken = 0;
    fc.assert(
      fc.property(record, fc.uint8Array({ minLength: 32, maxLength: 32 }), (r, prev) => {
        // The hash before is a Buffer, as the store hashes it.
        const stored = encodeLogValue(Buffer.from(prev), (r.deleted ? { ...r, value: undefined } : r) as LogRecord);
        const decoded = decodeRecord(stored);
        const out = storedEntry(stored);
        if (out === undefined) expect(outside(r)).toBe(true);
        else if (decoded.deleted) expect(out).toBe(TOMBSTONE);
        else {
          taken++;
          expect(out).toEqual(encodeEntry(decoded));
        }
      }),
      { numRuns: 3000 },
    );
    // Lone surrogates are frequent among the generated strings; the rest must be taken.
    expect(taken).toBeGreaterThan(1000);
  });

  const base: LogRecord = { revision: 7, key: "app/flag", version: 2, value: null, deleted: false, time: 1_700_000_000_123, author: "ana", message: "", kind: "set", cause: "api" };
  const same = (r: LogRecord, stored = encodeLogValue(Buffer.alloc(32), r)): void => {
    const out = storedEntry(stored);
    expect(out).toBeInstanceOf(Buffer);
    expect(out).toEqual(encodeEntry(decodeRecord(stored)));
  };

  it("takes every number form the store writes, and every kind of JSON value", () => {
    const values: JsonValue[] = [2 ** 60, -(2 ** 70), 0, -0, 1, -1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32, -(2 ** 32) - 1, 2 ** 53 - 1, -(2 ** 53) + 1, 0.5, 1.1, -2.75, 1e300, 5e-324, 3.4028234663852886e38];
    for (const value of values) same({ ...base, value });
    same({ ...base, value: { a: [1, "x", true, false, null, { "": "empty name", é: "😀" }], b: {}, c: [] } });
    same({ ...base, value: "a".repeat(70_000) });
    same({ ...base, key: "", author: "", cause: "", principal: "token:ci", changeRequest: "cr-1", rolledBackTo: 3, valueCompacted: true, breakGlass: true, kind: "rollback" });
  });

  it("takes a record written before the hash chain (a bare map)", () => {
    same(base, cbor.encode(base));
  });

  it("leaves a rollout plan and an array-index member to the decoder", () => {
    const plan = { ...base, rollout: { stable: 1 } } as unknown as LogRecord;
    expect(storedEntry(encodeLogValue(Buffer.alloc(32), plan))).toBeUndefined();
    expect(storedEntry(encodeLogValue(Buffer.alloc(32), { ...base, value: { b: 1, 10: 2 } }))).toBeUndefined();
    // Not a record at all: neither thrown nor guessed.
    expect(storedEntry(Buffer.from([0x82, 0x40, 0x01]))).toBeUndefined();
    expect(storedEntry(Buffer.alloc(0))).toBeUndefined();
  });

  it("says a tombstone is one", () => {
    expect(storedEntry(encodeLogValue(Buffer.alloc(32), { ...base, value: undefined, deleted: true, kind: "delete" }))).toBe(TOMBSTONE);
  });
});
