import fc from "fast-check";
import { ScalarType, create, toBinary, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { withProtoMember } from "./proto-es.js";

/**
 * Requests for any message type, generated from its descriptor: mostly valid-shaped (keys
 * from a small pool, so writes land on the same keys and later reads find them), mixed with
 * the edge values hostile clients send: 64-bit numbers beyond 2^53, values nested past every
 * limit, times outside 0001-9999 and before 1970, enum numbers nobody defined, "__proto__",
 * long and non-ASCII strings, regexes that backtrack or do not compile.
 */
export function requestBytes(type: DescMessage): fc.Arbitrary<Uint8Array> {
  return message(type, 0).map((init) => toBinary(type, create(type, init as never)));
}

const MAX_MESSAGE_DEPTH = 4;
const often = <T>(usual: fc.Arbitrary<T>, edge: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ arbitrary: usual, weight: 4 }, { arbitrary: edge, weight: 1 });

const EVIL_REGEXES = ["^(a+)+$", "(a|aa)+$", "^(a|a?)+$", "(x+x+)+y", "(", "[", "a{1000000}", "(?<=a)b", "\\1(a)", "*"];
const KEYS = ["fuzz.a", "fuzz.b", "fuzz/c", "fuzz:d", "flag", "_ctm/validators/fuzz", "_ctm/health/fuzz"];
const strings = {
  key: fc.constantFrom(...KEYS),
  prefix: fc.constantFrom("", "fuzz", "fuzz.", "_ctm/", "flag"),
  name: fc.constantFrom("fuzz-v", "fuzz-c", "v1", "stable", "new", "variant-a"),
  regex: fc.constantFrom(...EVIL_REGEXES, "^user-[0-9]+$", ".*", ""),
  url: fc.constantFrom("", "http://127.0.0.1:9/x", "not a url", "file:///etc/passwd"),
  text: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("", "prod", "eu", "canary", "alice", "cards", "1.2.3", ">=2.0.0")),
};
const edgeString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 3, arbitrary: fc.constantFrom("__proto__", "constructor", "a\0b", "\u202e", "😀".repeat(70), "é".repeat(200), "x".repeat(257), "x".repeat(5000), ...EVIL_REGEXES) },
  { weight: 1, arbitrary: fc.integer({ min: 100_000, max: 300_000 }).map((n) => "y".repeat(n)) },
);

function stringFor(field: DescField): fc.Arbitrary<string> {
  const n = field.name;
  const pool =
    n === "key" || n === "keys" || n === "early_adopters" || n === "order"
      ? strings.key
      : n === "prefix"
        ? strings.prefix
        : n === "name" || n === "serve" || n === "variant"
          ? strings.name
          : n.includes("regex") || n === "pattern"
            ? strings.regex
            : n === "url"
              ? strings.url
              : strings.text;
  return often(pool, edgeString);
}

const U53 = 2n ** 53n;
const bigEdges = fc.constantFrom(U53 - 1n, U53, U53 + 1n, 2n ** 63n - 1n, 2n ** 64n - 1n);
const smallWhole = fc.oneof(fc.constantFrom(0, 1, 2, 3), fc.nat({ max: 1000 }));

function scalar(field: DescField, t: ScalarType): fc.Arbitrary<unknown> {
  switch (t) {
    case ScalarType.STRING:
      return stringFor(field);
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 16 });
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return often(fc.oneof(fc.constantFrom(0, 1, 5, 50, 100, 0.5), fc.double({ min: -10, max: 200, noNaN: true })), fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e308)));
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return often(smallWhole.map(BigInt), fc.oneof(bigEdges, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })));
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return often(smallWhole.map(BigInt), fc.oneof(bigEdges.map((b) => (b > 2n ** 63n - 1n ? -(2n ** 63n) : b)), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })));
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return often(smallWhole, fc.integer());
    default:
      return often(smallWhole, fc.integer({ min: 0, max: 2 ** 32 - 1 }));
  }
}

// Times: near now (valid rollouts), around 1970, and past both ends of 0001-9999.
const SECONDS_NOW = Math.floor(Date.now() / 1000);
const timestamp = fc
  .oneof(
    { arbitrary: fc.integer({ min: -3600, max: 7 * 86_400 }).map((d) => BigInt(SECONDS_NOW + d)), weight: 4 },
    { arbitrary: fc.constantFrom(-1n, 0n, -62_135_596_800n, -62_135_596_801n, 253_402_300_799n, 253_402_300_800n, -(2n ** 62n), 2n ** 62n), weight: 2 },
  )
  .chain((seconds) => fc.record({ seconds: fc.constant(seconds), nanos: often(fc.nat({ max: 999_999_999 }), fc.constantFrom(-1, 1_000_000_000, 2 ** 31 - 1)) }));
