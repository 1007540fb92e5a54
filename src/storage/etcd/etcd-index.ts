import type { LogRecord } from "@ctm/core/record";
import { u64 } from "../level/codec.js";
import type { RequestOp } from "../../gen/etcd/etcdserverpb/rpc.js";
import type { TailEntry } from "./applied-log.js";
import type { EtcdLayout } from "./etcd-layout.js";
import { put } from "./etcd-ops.js";

/**
 * Versions that get an iv/ entry: 1, then every VERSION_STEP-th. A key's versions are
 * consecutive in ik/ (one entry per record, in revision order, valued with its version), so
 * any version is found from the nearest iv/ entry below it by reading at most VERSION_STEP
 * ik/ entries. Every etcd key written per record costs etcd as much as the record itself.
 */
export const VERSION_STEP = 64;

const EMPTY = Buffer.alloc(0);

/**
 * The index entries of records given in revision order: ik/ for each, iv/ for the versions
 * above, and one it/ entry per distinct millisecond, holding the last revision of that
 * millisecond. Record times never go back, so the newest it/ entry at or before a time names
 * the newest revision at or before it, as one entry per record would.
 */
export function indexEntries(L: EtcdLayout, records: readonly LogRecord[]): [Buffer, Buffer][] {
  const out: [Buffer, Buffer][] = [];
  const lastOfMs = new Map<number, number>();
  for (const r of records) {
    out.push([L.keyRev(r.key, r.revision), u64(r.version)]);
    if (r.version % VERSION_STEP === 1) out.push([L.keyVersion(r.key, r.version), u64(r.revision)]);
    lastOfMs.set(r.time, r.revision);
  }
  for (const [ms, rev] of lastOfMs) out.push([L.timeRev(ms, rev), EMPTY]);
  return out;
}

/** How many entries indexEntries adds for `r` on top of those for the records before it (`msSeen`: their times). */
function entriesFor(r: LogRecord, msSeen: Set<number>): number {
  return 1 + (r.version % VERSION_STEP === 1 ? 1 : 0) + (msSeen.has(r.time) ? 0 : 1);
}

/** The puts that index `entries` (in revision order): their entries, every key's newest record under h/, and meta/indexed at the last one. */
export function indexPuts(L: EtcdLayout, entries: readonly TailEntry[]): RequestOp[] {
  const ops = indexEntries(L, entries.map((e) => e.record)).map(([k, v]) => put(k, v));
  const newest = new Map<string, TailEntry>();
  for (const e of entries) newest.set(e.record.key, e);
  for (const [k, e] of newest) ops.push(put(L.headOf(k), e.bytes));
  ops.push(put(L.indexed, u64(entries[entries.length - 1]!.record.revision)));
  return ops;
}

/** How many index operations (entries, h/<key> puts, meta/indexed) a run of records needs, added up. */
export class IndexCost {
  ops = 1;
  private readonly ms = new Set<number>();
  private readonly keys = new Set<string>();

  /** Adds `records`, which follow those added before. */
  add(records: readonly LogRecord[]): void {
    for (const r of records) {
      this.ops += entriesFor(r, this.ms) + (this.keys.has(r.key) ? 0 : 1);
      this.ms.add(r.time);
      this.keys.add(r.key);
    }
  }
}
