import type { LogRecord } from "@ctm/core/record";
import { failedPrecondition } from "../../domain/errors.js";
import type { LogStore } from "../log-store.js";
import { u64 } from "../level/codec.js";
import { decodeLogValue, encodeLogValue, GENESIS, recordHash } from "../level/record-bytes.js";
import { Compare_CompareTarget as Target, type RequestOp } from "../../gen/etcd/etcdserverpb/rpc.js";
import { EtcdClient, type EtcdConnection } from "./etcd-client.js";
import { EtcdLayout, prefixEnd } from "./etcd-layout.js";
import { encodeHorizon } from "./etcd-horizon.js";
import { cmp, put, rangeOf, readOp } from "./etcd-ops.js";
import { BelowDigest } from "../below-digest.js";
import type { CompactedBelow } from "../level/compactor.js";
import { indexEntries } from "./etcd-index.js";

export interface MigrationReport {
  /** Records copied: every revision up to the head, less what compaction removed below the horizon. */
  readonly records: number;
  readonly keys: number;
  readonly headRevision: number;
  /** The oldest revision served, as the source's compaction left it (1 when it never ran). */
  readonly horizon: number;
  readonly durationMs: number;
}

/** What a migration reads: an open store, and what its compaction left below its horizon. */
export interface MigrationSource extends Pick<LogStore, "headRevision" | "firstRevision" | "range"> {
  compactedLog(): Promise<{ below: CompactedBelow; pages: AsyncIterable<[number, Buffer][]> } | undefined>;
}

const PAGE = 1000;
const TXN_OPS = 127;
const TXN_BYTES = 1_200_000;

/**
 * Copies every record of `source` (an open embedded store) into an empty etcd store under
 * `prefix`, with its revision, version, time, author and message, and the indexes the etcd
 * store reads. meta/head goes last, in a transaction that checks the prefix is still empty of a
 * log: a replica opened before that sees an empty store, never a partial one.
 *
 * A compacted store keeps its horizon: what compaction left below it (gaps, stripped records)
 * is copied byte for byte and checked against the digest compaction noted, which goes to
 * meta/horizon, so etcd's replicas refuse the same reads, verify the same way and compact on
 * from there. Its archives stay where they are.
 */
export async function migrateToEtcd(source: MigrationSource, connection: EtcdConnection, prefix: string, progress: (revision: number, head: number) => void = () => undefined): Promise<MigrationReport> {
  const started = Date.now();
  const L = new EtcdLayout(prefix);
  const etcd = new EtcdClient(connection);
  try {
    const anyLog: RequestOp = { request: { $case: "requestRange", value: { ...rangeOf(L.logPrefix), rangeEnd: prefixEnd(L.logPrefix), limit: 1n, keysOnly: true } } };
    const found = (await etcd.readTxn({ success: [readOp(L.head), anyLog] })).responses.map((r) => (r.response?.$case === "responseRange" ? r.response.value.kvs.length > 0 : false));
    const [headKv, logKv] = found;
    if (headKv) throw failedPrecondition(`etcd already holds a ctm log under ${prefix}: migrate into an empty prefix`);
    if (logKv) throw failedPrecondition(`etcd holds records under ${prefix} but no meta/head, the remains of a migration that was cut short: delete everything under the prefix (etcdctl del --prefix ${prefix}) and migrate again`);
    const head = source.headRevision;
    const H = source.firstRevision;
    const below = H > 1 ? (await source.compactedLog())?.below : undefined;
    if (H > 1 && below?.horizon !== H) throw failedPrecondition(`the store serves from revision ${H} but notes no compaction to it: verify it (ctmd verify) before migrating`);
    // Checked before anything is written, so a store whose compacted part was damaged leaves etcd untouched.
    if (below) await checkBelow(source, below);
    try {
      return await copy(etcd, L, source, below, progress, started);
    } catch (e) {
      // Whatever was copied goes, unless a log is there now (then it is not this migration's).
      await etcd.txn({ compare: [cmp(L.head, Target.VERSION, 0n)], success: [{ request: { $case: "requestDeleteRange", value: { key: L.everything[0], rangeEnd: L.everything[1], prevKv: false } } }] }).catch(() => undefined);
      throw e;
    }
  } finally {
    etcd.close();
  }
}

/** The records below the horizon are those compaction left, as its digest says. */
async function checkBelow(source: MigrationSource, below: CompactedBelow): Promise<void> {
  const digest = new BelowDigest(below.prevHash);
  for await (const page of (await source.compactedLog())!.pages) for (const [rev, value] of page) digest.add(rev, value);
  if (!digest.finish().equals(below.digest)) throw failedPrecondition(`the records below the compaction horizon ${below.horizon} differ from those compaction left: verify it (ctmd verify) before migrating`);
}

async function copy(etcd: EtcdClient, L: EtcdLayout, source: MigrationSource, below: CompactedBelow | undefined, progress: (revision: number, head: number) => void, started: number): Promise<MigrationReport> {
  const head = source.headRevision;
  const H = source.firstRevision;
  const latest = new Map<string, Buffer>();
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
    ops.push(put(key, value));
    bytes += key.length + value.length;
  };
  let copied = 0;
  if (below) {
    for await (const page of (await source.compactedLog())!.pages) {
      const records: LogRecord[] = [];
      for (const [rev, value] of page) {
        const r = decodeLogValue(value).record;
        if (r.revision !== rev) throw failedPrecondition(`the record stored at revision ${rev} names revision ${r.revision}: verify it (ctmd verify) before migrating`);
        await add(L.log(rev), value);
        latest.set(r.key, value);
        records.push(r);
        copied++;
      }
      for (const [k, v] of indexEntries(L, records)) await add(k, v);
      if (page.length > 0) progress(page[page.length - 1]![0], head);
    }
  }
  // From the horizon on, the chain is written anew from the hash the record there names.
  let prev: Buffer = below ? below.prevHash : GENESIS;
  let expected = H;
  for (let from = H; from <= head; ) {
    const page: LogRecord[] = await source.range(from, head, PAGE);
    if (page.length === 0) throw failedPrecondition(`the store has no record at revision ${from} below its head ${head}: verify it (ctmd verify) before migrating`);
    for (const r of page) {
      if (r.revision !== expected) throw failedPrecondition(`the store's log skips from revision ${expected - 1} to ${r.revision}: verify it (ctmd verify) before migrating`);
      const value = encodeLogValue(prev, r);
      prev = recordHash(value);
      await add(L.log(r.revision), value);
      latest.set(r.key, value);
      copied++;
      expected++;
    }
    for (const [k, v] of indexEntries(L, page)) await add(k, v);
    from = page[page.length - 1]!.revision + 1;
    progress(from - 1, head);
  }
  for (const [key, value] of latest) await add(L.headOf(key), value);
  await flush();
  const res = await etcd.txn({
    compare: [cmp(L.head, Target.VERSION, 0n)],
    success: [
      ...(below ? [put(L.horizon, encodeHorizon({ revision: H, time: below.time, prevHash: below.prevHash, digest: below.digest }))] : []),
      put(L.indexed, u64(head)),
      put(L.head, Buffer.concat([u64(head), prev])),
    ],
  });
  if (!res.succeeded) throw failedPrecondition(`a ctmd replica wrote under ${L.prefix} while the migration ran: migrate into an empty prefix with no replica running`);
  return { records: copied, keys: latest.size, headRevision: head, horizon: H, durationMs: Date.now() - started };
}