const duration = fc.record({
  seconds: often(fc.constantFrom(0n, 1n, 60n, 3600n, 86_400n), fc.constantFrom(-1n, 315_576_000_000n, 315_576_000_001n, 2n ** 62n, -(2n ** 62n))),
  nanos: often(fc.constantFrom(0, 500_000_000), fc.constantFrom(-1, 999_999_999, 1_000_000_000)),
});

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const deep = (d: number, array: boolean): Json => (d === 0 ? "leaf" : array ? [deep(d - 1, array)] : { n: deep(d - 1, array) });
const schemas: Json[] = [
  { type: "string", pattern: "^(a+)+$" },
  { patternProperties: { "^(a+)+$": { type: "number" } } },
  { type: "array", uniqueItems: true },
  { $ref: "#" },
  { type: 5 },
  { type: "object", required: ["a"], properties: { a: { type: "integer", minimum: 0 } } },
];
const jsonLeaf: fc.Arbitrary<Json> = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 8 }), fc.constant("aaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"));
const jsonUsual: fc.Arbitrary<Json> = fc.letrec<{ j: Json }>((tie) => ({
  j: fc.oneof({ depthSize: "small", withCrossShrink: true }, jsonLeaf, fc.array(tie("j"), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 6 }), tie("j"), { maxKeys: 4 })),
})).j;
const jsonEdge: fc.Arbitrary<Json> = fc.oneof(
  fc.integer({ min: 25, max: 60 }).chain((d) => fc.boolean().map((array) => deep(d, array))),
  fc.constantFrom(...schemas),
  fc.constant(Array.from({ length: 20_000 }, (_, i) => i % 50)),
  jsonUsual.map((v): Json => ({ wrap: v, "~/": 1 })),
);

/** A google.protobuf.Value message (protobuf-es keeps it a message), with "__proto__" members at times. */
function valueMessage(j: Json, proto: boolean): object {
  if (j === null) return { kind: { case: "nullValue", value: 0 } };
  if (typeof j === "boolean") return { kind: { case: "boolValue", value: j } };
  if (typeof j === "number") return { kind: { case: "numberValue", value: j } };
  if (typeof j === "string") return { kind: { case: "stringValue", value: j } };
  if (Array.isArray(j)) return { kind: { case: "listValue", value: { values: j.map((x) => valueMessage(x, proto)) } } };
  return { kind: { case: "structValue", value: { fields: structFields(j, proto) } } };
}
function structFields(j: { [k: string]: Json }, proto: boolean): Record<string, object> {
  const fields: Record<string, object> = proto ? withProtoMember<object>(valueMessage(1, false)) : {};
  for (const [k, v] of Object.entries(j)) fields[k] = valueMessage(v, false);
  return fields;
}
const json = often(jsonUsual, jsonEdge);
const value = fc.tuple(json, fc.boolean(), fc.nat({ max: 19 })).map(([j, proto, odd]) => {
  if (odd === 0) return {}; // a Value with no kind
  if (odd === 1) return { kind: { case: "nullValue", value: 7 } };
  return valueMessage(j, proto && odd === 2);
});
const struct = fc.tuple(often(fc.constantFrom(...schemas), jsonEdge), fc.nat({ max: 9 })).map(([j, n]) => ({
  fields: structFields(typeof j === "object" && j !== null && !Array.isArray(j) ? j : { v: j }, n === 0),
}));

function single(field: DescField, depth: number): fc.Arbitrary<unknown> {
  if (field.enum) {
    const defined = field.enum.values.map((v) => v.number);
    return often(fc.constantFrom(...defined), fc.oneof(fc.integer({ min: -3, max: 100 }), fc.constantFrom(2 ** 31 - 1, -(2 ** 31))));
  }
  if (field.message) return messageOf(field.message, depth + 1);
  return scalar(field, field.scalar!);
}

function messageOf(type: DescMessage, depth: number): fc.Arbitrary<unknown> {
  switch (type.typeName) {
    case "google.protobuf.Timestamp":
      return timestamp;
    case "google.protobuf.Duration":
      return duration;
    case "google.protobuf.Value":
      return value;
    case "google.protobuf.Struct":
      return struct;
    case "google.protobuf.ListValue":
      return value.map(() => ({ values: [] }));
  }
  return depth > MAX_MESSAGE_DEPTH ? fc.constant({}) : message(type, depth);
}

function message(type: DescMessage, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of type.fields) {
    if (field.oneof) continue;
    let arb: fc.Arbitrary<unknown>;
    if (field.fieldKind === "list") arb = fc.array(single(field, depth), { maxLength: field.listKind === "message" ? 3 : 4 });
    else if (field.fieldKind === "map") {
      arb = fc.tuple(fc.dictionary(stringFor(field), single(field, depth), { maxKeys: 3 }), fc.nat({ max: 9 })).map(([d, n]) => (n === 0 ? Object.assign(withProtoMember("x"), d) : d));
    } else arb = single(field, depth);
    parts[field.localName] = fc.option(arb, { nil: undefined, freq: 3 });
  }
  for (const oneof of type.oneofs) {
    parts[oneof.localName] = fc.option(
      fc.oneof(...oneof.fields.map((f) => single(f, depth).map((v) => ({ case: f.localName, value: v })))),
      { nil: undefined, freq: 4 },
    );
  }
  return fc.record(parts).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
}
