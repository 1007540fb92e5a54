import { BTreeEx } from "sorted-btree/extended/index.js";
import { compareKeys } from "../../domain/key-order.js";

/** A key's revisions, oldest first: a lone number for a key written once, as most are. */
type Revisions = number | number[];
type Tree = BTreeEx<string, Revisions>;

/** Keys looked at per chunk of a page: the index answers synchronously, so a page yields between chunks. */
const CHUNK = 1024;

/**
 * Keys bulk-loaded at once while building from the key index. One load of a million keys held
 * the event loop for over 200 ms; a part of this size takes about 15 ms, and joining parts whose
 * key ranges do not overlap reuses their subtrees, so it costs a path, not a copy.
 */
const PART = 32_768;

/**
 * Every key's revisions in memory, in the keys' UTF-8 order, like etcd's tree index: a page of
 * the keys as they stood at any revision is then a walk of the tree and a binary search per key,
 * where the key index on disk holds every version of every key and costs a read of each.
 */
export class RevisionIndex {
  private constructor(private readonly tree: Tree) {}

  /** From (key, revision) pairs sorted by key, then revision: the key index's own order. */
  static fromSorted(keys: string[], revisions: Revisions[]): RevisionIndex {
    return new RevisionIndex(load(keys, revisions));
  }

  /**
   * From the key index's entries (`<key> 0x00 <revision, 8 bytes>`, in key then revision order),
   * read `batch` at a time; revisions above `upTo` are left out. Undefined once `stopped()`.
   * The tree is loaded `part` keys at a time as they are read, so no step holds the loop long.
   */
  static async fromKeyIndex(
    next: (n: number) => Promise<Buffer[]>,
    o: { upTo: number; batch: number; canonical: (key: string) => string; stopped: () => boolean; part?: number },
  ): Promise<RevisionIndex | undefined> {
    let keys: string[] = [];
    let revisions: Revisions[] = [];
    let tree: Tree | undefined;
    let current: Buffer | undefined;
    for (;;) {
      const batch = await next(o.batch);
      if (batch.length === 0) break;
      if (o.stopped()) return undefined;
      if (keys.length > (o.part ?? PART)) {
        // Every key but the last is complete: the next batch may still hold revisions of the last.
        const part = load(keys.slice(0, -1), revisions.slice(0, -1));
        tree = tree === undefined ? part : tree.union(part, duplicate);
        keys = keys.slice(-1);
        revisions = revisions.slice(-1);
      }
      for (const k of batch) {
        const keyLength = k.length - 9;
        const rev = k.readUInt32BE(keyLength + 1) * 0x1_0000_0000 + k.readUInt32BE(keyLength + 5);
        if (rev > o.upTo) continue;
        if (current === undefined || keyLength !== current.length || k.compare(current, 0, keyLength, 0, keyLength) !== 0) {
          trimLast(revisions);
          current = Buffer.from(k.subarray(0, keyLength));
          keys.push(o.canonical(current.toString("utf8")));
          revisions.push(rev);
        } else {
          const last = revisions.length - 1;
          const revs = revisions[last]!;
          if (typeof revs === "number") revisions[last] = [revs, rev];
          else revs.push(rev);
        }
      }
    }
    trimLast(revisions);
    const part = load(keys, revisions);
    return new RevisionIndex(tree === undefined ? part : tree.union(part, duplicate));
  }

  get size(): number {
    return this.tree.size;
  }

  /** The keys that start with `prefix`, in order. */
  *keysUnder(prefix: string): Generator<string> {
    for (const [key] of this.tree.entries(prefix)) {
      if (!key.startsWith(prefix)) return;
      yield key;
    }
  }

  /** `key`'s newest revision at or below `revision`, or undefined when it had none yet (or is unknown). */
  revisionAt(key: string, revision: number): number | undefined {
    const revs = this.tree.get(key);
    return revs === undefined ? undefined : newestAtOrBelow(revs, revision);
  }

