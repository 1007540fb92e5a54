import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type * as grpc from "@grpc/grpc-js";
import { create, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { jsonByteLength, type JsonValue } from "@ctm/core/json";
import { CtmError } from "../../domain/errors.js";
import { LIMITS } from "../../domain/limits.js";
import { AccessLogServiceService } from "../../gen/ctm/v1/access_log_service.js";
import { ApplyRequest, ConfigServiceService, SetRequest } from "../../gen/ctm/v1/config_service.js";
import { HealthCheckServiceService } from "../../gen/ctm/v1/health_check_service.js";
import { RolloutServiceService } from "../../gen/ctm/v1/rollout_service.js";
import { ValidatorServiceService } from "../../gen/ctm/v1/validator_service.js";
import { checkRequestBytes } from "./check-request-bytes.js";
import { protoRegistry, requestTypeOf } from "./proto-registry.js";

const type = (name: string): DescMessage => protoRegistry().getMessage(name)!;
const SET = type("ctm.v1.SetRequest");

/** The refusal checkRequestBytes throws for `bytes`, or undefined when it accepts them. */
function refusal(t: DescMessage, bytes: Uint8Array): CtmError | undefined {
  try {
    checkRequestBytes(t, bytes);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(CtmError);
    expect((e as CtmError).code).toBe("invalid_argument");
    return e as CtmError;
  }
}

/** protobuf-es encodes what ts-proto cannot: 64-bit numbers beyond 2^53, any enum number, any time. */
const encode = (name: string, init: object): Uint8Array => toBinary(type(name), create(type(name), init as never));
const nested = (depth: number, leaf: unknown = 1): unknown => (depth === 0 ? leaf : { a: nested(depth - 1, leaf) });
const arrays = (depth: number): unknown => (depth === 0 ? 1 : [arrays(depth - 1)]);
/** SetRequest{key "k", value [[[...]]]} built by hand: encoders recurse, and run out of stack first. */
function deepList(depth: number): Buffer {
  let v: Buffer = Buffer.from([0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]); // Value{number_value: 1}
  const wrap = (tag: number, b: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), varint(b.length), b]);
  for (let i = 0; i < depth; i++) v = wrap(0x32, wrap(0x0a, v)); // Value{list_value: ListValue{values: [v]}}
  return Buffer.concat([Buffer.from([10, 1, 0x6b]), wrap(0x12, v)]);
}
const varint = (n: number): Buffer => {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return Buffer.from(out);
};
const setBytes = (value: unknown): Uint8Array => SetRequest.encode(SetRequest.fromPartial({ key: "k", value })).finish();

