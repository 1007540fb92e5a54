import type { RequestOp } from "../../gen/etcd/etcdserverpb/rpc.js";
import { disjointPrefixes } from "../disjoint-prefixes.js";
import type { EtcdClient } from "./etcd-client.js";
import { prefixEnd, type EtcdLayout } from "./etcd-layout.js";
import { rangeOf } from "./etcd-ops.js";
import { etcdPages } from "./etcd-pages.js";

/** Notes per prefix in the transaction's answer; a prefix that holds more is read on a page at a time. */
const FIRST_PAGE = 100;
const ZERO = Buffer.from([0]);

/**
 * The notes under any of `prefixes`, each once: one Range per prefix and `opsPerTxn` Ranges per
 * read transaction, so that many narrow prefixes (a key's note from each replica) cost a few
 * calls to etcd rather than one each.
 */
export async function* etcdNotesUnder(client: EtcdClient, layout: EtcdLayout, prefixes: readonly string[], opsPerTxn: number): AsyncGenerator<[string, Buffer]> {
  const note = (key: Uint8Array, value: Uint8Array): [string, Buffer] => [Buffer.from(key).subarray(layout.notesPrefix.length).toString("utf8"), Buffer.from(value)];
  const froms = disjointPrefixes(prefixes).map((p) => layout.note(p));
  for (let i = 0; i < froms.length; i += opsPerTxn) {
    const chunk = froms.slice(i, i + opsPerTxn);
    const ops: RequestOp[] = chunk.map((from) => ({ request: { $case: "requestRange", value: { ...rangeOf(from), rangeEnd: prefixEnd(from), limit: BigInt(FIRST_PAGE) } } }));
    const res = await client.readTxn({ success: ops });
    for (const [j, op] of res.responses.entries()) {
      if (op.response?.$case !== "responseRange") continue;
      const { kvs, more } = op.response.value;
      for (const kv of kvs) yield note(kv.key, kv.value);
      if (!more || kvs.length === 0) continue;
      // The rest of this prefix as it stood when the transaction read it.
      const after = Buffer.concat([Buffer.from(kvs[kvs.length - 1]!.key), ZERO]);
      for await (const page of etcdPages(client, after, prefixEnd(chunk[j]!), { at: res.header!.revision })) for (const kv of page) yield note(kv.key, kv.value);
    }
  }
}
