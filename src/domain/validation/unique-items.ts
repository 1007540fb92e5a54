import type { KeywordDefinition, SchemaValidateFunction } from "ajv";
import { randomInt } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import type { JsonValue } from "@ctm/core/json";

// Seeded per process: values crafted offline to share hashes (and so fall back to
// pairwise comparison) would have to be crafted against a seed nobody can see.
const SEED = randomInt(2 ** 31);
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function hashString(s: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h;
}

/**
 * A 32-bit hash under which equal JSON values (members in any order) hash
 * alike: objects add up their
 * members' hashes, so member order does not count. No strings are built.
 */
export function jsonHash(v: JsonValue): number {
  if (v === null) return 0x2f1a3b5c;
  switch (typeof v) {
    case "boolean":
      return v ? 0x4b1d7e21 : 0x0c8e9f13;
    case "number":
      f64[0] = v;
      return Math.imul(u32[0]! ^ 0x5bd1e995, 0x27d4eb2d) ^ u32[1]!;
    case "string":
      return hashString(v, 0x811c9dc5 ^ SEED);
  }
  if (Array.isArray(v)) {
    let h = 0x1b873593;
    for (let i = 0; i < v.length; i++) h = Math.imul(h ^ jsonHash(v[i]!), 0x5bd1e995) + i;
    return h;
  }
  let h = 0x3c6ef372;
  for (const k in v) h = (h + Math.imul(hashString(k, 0x9e3779b9 ^ SEED) ^ jsonHash(v[k]!), 0x2c1b3c6d)) | 0;
  return h;
}

/**
 * `uniqueItems` in linear time. Ajv compares every pair of items (20,000 of
 * them held the event loop for about 20 s); here primitives are looked up in a
 * Map as they are (it tells 1 from "1", and 0 from -0 not, as Ajv does), and
 * objects and arrays by hash, compared only with earlier items of the same
 * hash (members in any order are equal). Same message as Ajv's.
 */
const validate: SchemaValidateFunction = (schema: boolean, data: JsonValue[]): boolean => {
  validate.errors = undefined;
  if (!schema) return true;
  const primitives = new Map<JsonValue, number>();
  const byHash = new Map<number, number>();
  let sameHash: Map<number, number[]> | undefined;
  for (let i = 0; i < data.length; i++) {
    const item = data[i]!;
    let j: number | undefined;
    if (item === null || typeof item !== "object") {
      j = primitives.get(item);
      if (j === undefined) primitives.set(item, i);
    } else {
      const h = jsonHash(item);
      const first = byHash.get(h);
      if (first === undefined) byHash.set(h, i);
      else {
        const all = [first, ...(sameHash?.get(h) ?? [])];
        j = all.find((e) => isDeepStrictEqual(data[e], item));
        if (j === undefined) (sameHash ??= new Map()).set(h, [...all.slice(1), i]);
      }
    }
    if (j !== undefined) {
      validate.errors = [{ keyword: "uniqueItems", message: `must NOT have duplicate items (items ## ${j} and ${i} are identical)`, params: { i, j } }];
      return false;
    }
  }
  return true;
};

export const uniqueItemsKeyword: KeywordDefinition = { keyword: "uniqueItems", type: "array", schemaType: "boolean", errors: true, validate };
