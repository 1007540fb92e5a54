import type { LogRecord } from "@ctm/core/record";
import { u64 } from "../level/codec.js";
import type { EtcdLayout } from "./etcd-layout.js";

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
export function entriesFor(r: LogRecord, msSeen: Set<number>): number {
  return 1 + (r.version % VERSION_STEP === 1 ? 1 : 0) + (msSeen.has(r.time) ? 0 : 1);
}
