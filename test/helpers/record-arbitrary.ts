/** fast-check arbitraries for records as the store writes them: the Entry encoders' property tests share them. */
import fc from "fast-check";
import type { JsonValue } from "@ctm/core/json";
import type { RecordKind } from "@ctm/core/record";
import { KINDS } from "../../src/transport/grpc/entry-mapper.js";

// Any JSON a key can hold, with the strings that stress UTF-8 lengths: astral, combining, empty,
// a lone surrogate, and ASCII on either side of the length the encoder copies itself.
export const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.constantFrom("", "é", "😀", "\u0000", "\ud800", "\u007f\u0080", "a".repeat(64), "a".repeat(65), `${"a".repeat(63)}é`, "a".repeat(200)),
);
export const json: fc.Arbitrary<JsonValue> = fc.letrec<{ v: JsonValue }>((tie) => ({
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

/** Any record without a rollout plan: its fields as the store writes them. */
export const record = fc.record({
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

