import type { Draft, LogRecord } from "@ctm/core/record";
import { Compare_CompareTarget as Target, type Compare, type RequestOp } from "../../gen/etcd/etcdserverpb/rpc.js";
import { BelowDigest } from "../below-digest.js";
import { compactionTally, type CompactionOutcome, type CompactionPlan, type Disposition } from "../compaction.js";
import { readArchive, removeArchive, writeArchive, type ArchiveEntry } from "../level/archive-file.js";
import { decodeLogValue } from "../level/record-bytes.js";
import { stripRecord, strippable } from "../strip-record.js";
import { timeSlices } from "../time-slices.js";
import type { EtcdClient } from "./etcd-client.js";
import { encodeHorizon, type EtcdHorizon } from "./etcd-horizon.js";
import { VERSION_STEP } from "./etcd-index.js";
import type { EtcdLayout } from "./etcd-layout.js";
import { cmp, del, opBytes, put } from "./etcd-ops.js";
import { etcdPages } from "./etcd-pages.js";

/** What a compaction needs of the etcd store it runs in. */
export interface CompactionSite {
  readonly client: EtcdClient;
  readonly layout: EtcdLayout;
  readonly archiveDir: string;
  readonly now: () => number;
  /** Aborted when the store closes: the run stops at its next step. */
  readonly signal: AbortSignal;
  readonly maxTxnOps: number;
  readonly maxTxnBytes: number;
  /** What every write of the run compares besides meta/horizon: the leadership, when the store has an election. */
  fencing(): Compare[];
  /** The error for a write whose comparison failed: the leadership moved, or another compaction ran. */
  refused(step: string): Promise<Error>;
  /** The key's newest record, which never leaves. */
  latest(key: string): LogRecord | undefined;
  /** Raises the horizon this replica serves from. */
  raise(h: EtcdHorizon): void;
  /** Commits the report record, fenced like the rest, in the transaction that puts `h` at meta/horizon. */
  commitReport(report: Draft, h: EtcdHorizon): Promise<LogRecord>;
}

/** Log records read per page: records can be large, and a page is decoded in one go. */
const PAGE = 256;

/**
 * Compaction on etcd, with the embedded store's contract (see CompactionPlan):
 *
 * 1. One pass over log/ from revision 1 (what earlier runs kept below the horizon may leave now:
 *    values first, audit records later) to the plan's horizon offers each superseded record to
 *    the plan, and writes what leaves to an archive in the archive directory of this replica.
 * 2. meta/horizon is published, fenced: from then on every replica refuses reads below it (each
 *    learns it through its watch, or from the reads that meet it in etcd).
 * 3. What leaves is removed (its log/ key and its ik/, iv/ and it/ entries) or stripped, a fenced
 *    transaction at a time, from the archive.
 * 4. The digest of what is left below the horizon goes into meta/horizon in the transaction that
 *    commits the report record.
 *
 * A replica that dies before step 2 changed nothing in etcd. One that dies after it leaves
 * meta/horizon without a digest and, maybe, records that should have left: reads at revisions
 * below the horizon are refused already (History may still list those records), and the next
 * compaction, on whichever replica leads next, reads the log from revision 1 again, offers them
 * again and removes them; its report and digest end the matter. Its archive may hold records
 * the cut-short run's archive holds too; `ctm archive` reads each revision once.
 */
export async function compactEtcd(site: CompactionSite, plan: CompactionPlan, current: EtcdHorizon, currentModRevision: bigint): Promise<CompactionOutcome> {
  const previousHorizon = current.revision;
  const { counts, offer, counted, horizon } = compactionTally(plan, previousHorizon);
  const header = { previousHorizon, created: Math.floor(site.now()) };
  const written = await writeArchive(site.archiveDir, header, counted(leaving(site, plan.horizon, offer)), horizon);
  if (written.records === 0) removeArchive(written.file);
  // Nothing left and the horizon stays: nothing happened, and nothing is reported.
  if (written.records === 0 && horizon() === previousHorizon) return { horizon: previousHorizon, previousHorizon, removed: 0, stripped: 0 };
  const outcome: CompactionOutcome = {
    horizon: horizon(),
    previousHorizon,
    removed: counts.remove,
    stripped: counts.strip,
    ...(written.records > 0 ? { archive: written } : {}),
  };
  const published = await horizonAt(site, outcome.horizon);
  let modRevision: bigint;
  try {
    modRevision = await write(site, currentModRevision, [put(site.layout.horizon, encodeHorizon(published))], "publish its horizon");
  } catch (e) {
    // Nothing left the store: the archive would name records that are still there.
    if (outcome.archive) removeArchive(outcome.archive.file);
    throw e;
  }
  site.raise(published);
  if (outcome.archive) await apply(site, outcome.archive, modRevision);
  const digest = await belowDigest(site, published);
  const report = await site.commitReport(plan.report(outcome), { ...published, digest });
  return { ...outcome, report: { revision: report.revision, time: report.time } };
}

