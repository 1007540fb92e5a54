import { isJsonContainer, jsonEqual, type JsonValue } from "@ctm/core/json";
import type { LogRecord } from "@ctm/core/record";

export interface BlameLine {
  /** JSON Pointer of a leaf; "" for a scalar value. */
  path: string;
  value: JsonValue;
  /** The record that last changed this leaf. */
  record: LogRecord;
}

const escapePointer = (s: string): string => s.replace(/~/g, "~0").replace(/\//g, "~1");
const unescapePointer = (s: string): string => s.replace(/~1/g, "/").replace(/~0/g, "~");

/**
 * Leaves of a JSON value keyed by JSON Pointer, in document order. Empty containers count as
 * leaves. Stops once `out` holds `max`: a value may have a hundred thousand.
 */
export function leaves(value: JsonValue, path = "", out = new Map<string, JsonValue>(), max = Infinity): Map<string, JsonValue> {
  if (out.size >= max) return out;
  if (!isJsonContainer(value)) {
    out.set(path, value);
    return out;
  }
  const entries: [string, JsonValue][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value);
  if (entries.length === 0) out.set(path, value);
  for (const [k, v] of entries) {
    if (out.size >= max) break;
    leaves(v, `${path}/${escapePointer(k)}`, out, max);
  }
  return out;
}

/** A JSON Pointer's segments, unescaped: "" is the whole value, "/a~1b/0" is ["a/b", "0"]. */
export const pointerSegments = (path: string): string[] => (path === "" ? [] : path.slice(1).split("/").map(unescapePointer));

/** The value at a pointer's segments, or undefined. Arrays and objects index alike, as leaves() names them. */
export function valueAt(value: JsonValue, segments: readonly string[]): JsonValue | undefined {
  let v: JsonValue | undefined = value;
  for (const s of segments) {
    if (Array.isArray(v)) {
      // Only what leaves() would name: "1", never "01" or "length".
      if (!/^(0|[1-9]\d*)$/.test(s) || Number(s) >= v.length) return undefined;
      v = v[Number(s)];
    } else if (isJsonContainer(v) && Object.hasOwn(v, s)) v = v[s];
    else return undefined;
  }
  return v;
}

/** A leaf is a scalar or an empty container: === decides scalars without a deep comparison. */
const sameLeaf = (was: JsonValue, leaf: JsonValue): boolean => (isJsonContainer(leaf) ? jsonEqual(was, leaf) : was === leaf);

/**
 * Blame done incrementally: fed a key's older records newest first, a page at a
 * time, it attributes each leaf of the head's value to the oldest version from
 * which that leaf stayed unchanged up to the head. It only looks up the leaves
 * still open in each older value, so a page costs what is left to find.
 */
export class BlameWalk {
  private readonly current: Map<string, JsonValue>;
  private readonly owner = new Map<string, LogRecord>();
  /** Leaves not yet seen to change, with their pointer segments. */
  private readonly open = new Map<string, string[]>();
  /** Records fed so far. */
  examined = 0;
  /** The oldest record fed, or the head. */
  oldest: LogRecord;
  /** Whether the head's value holds anything at `under`. */
  readonly found: boolean;
  /** Whether the value under `under` has more than `maxLeaves` leaves: only the first are walked. */
  readonly truncated: boolean;

  /** Blames the leaves at or under the JSON Pointer `under` of the head's value, the first `maxLeaves` of them. */
  constructor(head: LogRecord, under = "", maxLeaves = Infinity) {
    this.oldest = head;
    const at = head.deleted || head.value === undefined ? undefined : valueAt(head.value, pointerSegments(under));
    this.found = at !== undefined;
    this.current = at === undefined ? new Map() : leaves(at, under, new Map(), maxLeaves + 1);
    this.truncated = this.current.size > maxLeaves;
    if (this.truncated) this.current.delete([...this.current.keys()].pop()!);
    for (const path of this.current.keys()) {
      this.owner.set(path, head);
      this.open.set(path, pointerSegments(path));
    }
  }

  /** True once every leaf is attributed: older records cannot change the answer. */
  get done(): boolean {
    return this.open.size === 0;
  }

  /** Older records, newest first, continuing from the last one fed. */
  feed(older: readonly LogRecord[]): void {
    for (const r of older) {
      if (this.done) return;
      this.examined++;
      this.oldest = r;
      for (const [path, segments] of this.open) {
        const was = r.deleted || r.value === undefined ? undefined : valueAt(r.value, segments);
        if (was !== undefined && sameLeaf(was, this.current.get(path)!)) this.owner.set(path, r);
        else this.open.delete(path);
      }
    }
  }

  /** Leaves unchanged back to the oldest record fed, whose origin may lie further back. */
  get unresolved(): string[] {
    return [...this.open.keys()];
  }

  lines(): BlameLine[] {
    return [...this.current.entries()].map(([path, value]) => ({ path, value, record: this.owner.get(path)! }));
  }
}

/**
 * Attributes each leaf of the newest record's value to the oldest version from
 * which that leaf stayed unchanged up to now. `history` is newest first and
 * starts with the live record; a history cut short attributes to its oldest record.
 */
export function blame(history: readonly LogRecord[]): BlameLine[] {
  const head = history[0];
  if (head === undefined || head.deleted || head.value === undefined) return [];
  const walk = new BlameWalk(head);
  walk.feed(history.slice(1));
  return walk.lines();
}
