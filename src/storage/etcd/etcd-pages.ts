import type { KeyValue } from "../../gen/etcd/mvccpb/kv.js";
import type { EtcdClient } from "./etcd-client.js";

export interface PageOptions {
  /** The etcd revision to read at; by default the first page's, so every page shows one state. */
  readonly at?: bigint;
  /**
   * false: each page is read at etcd's latest revision. For a stretch that nothing but this reader
   * changes (the log below a compaction's horizon), which then reads the same, and survives etcd
   * compacting its own history under a long read.
   */
  readonly pinned?: boolean;
  readonly limit?: number;
}

const ZERO = Buffer.from([0]);

/** Every key in [from, to), a page at a time. */
export async function* etcdPages(client: EtcdClient, from: Buffer, to: Buffer, o: PageOptions = {}): AsyncGenerator<KeyValue[]> {
  let key = from;
  let revision = o.at ?? 0n;
  for (;;) {
    const r = await client.range({ key, rangeEnd: to, limit: BigInt(o.limit ?? 1000), revision });
    if (o.pinned !== false) revision = r.header!.revision;
    if (r.kvs.length > 0) yield r.kvs;
    if (!r.more || r.kvs.length === 0) return;
    key = Buffer.concat([Buffer.from(r.kvs[r.kvs.length - 1]!.key), ZERO]);
  }
}
