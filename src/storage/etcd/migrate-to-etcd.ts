import type { LogRecord } from "../../domain/record.js";
import { failedPrecondition } from "../../domain/errors.js";
import type { LogStore } from "../log-store.js";
import { u64 } from "../level/codec.js";
import { encodeLogValue, GENESIS, recordHash } from "../level/record-bytes.js";
import { Compare_CompareResult as Result, Compare_CompareTarget as Target, type RequestOp } from "../../gen/etcd/etcdserverpb/rpc.js";
import { EtcdClient, type EtcdConnection } from "./etcd-client.js";
import { EtcdLayout } from "./etcd-layout.js";
import { indexEntries } from "./etcd-index.js";

export interface MigrationReport {
  readonly records: number;
  readonly keys: number;
  readonly headRevision: number;
  readonly durationMs: number;
}

const PAGE = 1000;
const TXN_OPS = 127;
const TXN_BYTES = 1_200_000;

/**
 * Copies every record of `source` (an open store, usually the embedded one) into an empty etcd
 * store under `prefix`, with its revision, version, time, author and message, and the indexes
 * the etcd store reads. meta/head goes last, in a transaction that checks the prefix is still
 * empty of a log: a replica opened before that sees an empty store, never a partial one.
 */
export async function migrateToEtcd(source: LogStore, connection: EtcdConnection, prefix: string, progress: (done: number, total: number) => void = () => undefined): Promise<MigrationReport> {
  const started = Date.now();
  if (source.firstRevision > 1) {
    throw failedPrecondition(`the store was compacted (its oldest revision is ${source.firstRevision}); the etcd store keeps a log from revision 1, so restore it from its archive first or migrate before compacting`);
  }
  const L = new EtcdLayout(prefix);
  const etcd = new EtcdClient(connection);
  try {
    if ((await etcd.range({ key: L.head })).kvs.length > 0) throw failedPrecondition(`etcd already holds a ctm log under ${prefix}: migrate into an empty prefix`);
    const head = source.headRevision;
    const latest = new Map<string, Buffer>();
    let prev: Buffer = GENESIS;
    let ops: RequestOp[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (ops.length === 0) return;
      await etcd.txn({ success: ops });
      ops = [];
      bytes = 0;
    };
    const add = async (key: Buffer, value: Buffer): Promise<void> => {
      if (ops.length >= TXN_OPS || bytes + key.length + value.length > TXN_BYTES) await flush();
      ops.push({ request: { $case: "requestPut", value: { key, value, lease: 0n, prevKv: false } } });
      bytes += key.length + value.length;
    };
    let done = 0;
    for (let from = 1; from <= head; ) {
      const page: LogRecord[] = await source.range(from, head, PAGE);
      if (page.length === 0) throw failedPrecondition(`the store has no record at revision ${from} below its head ${head}: verify it (ctmd verify) before migrating`);
      for (const r of page) {
        if (r.revision !== done + 1) throw failedPrecondition(`the store's log skips from revision ${done} to ${r.revision}: verify it (ctmd verify) before migrating`);
        const value = encodeLogValue(prev, r);
        prev = recordHash(value);
        await add(L.log(r.revision), value);
        latest.set(r.key, value);
        done++;
      }
      for (const [k, v] of indexEntries(L, page)) await add(k, v);
      from = page[page.length - 1]!.revision + 1;
      progress(done, head);
    }
    for (const [key, value] of latest) await add(L.headOf(key), value);
    await flush();
    const res = await etcd.txn({
      compare: [{ result: Result.EQUAL, target: Target.VERSION, key: L.head, targetUnion: { $case: "version", value: 0n }, rangeEnd: Buffer.alloc(0) }],
      success: [
        { request: { $case: "requestPut", value: { key: L.indexed, value: u64(head), lease: 0n, prevKv: false } } },
        { request: { $case: "requestPut", value: { key: L.head, value: Buffer.concat([u64(head), prev]), lease: 0n, prevKv: false } } },
      ],
    });
    if (!res.succeeded) throw failedPrecondition(`a ctmd replica wrote under ${prefix} while the migration ran: migrate into an empty prefix with no replica running`);
    return { records: done, keys: latest.size, headRevision: head, durationMs: Date.now() - started };
  } finally {
    etcd.close();
  }
}
