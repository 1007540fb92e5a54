import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GetRequest } from "../../gen/ctm/v1/config_service.js";
import { CtmError } from "../../domain/errors.js";
import { checkRequestBytes } from "./check-request-bytes.js";
import { decodeGetRequest, decodeGetRequestFast } from "./get-request-decoder.js";
import { protoRegistry } from "./proto-registry.js";

/** Strings that stress decoding: ASCII, multi-byte UTF-8, a leading BOM, NUL, long ones (2-byte lengths). */
const text = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.constantFrom("", "\ufeffbom", "ユーザー", "😀", "a\0b", "__proto__", "constructor", "x".repeat(200), "é".repeat(5000)),
);
const context = fc.record({
  unitId: text,
  environment: text,
  attributes: fc.dictionary(text, text, { maxKeys: 5 }),
  requestId: fc.oneof(text, fc.uuid()),
});
const request: fc.Arbitrary<GetRequest> = fc.record({ key: text, context: fc.option(context, { nil: undefined }) });
const encode = (r: GetRequest): Buffer => Buffer.from(GetRequest.encode(r).finish());

const GET_REQUEST = protoRegistry().getMessage("ctm.v1.GetRequest")!;
const hasProtoAttribute = (r: GetRequest): boolean => r.context !== undefined && Object.hasOwn(r.context.attributes, "__proto__");

/**
 * The decoder and the request checks on the same bytes: what the checks accept decodes to
 * exactly what ts-proto decodes; what they refuse is refused (INVALID_ARGUMENT naming the
 * field) and never taken by the fast path.
 */
function expectSameAsTsProto(bytes: Buffer): void {
  let refusal: unknown;
  try {
    checkRequestBytes(GET_REQUEST, bytes);
  } catch (e) {
    refusal = e;
  }
  if (refusal === undefined) {
    expect(decodeGetRequest(bytes)).toEqual(GetRequest.decode(bytes));
    return;
  }
  expect(refusal).toBeInstanceOf(CtmError);
  expect((refusal as CtmError).code).toBe("invalid_argument");
  expect(decodeGetRequestFast(bytes)).toBeUndefined();
  expect(() => decodeGetRequest(bytes)).toThrow(CtmError);
}

