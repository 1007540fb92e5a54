import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { JsonValue } from "@ctm/core/json";
import type { LogRecord, RecordKind } from "@ctm/core/record";
import { buildRollout } from "../../domain/rollout/build-rollout.js";
import { Entry } from "../../gen/ctm/v1/record.js";
import { Value } from "../../gen/google/protobuf/struct.js";
import { encodeEntry, encodeValue } from "./entry-encoder.js";
import { KINDS, toEntry } from "./entry-mapper.js";

const generated = (r: LogRecord): Buffer => Buffer.from(Entry.encode(toEntry(r)).finish());

// Any JSON a key can hold, with the strings that stress UTF-8 lengths: astral, combining, empty,
// a lone surrogate, and ASCII on either side of the length the encoder copies itself.
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.constantFrom("", "é", "😀", "\u0000", "\ud800", "\u007f\u0080", "a".repeat(64), "a".repeat(65), `${"a".repeat(63)}é`, "a".repeat(200)),
);
const json: fc.Arbitrary<JsonValue> = fc.letrec<{ v: JsonValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    text,
    fc.array(tie("v"), { maxLength: 5 }),
    // A member named __proto__ is refused at the door (checkValue): no record holds one.
    fc.dictionary(
      text.filter((k) => k !== "__proto__"),
      tie("v"),
      { maxKeys: 5 },
    ),
  ),
})).v;

const record = fc.record({
  revision: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.maxSafeNat()),
  key: text,
  version: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.maxSafeNat()),
  value: json,
  deleted: fc.boolean(),
  // Whole ms, from the epoch to far ahead, including exact seconds (nanos 0).
  time: fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.integer({ min: 0, max: 2 ** 32 }).map((s) => s * 1000)),
  author: text,
  message: text,
  kind: fc.constantFrom(...(Object.keys(KINDS) as RecordKind[])),
  cause: fc.constantFrom("api", "ctm-scheduler", "health:errors", ""),
  rolledBackTo: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
  principal: fc.option(text, { nil: undefined }),
  valueCompacted: fc.option(fc.boolean(), { nil: undefined }),
  breakGlass: fc.option(fc.boolean(), { nil: undefined }),
  changeRequest: fc.option(text, { nil: undefined }),
});

describe("encodeEntry", () => {
  it("writes exactly the bytes of the generated encoder, for any record and any JSON value", () => {
    fc.assert(
      fc.property(record, (r) => {
        const rec = (r.deleted ? { ...r, value: undefined } : r) as LogRecord;
        expect(encodeEntry(rec)).toEqual(generated(rec));
        if (!r.deleted) expect(encodeValue(r.value)).toEqual(Buffer.from(Value.encode(Value.wrap(r.value)).finish()));
      }),
      { numRuns: 2000 },
    );
  });

  it("writes a record that carries a rollout exactly as the generated encoder does", () => {
    const value = { color: "blue", weights: [1, 2.5, -3] };
    const rollout = buildRollout(
      {
        stable: { color: "red" },
        earlyAdopters: ["alice"],
        rules: [{ attribute: "country", op: "in", values: ["FR", "DE"] }],
        percentage: { kind: "steps", start: 10, increment: 20, intervalMs: 60_000, target: 100 },
      },
      { key: "ui/theme", value, currentStable: { color: "red" }, now: 1_700_000_000_123 },
    );
    const r: LogRecord = { revision: 42, key: "ui/theme", version: 3, value, deleted: false, time: 1_700_000_000_123, author: "ana", message: "roll", kind: "set", cause: "api", rollout };
    expect(encodeEntry(r)).toEqual(generated(r));
    expect(Entry.decode(encodeEntry(r)).rollout?.plan?.stable).toEqual({ color: "red" });
  });

  it("leaves out a struct member whose value is undefined, as the generated encoder does", () => {
    const value = { a: 1, b: undefined, c: [true, false, null, ""] } as unknown as JsonValue;
    expect(encodeValue(value)).toEqual(Buffer.from(Value.encode(Value.wrap(value)).finish()));
  });
});
