import { isJsonContainer, jsonEqual, type JsonValue } from "./json.js";
import type { LogRecord } from "./record.js";

export interface BlameLine {
  /** JSON Pointer of a leaf; "" for a scalar value. */
  path: string;
  value: JsonValue;
  /** The record that last changed this leaf. */
  record: LogRecord;
}

const escapePointer = (s: string): string => s.replace(/~/g, "~0").replace(/\//g, "~1");

/** Leaves of a JSON value keyed by JSON Pointer. Empty containers count as leaves. */
export function leaves(value: JsonValue, path = "", out = new Map<string, JsonValue>()): Map<string, JsonValue> {
  if (!isJsonContainer(value)) {
    out.set(path, value);
    return out;
  }
  const entries: [string, JsonValue][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value);
  if (entries.length === 0) out.set(path, value);
  for (const [k, v] of entries) leaves(v, `${path}/${escapePointer(k)}`, out);
  return out;
}

/**
 * Attributes each leaf of the newest record's value to the oldest version from
 * which that leaf stayed unchanged up to now. `history` is newest first and
 * starts with the live record.
 */
export function blame(history: readonly LogRecord[]): BlameLine[] {
  const head = history[0];
  if (head === undefined || head.deleted || head.value === undefined) return [];
  const current = leaves(head.value);
  const owner = new Map<string, LogRecord>([...current.keys()].map((p) => [p, head]));
  const open = new Set(current.keys());
  for (let i = 1; i < history.length && open.size > 0; i++) {
    const older = history[i]!;
    const olderLeaves = older.deleted || older.value === undefined ? new Map<string, JsonValue>() : leaves(older.value);
    for (const path of [...open]) {
      if (olderLeaves.has(path) && jsonEqual(olderLeaves.get(path), current.get(path))) owner.set(path, older);
      else open.delete(path);
    }
  }
  return [...current.entries()].map(([path, value]) => ({ path, value, record: owner.get(path)! }));
}