  /** Up to `limit` of `key`'s revisions at or below `upTo`, newest first. */
  newestFirst(key: string, upTo: number, limit: number): number[] {
    const revs = this.tree.get(key);
    if (revs === undefined || limit <= 0) return [];
    if (typeof revs === "number") return revs <= upTo ? [revs] : [];
    const out: number[] = [];
    for (let i = lastAtOrBelow(revs, upTo); i >= 0 && out.length < limit; i--) out.push(revs[i]!);
    return out;
  }

  /** Records a new revision of `key`; one at or below the key's last is already there. */
  add(key: string, revision: number): void {
    const revs = this.tree.get(key);
    if (revs === undefined) this.tree.set(key, revision);
    else if (typeof revs === "number") {
      if (revision > revs) this.tree.set(key, [revs, revision]);
    } else if (revision > revs[revs.length - 1]!) revs.push(revision);
  }

  /** Forgets a revision of `key` that compaction removed; a key's last revision is never removed. */
  remove(key: string, revision: number): void {
    const revs = this.tree.get(key);
    if (revs === undefined || typeof revs === "number") return;
    const at = revs.indexOf(revision);
    if (at < 0) return;
    revs.splice(at, 1);
    if (revs.length === 1) this.tree.set(key, revs[0]!);
  }

  /**
   * The keys under `prefix` after `after` (all when absent), at most `limit` of them, each with
   * its newest revision at or below `revision` (keys born later are looked at and left out),
   * a chunk at a time; then `{ last }` when more keys follow the last one looked at. An item's
   * third member says whether that revision is the newest the key has: only then can it be the
   * key's head, so an older one needs no look at the heads.
   */
  *pageAt(prefix: string, revision: number, limit: number, after?: string): Generator<{ items: [string, number, boolean][] } | { last: string }> {
    let from = after ?? prefix;
    let exclusive = after !== undefined;
    let looked = 0;
    let last: string | undefined;
    for (;;) {
      const items: [string, number, boolean][] = [];
      let chunk = 0;
      let next: string | undefined;
      let more = false;
      for (const [key, revs] of this.tree.entries(from)) {
        if (exclusive && key === from) continue;
        if (!key.startsWith(prefix)) break;
        if (looked === limit) {
          more = true;
          break;
        }
        if (chunk === CHUNK) {
          next = key;
          break;
        }
        looked++;
        chunk++;
        last = key;
        const found = newestAtOrBelow(revs, revision);
        if (found !== undefined) items.push([key, found, typeof revs === "number" || found === revs[revs.length - 1]]);
      }
      if (items.length > 0) yield { items };
      if (more) {
        yield { last: last! };
        return;
      }
      if (next === undefined) return;
      // A fresh walk per chunk: the consumer reads between chunks, and commits may change the tree meanwhile.
      from = next;
      exclusive = false;
    }
  }
}

function load(keys: string[], revisions: Revisions[]): Tree {
  return BTreeEx.bulkLoad(keys, revisions, 64, compareKeys);
}

/** Parts are cut between keys, so no key is in two of them. */
function duplicate(key: string): never {
  throw new Error(`revision index: key ${JSON.stringify(key)} in two parts`);
}

function newestAtOrBelow(revs: Revisions, revision: number): number | undefined {
  if (typeof revs === "number") return revs <= revision ? revs : undefined;
  const at = lastAtOrBelow(revs, revision);
  return at < 0 ? undefined : revs[at];
}

/** The last index of `revs` (ascending) whose revision is at or below `revision`, or -1. */
function lastAtOrBelow(revs: number[], revision: number): number {
  if (revs[revs.length - 1]! <= revision) return revs.length - 1;
  let lo = 0;
  let hi = revs.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (revs[mid]! <= revision) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

/** A key's revisions grew by push, with room to spare: keep an exact copy, as most keys never grow again. */
function trimLast(revisions: Revisions[]): void {
  const last = revisions[revisions.length - 1];
  if (Array.isArray(last)) revisions[revisions.length - 1] = last.slice();
}
