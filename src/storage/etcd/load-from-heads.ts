import { CtmError } from "../../domain/errors.js";
import { Compare_CompareTarget as Target } from "../../gen/etcd/etcdserverpb/rpc.js";
import { readU64, u64 } from "../level/codec.js";
import { decodeLogValue, GENESIS } from "../level/record-bytes.js";
import type { AppliedLog } from "./applied-log.js";
import type { EtcdClient } from "./etcd-client.js";
import { prefixEnd, type EtcdLayout } from "./etcd-layout.js";
import { cmp, put } from "./etcd-ops.js";
import { etcdPages } from "./etcd-pages.js";
import { readHead } from "./head-value.js";
import type { ServedHorizon } from "./served-horizon.js";

/**
 * Loads the etcd store into `log`: every key's newest record from h/ as of meta/indexed, then
 * the log's records above it, all read at one etcd revision (`at`, where the watch starts after).
 * Returns it, and the revision meta/head names.
 */
export async function loadFromHeads(client: EtcdClient, L: EtcdLayout, horizon: ServedHorizon, log: AppliedLog, counters: { openLogReads: number }): Promise<{ at: bigint; rev: number }> {
  // meta/indexed exists from the first open on, so the indexer can compare its value.
  await client.txn({ compare: [cmp(L.indexed, Target.VERSION, 0n)], success: [put(L.indexed, u64(0))] });
  const head = await client.range({ key: L.head });
  const at = head.header!.revision;
  const kv = head.kvs[0];
  const { rev, hash } = kv ? readHead(kv.value) : { rev: 0, hash: GENESIS };
  const indexed = readU64((await client.range({ key: L.indexed, revision: at })).kvs[0]!.value);
  horizon.follow((await client.range({ key: L.horizon, revision: at })).kvs[0]?.value);
  // Every key's newest record as of meta/indexed, then the records above it: one snapshot (at).
  for await (const kvs of etcdPages(client, L.headsPrefix, prefixEnd(L.headsPrefix), { at })) {
    for (const h of kvs) {
      const r = decodeLogValue(h.value).record;
      log.committed.set(r.key, r);
      counters.openLogReads++;
    }
  }
  log.committedRev = indexed;
  log.indexedRev = indexed;
  if (rev > indexed) {
    for await (const kvs of etcdPages(client, L.log(indexed + 1), L.log(rev + 1), { at })) {
      for (const e of kvs) {
        const bytes = Buffer.from(e.value);
        const r = decodeLogValue(bytes).record;
        counters.openLogReads++;
        log.take(r, bytes);
      }
    }
  }
  if (log.committedRev !== rev) throw new CtmError("data_loss", `etcd store ${L.prefix}: meta/head says revision ${rev} but the log ends at ${log.committedRev}`);
  log.committedHash = hash;
  return { at, rev };
}