describe("checkRequestBytes", () => {
  it("accepts what the generated clients send", () => {
    expect(refusal(SET, setBytes({ a: [1, "x", null, true, { b: {} }], c: [] }))).toBeUndefined();
    expect(refusal(SET, encode("ctm.v1.SetRequest", { key: "k", expectedVersion: 2n ** 53n - 1n }))).toBeUndefined();
  });

  it("refuses a uint64 at or above 2^53, naming the field", () => {
    const e = refusal(SET, encode("ctm.v1.SetRequest", { key: "k", expectedVersion: 2n ** 53n }));
    expect(e?.field).toBe("expected_version");
    expect(e?.message).toMatch(/must be below 2\^53/);
    const at = refusal(type("ctm.v1.GetAtRequest"), encode("ctm.v1.GetAtRequest", { key: "k", at: { case: "revision", value: 2n ** 64n - 1n } }));
    expect(at?.field).toBe("revision");
    const samples = encode("ctm.v1.ReportMetricsRequest", { samples: [{ key: "k" }, { key: "k", requests: 2n ** 60n }] });
    expect(refusal(type("ctm.v1.ReportMetricsRequest"), samples)?.field).toBe("samples[1].requests");
  });

  it(`refuses values nested more than ${LIMITS.valueDepth} deep, in objects or arrays, wherever they sit`, () => {
    expect(refusal(SET, setBytes(nested(LIMITS.valueDepth)))).toBeUndefined();
    expect(refusal(SET, setBytes(arrays(LIMITS.valueDepth)))).toBeUndefined();
    for (const bytes of [setBytes(nested(LIMITS.valueDepth + 1)), setBytes(arrays(LIMITS.valueDepth + 1)), setBytes(nested(200)), deepList(5000)]) {
      const e = refusal(SET, bytes);
      expect(e?.field).toBe("value");
      expect(e?.message).toMatch(new RegExp(`more than ${LIMITS.valueDepth} deep`));
    }
    const variant = SetRequest.encode(SetRequest.fromPartial({ key: "k", value: 1, rollout: { variants: [{ name: "v", weight: 1, value: arrays(40) }] } })).finish();
    expect(refusal(SET, variant)?.field).toBe("rollout.variants[0].value");
  });

  it("keeps every answer readable by clients that stop at 100 nested messages", () => {
    // The deepest place a value sits in any request or response, in messages (Value included).
    const JSON_TYPES = new Set(["google.protobuf.Value", "google.protobuf.Struct", "google.protobuf.ListValue"]);
    const deepest = (m: DescMessage, level: number, seen: Set<string>): number => {
      let best = 0;
      for (const f of m.fields) {
        const sub = f.message;
        if (!sub || seen.has(sub.typeName)) continue;
        best = Math.max(best, JSON_TYPES.has(sub.typeName) ? level + 1 : deepest(sub, level + 1, new Set([...seen, sub.typeName])));
      }
      return best;
    };
    let valueLevel = 0;
    for (const s of protoRegistry()) {
      if (s.kind !== "service") continue;
      for (const m of s.methods) for (const t of [m.input, m.output]) valueLevel = Math.max(valueLevel, deepest(t, 1, new Set([t.typeName])));
    }
    expect(valueLevel).toBeGreaterThanOrEqual(5);
    // An object costs three messages (Value, Struct, map entry), the innermost leaf one more.
    expect(valueLevel + 3 * LIMITS.valueDepth).toBeLessThanOrEqual(100);
  });

  it('refuses a "__proto__" member or map key (a plain object cannot hold it)', () => {
    const fields = Object.defineProperty({}, "__proto__", { value: { kind: { case: "numberValue", value: 1 } }, enumerable: true });
    const inner = { kind: { case: "structValue", value: { fields } } };
    const bytes = encode("ctm.v1.SetRequest", { key: "k", value: { kind: { case: "listValue", value: { values: [inner] } } } });
    const e = refusal(SET, bytes);
    expect(e?.field).toBe("value");
    expect(e?.message).toMatch(/"__proto__" \(at \/0\/__proto__\)/);
    const attributes = Object.defineProperty({}, "__proto__", { value: "x", enumerable: true });
    expect(refusal(type("ctm.v1.GetRequest"), encode("ctm.v1.GetRequest", { key: "k", context: { attributes } }))?.field).toBe("context.attributes");
  });

  it("refuses enum numbers the API does not define", () => {
    expect(refusal(type("ctm.v1.PromoteRequest"), encode("ctm.v1.PromoteRequest", { key: "k", target: 7 }))?.field).toBe("target");
    const rule = { rules: [{ rule: { case: "attribute", value: { attribute: "a", operator: 99 } } }] };
    expect(refusal(SET, encode("ctm.v1.SetRequest", { key: "k", rollout: rule }))?.field).toBe("rollout.rules[0].attribute.operator");
    const nullValue = encode("ctm.v1.SetRequest", { key: "k", value: { kind: { case: "nullValue", value: 3 } } });
    expect(refusal(SET, nullValue)?.field).toBe("value");
  });

  it("refuses times outside years 0001-9999 and durations beyond 10000 years", () => {
    const at = (seconds: bigint, nanos = 0) => encode("ctm.v1.SetRequest", { key: "k", rollout: { activateAt: { seconds, nanos } } });
    expect(refusal(SET, at(-62_135_596_800n))).toBeUndefined();
    expect(refusal(SET, at(253_402_300_799n, 999_999_999))).toBeUndefined();
    for (const bad of [at(-62_135_596_801n), at(253_402_300_800n), at(0n, -1), at(0n, 1_000_000_000), at(2n ** 62n)]) {
      expect(refusal(SET, bad)?.field).toBe("rollout.activate_at");
    }
    const ramp = encode("ctm.v1.SetRequest", { key: "k", rollout: { percentage: { case: "ramp", value: { duration: { seconds: 315_576_000_001n } } } } });
    expect(refusal(SET, ramp)?.field).toBe("rollout.ramp.duration");
  });

  it("refuses strings that are not UTF-8 and Values with no kind", () => {
    expect(refusal(SET, Buffer.from([10, 2, 0xc3, 0x28]))?.field).toBe("key");
    const emptyMember = Buffer.from([10, 1, 0x6b, 0x12, 7, 0x2a, 5, 0x0a, 3, 0x0a, 1, 0x61]); // value: {"a": Value{}}
    expect(refusal(SET, emptyMember)?.message).toMatch(/no kind set\) \(at \/a\)$/);
  });

  it(`refuses a value past ${LIMITS.valueBytes} bytes as JSON before it is decoded, wherever it sits, naming its field`, () => {
    // Members of names one to three characters long: about 7 bytes of JSON each, 18 of protobuf.
    const members = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [i.toString(36), 0]));
    const over = members(40_000);
    expect(jsonByteLength(over)).toBeGreaterThan(LIMITS.valueBytes);
    const e = refusal(SET, setBytes(over));
    expect(e?.field).toBe("value");
    expect(e?.message).toMatch(new RegExp(`^value: is at least \\d+ bytes as JSON; the limit is ${LIMITS.valueBytes}$`));
    // An array, and a string alone, counted the same way.
    expect(refusal(SET, setBytes(Array.from({ length: 140_000 }, () => 0)))?.field).toBe("value");
    expect(refusal(SET, setBytes("x".repeat(LIMITS.valueBytes)))?.field).toBe("value");
    const apply = ApplyRequest.encode(ApplyRequest.fromPartial({ operations: [{ operation: { $case: "set", value: { key: "k", value: over } } }] })).finish();
    expect(refusal(type("ctm.v1.ApplyRequest"), apply)?.field).toBe("operations[0].set.value");
    // At the limit, accepted: what is counted is never more than the value's JSON.
    const under = members(32_000);
    expect(jsonByteLength(under)).toBeLessThanOrEqual(LIMITS.valueBytes);
    expect(refusal(SET, setBytes(under))).toBeUndefined();
    expect(refusal(SET, setBytes("x".repeat(LIMITS.valueBytes - 2)))).toBeUndefined();
  });

  it("never counts a value as more bytes of JSON than it takes", () => {
    // Whatever the value, a refusal for its size comes only when its JSON is past the limit:
    // values of random shapes are scaled to just under it, in their own strings and numbers.
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: "small" }, fc.constant(null), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ unit: "binary" }), tie("list"), tie("object")),
      list: fc.array(tie("value"), { maxLength: 6 }),
      object: fc.dictionary(fc.string({ unit: "binary", maxLength: 8 }).filter((k) => k !== "__proto__"), tie("value"), { maxKeys: 6 }),
    }));
    fc.assert(
      fc.property(json.value, (v) => {
        const size = jsonByteLength(v as JsonValue);
        // Repeated to just under the limit, and to just past it.
        const times = Math.max(1, Math.floor(LIMITS.valueBytes / (size + 1)));
        const fits = Array.from({ length: times - 1 }, () => v);
        if (jsonByteLength(fits as JsonValue) <= LIMITS.valueBytes) expect(refusal(SET, setBytes(fits))).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  });

  it("refuses malformed bytes as the request, with the reason", () => {
    const whole = setBytes({ a: "long enough to cut" });
    for (const cut of [1, 4, whole.length - 1]) expect(refusal(SET, whole.subarray(0, cut))?.field).toBe("request");
    expect(refusal(SET, Buffer.from([0, 0]))?.message).toMatch(/^request: is not a valid ctm.v1.SetRequest message \(illegal tag/);
    expect(refusal(SET, Buffer.from([0x0c]))?.field).toBe("request"); // an end-group tag alone
  });

  it("whatever the bytes, every method's generated decoder accepts what the checks accept", () => {
    const services = [ConfigServiceService, RolloutServiceService, ValidatorServiceService, HealthCheckServiceService, AccessLogServiceService];
    const methods = services.flatMap((s) => Object.values(s) as grpc.MethodDefinition<unknown, unknown>[]);
    const valid = methods.map((m) => [m, requestTypeOf(m.path)!] as const);
    fc.assert(
      fc.property(fc.constantFrom(...valid), fc.uint8Array({ maxLength: 96 }), ([m, t], bytes) => {
        const buf = Buffer.from(bytes);
        if (refusal(t, buf) === undefined) expect(() => m.requestDeserialize(buf)).not.toThrow();
      }),
      { numRuns: 3000, seed: 10 },
    );
  });
});