/**
 * The records below `horizon` that the plan lets go, as archive entries. Each key's last record
 * seen is kept until its next version comes by, which tells when it was superseded; a key's
 * newest record is never kept, as it never leaves. A record whose next version already left is
 * not offered again (the embedded store does the same).
 */
async function* leaving(site: CompactionSite, horizon: number, offer: (r: LogRecord, at: number) => Disposition): AsyncGenerator<ArchiveEntry> {
  const pause = timeSlices();
  const last = new Map<string, { record: LogRecord; bytes: Buffer }>();
  const L = site.layout;
  for await (const kvs of etcdPages(site.client, L.log(1), L.log(horizon + 1), { pinned: false, limit: PAGE })) {
    for (const kv of kvs) {
      const bytes = Buffer.from(kv.value);
      const r = decodeLogValue(bytes).record;
      const before = last.get(r.key);
      if (before !== undefined && before.record.version + 1 === r.version) {
        const d = offer(before.record, r.revision);
        if (d === "remove" || (d === "strip" && strippable(before.record))) yield [d, before.bytes, r.revision, r.time];
      }
      if (site.latest(r.key)?.revision === r.revision) last.delete(r.key);
      else last.set(r.key, { record: r, bytes });
      const turn = pause();
      if (turn) await turn;
    }
    site.signal.throwIfAborted();
  }
}

/** The horizon to publish at `revision`: the time of its record and the hash that record names. */
async function horizonAt(site: CompactionSite, revision: number): Promise<EtcdHorizon> {
  const kv = (await site.client.range({ key: site.layout.log(revision) })).kvs[0];
  if (!kv) throw new Error(`the record at the new horizon ${revision} is missing from etcd`);
  const { record, prev } = decodeLogValue(kv.value);
  if (prev === undefined) throw new Error(`the record at the new horizon ${revision} carries no predecessor hash`);
  return { revision, time: record.time, prevHash: Buffer.from(prev) };
}

/** One fenced transaction that also checks meta/horizon is as this run last wrote it; its etcd revision. */
async function write(site: CompactionSite, horizonModRevision: bigint, ops: RequestOp[], step: string): Promise<bigint> {
  const res = await site.client.txn({ compare: [cmp(site.layout.horizon, Target.MOD, horizonModRevision), ...site.fencing()], success: ops });
  if (!res.succeeded) throw await site.refused(step);
  return res.header!.revision;
}

/**
 * Carries out the archived entries, as many as fit a transaction at a time. A removed record
 * takes its index entries with it; the it/ entry exists only for the last record of its
 * millisecond, and deleting a key that is not there changes nothing. Idempotent, like the
 * embedded store's: a later run may meet what this one did.
 */
async function apply(site: CompactionSite, archive: { file: string; sha256: string }, horizonModRevision: bigint): Promise<void> {
  const L = site.layout;
  const { entries } = await readArchive(archive.file, archive.sha256);
  let ops: RequestOp[] = [];
  let bytes = 0;
  const send = async (): Promise<void> => {
    if (ops.length > 0) await write(site, horizonModRevision, ops, "remove what it archived");
    ops = [];
    bytes = 0;
    site.signal.throwIfAborted();
  };
  for await (const [what, raw] of entries) {
    const stored = decodeLogValue(raw);
    const r = stored.record;
    const next =
      what === "strip"
        ? [put(L.log(r.revision), stripRecord(stored))]
        : [del(L.log(r.revision)), del(L.keyRev(r.key, r.revision)), del(L.timeRev(r.time, r.revision)), ...(r.version % VERSION_STEP === 1 ? [del(L.keyVersion(r.key, r.version))] : [])];
    const size = next.reduce((n, op) => n + opBytes(op), 0);
    if (ops.length + next.length > site.maxTxnOps || bytes + size > site.maxTxnBytes) await send();
    ops.push(...next);
    bytes += size;
  }
  await send();
}

/** BelowDigest of the log below the horizon as it stands. */
async function belowDigest(site: CompactionSite, h: EtcdHorizon): Promise<Buffer> {
  const digest = new BelowDigest(h.prevHash);
  const pause = timeSlices();
  for await (const kvs of etcdPages(site.client, site.layout.log(1), site.layout.log(h.revision), { pinned: false, limit: PAGE })) {
    for (const kv of kvs) {
      digest.add(site.layout.revOfLog(kv.key), kv.value);
      const turn = pause();
      if (turn) await turn;
    }
    site.signal.throwIfAborted();
  }
  return digest.finish();
}