describe("decodeGetRequest", () => {
  it("decodes every GetRequest ts-proto encodes to what ts-proto decodes, on the fast path", () => {
    fc.assert(
      fc.property(request, (r) => {
        const bytes = encode(r);
        if (hasProtoAttribute(r)) return expectSameAsTsProto(bytes);
        const fast = decodeGetRequestFast(bytes);
        // Every field below 16 KiB takes the fast path; longer ones may go to ts-proto.
        if (bytes.length < 16_384) expect(fast).toBeDefined();
        expect(decodeGetRequest(bytes)).toEqual(GetRequest.decode(bytes));
        if (fast) expect(fast).toEqual(GetRequest.decode(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it("answers repeated and colliding strings right: far more distinct strings than cache slots, decoded twice", () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `k${i.toString(36)}/${"x".repeat(i % 60)}`);
    for (let pass = 0; pass < 2; pass++) {
      for (const key of keys) {
        const r = decodeGetRequestFast(encode({ key, context: { unitId: key.slice(1), environment: "prod", attributes: { [key]: key.slice(2) }, requestId: "" } }));
        expect(r?.key).toBe(key);
        expect(r?.context?.unitId).toBe(key.slice(1));
        expect(r?.context?.attributes).toEqual({ [key]: key.slice(2) });
      }
    }
  });

  it("keeps a leading U+FEFF; invalid UTF-8 is refused naming the field, never replaced", () => {
    const bom = encode({ key: "\ufeffk", context: undefined });
    expect(decodeGetRequestFast(bom)?.key).toBe("\ufeffk");
    // key = bytes ff, c3 28 (invalid), e2 82 (truncated sequence)
    const invalid = Buffer.from([10, 5, 0xff, 0xc3, 0x28, 0xe2, 0x82]);
    expect(decodeGetRequestFast(invalid)).toBeUndefined();
    expect(() => decodeGetRequest(invalid)).toThrow(expect.objectContaining({ code: "invalid_argument", field: "key" }));
    const inContext = Buffer.concat([field(1, "k"), Buffer.from([18, 4, 18, 2, 0xc3, 0x28])]);
    expect(() => decodeGetRequest(inContext)).toThrow(expect.objectContaining({ field: "context.environment" }));
  });

  it("assigns repeated attribute keys as ts-proto does (the last wins) and refuses __proto__", () => {
    const entry = (k: string, v: string): Buffer => Buffer.concat([Buffer.from([26]), lengthPrefixed(Buffer.concat([field(1, k), field(2, v)]))]);
    const ctx = Buffer.concat([field(1, "u"), entry("plan", "free"), entry("plan", "pro"), entry("", "")]);
    const bytes = Buffer.concat([field(1, "k"), Buffer.from([18]), lengthPrefixed(ctx)]);
    const fast = decodeGetRequestFast(bytes);
    expect(fast).toBeDefined();
    expect(fast).toEqual(GetRequest.decode(bytes));
    expect(fast!.context!.attributes["plan"]).toBe("pro");
    // A plain object cannot hold a "__proto__" member: ts-proto would drop it silently.
    const proto = Buffer.concat([field(1, "k"), Buffer.from([18]), lengthPrefixed(Buffer.concat([field(1, "u"), entry("__proto__", "x")]))]);
    expect(decodeGetRequestFast(proto)).toBeUndefined();
    expect(() => decodeGetRequest(proto)).toThrow(expect.objectContaining({ code: "invalid_argument", field: "context.attributes" }));
  });

  it("a repeated context replaces the earlier one, as ts-proto does", () => {
    const a = encode({ key: "k", context: { unitId: "a", environment: "prod", attributes: { x: "1" }, requestId: "" } });
    const b = encode({ key: "", context: { unitId: "b", environment: "", attributes: {}, requestId: "r" } });
    const bytes = Buffer.concat([a, b]);
    expect(decodeGetRequestFast(bytes)).toEqual(GetRequest.decode(bytes));
  });

  it("leaves unknown fields, wide tags and odd nesting to ts-proto and agrees with it", () => {
    const base = encode({ key: "k", context: { unitId: "u", environment: "e", attributes: { a: "b" }, requestId: "r" } });
    const unknownVarint = Buffer.concat([base, Buffer.from([0x28, 0x96, 0x01])]); // field 5, varint 150
    const ctxWithUnknown = Buffer.concat([field(1, "k"), Buffer.from([18, 5, 10, 1, 0x75, 0x38, 0x01])]); // context: unit_id "u", field 7 varint 1
    const wideTag = Buffer.from([0x8a, 0x00, 1, 0x6b]); // field 1 with a two-byte tag
    for (const bytes of [unknownVarint, ctxWithUnknown, wideTag]) {
      expect(decodeGetRequestFast(bytes)).toBeUndefined();
      expectSameAsTsProto(bytes);
    }
  });

  it("agrees with ts-proto on truncated and corrupted encodings (same result, or refused)", () => {
    fc.assert(
      fc.property(request, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (r, cut, where, byte) => {
        const bytes = encode(r);
        expectSameAsTsProto(bytes.subarray(0, cut % (bytes.length + 1)));
        if (bytes.length > 0) {
          const flipped = Buffer.from(bytes);
          flipped[where % bytes.length] = byte;
          expectSameAsTsProto(flipped);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees with ts-proto on arbitrary bytes (same result, or refused)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => expectSameAsTsProto(Buffer.from(b))),
      { numRuns: 2000 },
    );
  });
});

function field(no: number, value: string): Buffer {
  return Buffer.concat([Buffer.from([(no << 3) | 2]), lengthPrefixed(Buffer.from(value, "utf8"))]);
}

function lengthPrefixed(b: Buffer): Buffer {
  if (b.length >= 128) throw new Error("test helper: short fields only");
  return Buffer.concat([Buffer.from([b.length]), b]);
}
