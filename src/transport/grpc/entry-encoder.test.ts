import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { JsonValue } from "@ctm/core/json";
import type { LogRecord } from "@ctm/core/record";
import { buildRollout } from "../../domain/rollout/build-rollout.js";
import { Entry } from "../../gen/ctm/v1/record.js";
import { Value } from "../../gen/google/protobuf/struct.js";
import { encodeEntry, encodeValue } from "./entry-encoder.js";
import { toEntry } from "./entry-mapper.js";
import { record } from "../../../test/helpers/record-arbitrary.js";

const generated = (r: LogRecord): Buffer => Buffer.from(Entry.encode(toEntry(r)).finish());

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
