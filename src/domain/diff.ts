import jsonPatch from "fast-json-patch";
import { isJsonContainer, jsonByteLength, jsonEqual, type JsonValue } from "@ctm/core/json";
import { LIMITS } from "./limits.js";

/** One RFC 6902 operation. */
export interface PatchOp {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  from?: string;
  value?: JsonValue;
}

/**
 * RFC 6902 operations that turn `from` into `to`. `undefined` stands for "no
 * value" (a tombstone or a key that did not exist yet), so the patch adds or
 * removes the whole document at path "".
 */
export function diffValues(
  from: JsonValue | undefined,
  to: JsonValue | undefined,
  /** A patch past either bound is one replace of the whole value: still exact, and of a bounded size. */
  bounds: { operations: number; bytes: number } = { operations: LIMITS.diffOperations, bytes: LIMITS.diffBytes },
): PatchOp[] {
  if (jsonEqual(from, to)) return [];
  if (from === undefined) return [{ op: "add", path: "", value: to as JsonValue }];
  if (to === undefined) return [{ op: "remove", path: "" }];
  const whole: PatchOp[] = [{ op: "replace", path: "", value: to }];
  // fast-json-patch compares containers of the same kind; anything else is a whole replacement.
  const sameKind = isJsonContainer(from) && isJsonContainer(to) && Array.isArray(from) === Array.isArray(to);
  if (!sameKind) return whole;
  // Comparing the largest values (256 KiB of JSON, some 130,000 leaves) takes tens of milliseconds.
  const ops = jsonPatch.compare(from, to) as PatchOp[];
  if (ops.length > bounds.operations) return whole;
  let bytes = 0;
  for (const op of ops) if ((bytes += op.path.length + (op.from?.length ?? 0) + (op.value === undefined ? 0 : jsonByteLength(op.value)) + 16) > bounds.bytes) return whole;
  return ops;
}

/** Applies a patch to a copy of `doc`; used to check that diffs round-trip. */
export function applyPatch(doc: JsonValue | undefined, ops: PatchOp[]): JsonValue | undefined {
  let out = doc === undefined ? undefined : (structuredClone(doc) as JsonValue);
  for (const op of ops) {
    if (op.path === "") {
      if (op.op === "remove") out = undefined;
      else if (op.op === "add" || op.op === "replace") out = structuredClone(op.value) as JsonValue;
      continue;
    }
    out = jsonPatch.applyOperation(out, op as jsonPatch.Operation, true, true).newDocument as JsonValue;
  }
  return out;
}
