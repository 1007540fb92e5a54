import { readU64, u64 } from "../level/codec.js";

/**
 * Where the etcd store keeps things, under its prefix. One etcd key per record, written once
 * and never changed, so etcd's own compaction (which drops superseded versions of a key) never
 * removes ctm history.
 *
 *   log/<rev>            a record: CBOR [hash of the record before, record] (the level store's bytes)
 *   meta/head            the head revision (u64) and the hash of its record: the commit point
 *   meta/indexed         the revision up to which every index below is written
 *   meta/horizon         the compaction horizon: the oldest revision served, and what vouches for
 *                        the records compaction left below it (see EtcdHorizon)
 *   meta/intent          held (on a lease) while one commit too large for a transaction is written
 *                        in several: no other commit lands meanwhile
 *   election/leader      the leader's id, on its lease: created by the replica that runs the loops
 *   h/<key>              the key's newest record (its log bytes) as of meta/indexed: start-up
 *   ik/<key>\0<rev>      the key's record at rev, valued its version: history and time travel
 *   iv/<key>\0<version>  the revision of a key's version
 *   it/<ms><rev>         wall time to revision
 *   n/<name>             operational notes (not history)
 *
 * Numbers are big-endian u64, so byte order is number order. "log/" and "meta/" are adjacent
 * in byte order: one watch on [log/, meta0) follows every commit and the horizon.
 */
export class EtcdLayout {
  readonly logPrefix: Buffer;
  readonly head: Buffer;
  readonly indexed: Buffer;
  readonly intent: Buffer;
  readonly horizon: Buffer;
  readonly leader: Buffer;
  readonly headsPrefix: Buffer;
  readonly notesPrefix: Buffer;
  private readonly ik: Buffer;
  private readonly iv: Buffer;
  private readonly it: Buffer;

  constructor(readonly prefix: string) {
    const p = (s: string): Buffer => Buffer.from(prefix + s, "utf8");
    this.logPrefix = p("log/");
    this.head = p("meta/head");
    this.indexed = p("meta/indexed");
    this.intent = p("meta/intent");
    this.horizon = p("meta/horizon");
    this.leader = p("election/leader");
    this.headsPrefix = p("h/");
    this.notesPrefix = p("n/");
    this.ik = p("ik/");
    this.iv = p("iv/");
    this.it = p("it/");
  }

  log(rev: number): Buffer {
    return Buffer.concat([this.logPrefix, u64(rev)]);
  }

  revOfLog(key: Uint8Array): number {
    return readU64(key, key.length - 8);
  }

  /** [from, to) of a watch that sees every log record and the meta keys (head, indexed, horizon). */
  get followRange(): [Buffer, Buffer] {
    return [this.logPrefix, Buffer.from(this.prefix + "meta0", "utf8")];
  }

  /** The whole store: what a failed migration removes, and a test's cleanup. */
  get everything(): [Buffer, Buffer] {
    return [Buffer.from(this.prefix, "utf8"), prefixEnd(Buffer.from(this.prefix, "utf8"))];
  }

  headOf(key: string): Buffer {
    return Buffer.concat([this.headsPrefix, Buffer.from(key, "utf8")]);
  }

  keyRev(key: string, rev: number): Buffer {
    return Buffer.concat([this.ik, Buffer.from(key, "utf8"), ZERO, u64(rev)]);
  }

  keyVersion(key: string, version: number): Buffer {
    return Buffer.concat([this.iv, Buffer.from(key, "utf8"), ZERO, u64(version)]);
  }

  timeRev(ms: number, rev: number): Buffer {
    return Buffer.concat([this.it, u64(ms), u64(rev)]);
  }

  timeFloor(): Buffer {
    return this.it;
  }

  note(name: string): Buffer {
    return Buffer.concat([this.notesPrefix, Buffer.from(name, "utf8")]);
  }
}

const ZERO = Buffer.from([0]);

/** The first key after every key that starts with `p` (etcd's range_end for a prefix). */
export function prefixEnd(p: Buffer): Buffer {
  const end = Buffer.from(p);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  // Every byte 0xff: to the end of the keyspace.
  return Buffer.from([0]);
}
