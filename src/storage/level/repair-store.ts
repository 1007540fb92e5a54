import { ClassicLevel } from "classic-level";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { keyNum, readU64, timeRev, u64 } from "./codec.js";
import { readWitness, writeWitness } from "./head-witness.js";
import { META, PREFIX, prefixed, sectionRange } from "./layout.js";
import { openFailure } from "./open-failure.js";
import { decodeLogValue, GENESIS, recordHash } from "./record-bytes.js";
import { BelowDigest } from "../below-digest.js";
import { decodeCompacted } from "./compactor.js";
import { undoUnfinishedWrite } from "./unfinished-write.js";

export interface RepairReport {
  /** LevelDB's own repair ran first (its CURRENT or MANIFEST was missing or damaged). */
  leveldbRepaired: boolean;
  /** Revisions 1..kept survive, verified. */
  kept: number;
  /** The newest revision the store or its witness knew of before the repair. */
  knownHead: number;
  /** Revisions that were acknowledged once and are gone now, as closed ranges. */
  lost: { from: number; to: number }[];
  lostCount: number;
  /** Why the intact prefix ends where it does; undefined when nothing was lost. */
  reason?: string;
  /** Lost records that could still be read, so an operator can redo them by hand. */
  lostRecords: { revision: number; key: string; version: number; author: string; time: number }[];
}

type Db = ClassicLevel<Buffer, Buffer>;
const CHUNK = 512;

/**
 * `ctmd repair`: keeps the longest intact prefix of the log (gap-free, decodable, chained) and
 * rebuilds every index from it. Nothing is silently kept that a check would refuse, and every
 * revision dropped is reported.
 */
export async function repairStore(dir: string, onProgress?: (phase: string, done: number) => void): Promise<RepairReport> {
  let leveldbRepaired = false;
  if (!existsSync(join(dir, "CURRENT"))) {
    await ClassicLevel.repair(dir);
    leveldbRepaired = true;
  }
  let db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
  try {
    await db.open({ createIfMissing: false });
  } catch (e) {
    const err = openFailure(dir, e);
    if (err.code !== "data_loss" || leveldbRepaired) throw err;
    await ClassicLevel.repair(dir);
    leveldbRepaired = true;
    db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
    await db.open({ createIfMissing: false });
  }
  try {
    return { leveldbRepaired, ...(await keepIntactPrefix(db, dir, onProgress)) };
  } catch (e) {
    if (leveldbRepaired || !isLevelError(e)) throw e;
  } finally {
    await db.close();
  }
  // A table block LevelDB cannot read: its own repair copies what is readable of every table
  // into new ones; the walk then finds where the intact prefix ends.
  await ClassicLevel.repair(dir);
  db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
  await db.open({ createIfMissing: false });
  try {
    return { leveldbRepaired: true, ...(await keepIntactPrefix(db, dir, onProgress)) };
  } finally {
    await db.close();
  }
}

const isLevelError = (e: unknown): boolean => {
  const err = e as { code?: unknown; cause?: { code?: unknown } };
  return [err.code, err.cause?.code].some((c) => typeof c === "string" && c.startsWith("LEVEL_"));
};

async function keepIntactPrefix(db: Db, dir: string, onProgress?: (phase: string, done: number) => void): Promise<Omit<RepairReport, "leveldbRepaired">> {
  const [head, hash, chain, schema, compactBytes, intent] = await db.getMany([META.head, META.hash, META.chain, META.schema, META.compact, META.compacting]);
  if (intent !== undefined) {
    throw new Error(`a compaction was cut short in ${dir}: start ctmd on it once, which finishes it from its archive, then repair if it still refuses to start`);
  }
  // A batch written in parts that never got its last one was not acknowledged: it goes first, so
  // that its records, chained as they are, are not kept as part of the intact prefix.
  // Repair rebuilds every index section, so only the records go (one may not even decode).
  // A marker that does not follow the head is taken at its word above the head, never at or below it.
  await undoUnfinishedWrite(db, head === undefined ? 0 : readU64(head), { indexes: false, anyHead: true });
  // Below a compaction's horizon the log has gaps and no chain: what is there must match the
  // digest compaction left, and the chain starts again at the horizon.
  const compacted = compactBytes === undefined ? undefined : decodeCompacted(compactBytes);
  const horizon = compacted?.horizon ?? 1;
  let below = compacted !== undefined && horizon > 1 ? new BelowDigest(compacted.prevHash) : undefined;
  const metaHead = head === undefined ? 0 : readU64(head);
  const chainFrom = chain !== undefined ? readU64(chain) : schema !== undefined && readU64(schema) === 1 ? metaHead + 1 : 1;
  let witness;
  try {
    witness = await readWitness(dir);
  } catch {
    witness = undefined;
  }

  // Walk the log: the prefix ends before the first gap, undecodable record or broken link.
  const hashes = new Map<number, Buffer>([[0, GENESIS]]);
  let prev: Buffer = GENESIS;
  /** The revision the next record must have (gaps are allowed only below the horizon). */
  let expected = 1;
  const versions = new Map<string, number>();
  const lostRecords: RepairReport["lostRecords"] = [];
  let kept = 0;
  let reason: string | undefined;
  let maxSeen = 0;
  const it = db.iterator({ ...sectionRange("log") });
  try {
    for (;;) {
      const entries = await it.nextv(CHUNK);
      if (entries.length === 0) break;
      for (const [k, bytes] of entries) {
        const rev = readU64(k, PREFIX.log.length);
        maxSeen = Math.max(maxSeen, rev);
        let stored;
        try {
          stored = decodeLogValue(bytes);
        } catch {
          stored = undefined;
        }
        if (reason === undefined && below !== undefined && rev < horizon) {
          if (!stored || stored.record.revision !== rev) throw new Error(`revision ${rev}, below the compaction horizon ${horizon}, does not decode: records there cannot be told apart, so restore this store from a copy`);
          below.add(rev, bytes);
          kept = rev;
          hashes.set(rev, recordHash(bytes));
          versions.set(stored.record.key, stored.record.version);
          continue;
        }
        if (reason === undefined && below !== undefined) {
          if (!below.finish().equals(compacted!.digest)) throw new Error(`the records below the compaction horizon ${horizon} differ from those compaction left: they cannot be told apart, so restore this store from a copy`);
          below = undefined;
          prev = compacted!.prevHash;
          expected = horizon;
        }
        if (reason === undefined) {
          const seen = stored ? versions.get(stored.record.key) : undefined;
          const afterGap = compacted !== undefined && seen !== undefined && rev >= horizon && kept < horizon;
          if (rev !== expected) reason = `revision ${expected} is missing`;
          else if (!stored || stored.record.revision !== rev) reason = `revision ${rev} does not decode`;
          else if (stored.prev === undefined ? rev >= chainFrom : !prev.equals(stored.prev)) {
            // The record before this one is not the one this record vouches for (at the horizon,
            // the digest vouched for what lies below: the chain starts there).
            if (rev !== horizon) kept = Math.max(0, kept - 1);
            reason = `revision ${rev - 1} is not the record that revision ${rev} names (hash chain broken)`;
          } else if (seen !== undefined && (afterGap ? stored.record.version <= seen : stored.record.version !== seen + 1)) reason = `revision ${rev} skips a version of "${stored.record.key}"`;
          if (reason === undefined) {
            kept = rev;
            expected = rev + 1;
            prev = recordHash(bytes);
            hashes.set(rev, prev);
            versions.set(stored!.record.key, stored!.record.version);
            continue;
          }
        }
        if (stored) lostRecords.push(lostEntry(stored.record));
      }
      onProgress?.("scan", maxSeen);
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    await it.close();
  }
  // The tip meta or the witness vouches for must match too.
  const vouched: [number, string | undefined][] = [
    [metaHead, hash?.toString("hex")],
    [witness?.revision ?? 0, witness?.hash],
  ];
  for (const [rev, h] of vouched) {
    if (h !== undefined && rev >= Math.max(1, horizon) && rev <= kept && hashes.get(rev)?.toString("hex") !== h) {
      reason ??= `revision ${rev} differs from the record acknowledged there`;
      kept = rev - 1;
    }
  }
  const knownHead = Math.max(metaHead, witness?.revision ?? 0, maxSeen, kept);
  const tip = hashes.get(kept) ?? GENESIS;
  await rebuild(db, kept, tip, onProgress);
  await writeWitness(dir, { revision: kept, hash: tip.toString("hex") });
  const lost = kept < knownHead ? [{ from: kept + 1, to: knownHead }] : [];
  return {
    kept,
    knownHead,
    lost,
    lostCount: knownHead - kept,
    reason: kept < knownHead ? reason ?? `revisions ${kept + 1}..${knownHead} are missing` : undefined,
    lostRecords: lostRecords.filter((r) => r.revision > kept),
  };
}

const lostEntry = (r: { revision: number; key: string; version: number; author: string; time: number }) => ({
  revision: r.revision,
  key: r.key,
  version: r.version,
  author: r.author,
  time: r.time,
});

/** Drops the log past `kept` and every index, then writes the indexes again from the log. */
async function rebuild(db: Db, kept: number, tip: Buffer, onProgress?: (phase: string, done: number) => void): Promise<void> {
  await db.clear({ gt: prefixed("log", u64(kept)), lt: sectionRange("log").lt });
  for (const s of ["key", "ver", "time", "head"] as const) await db.clear(sectionRange(s));
  const heads = new Map<string, number>();
  const it = db.iterator({ ...sectionRange("log") });
  try {
    for (;;) {
      const entries = await it.nextv(CHUNK);
      if (entries.length === 0) break;
      const batch = db.batch();
      for (const [k, bytes] of entries) {
        const rev = readU64(k, PREFIX.log.length);
        const r = decodeLogValue(bytes).record;
        batch.put(prefixed("key", keyNum(r.key, rev)), u64(r.version));
        batch.put(prefixed("ver", keyNum(r.key, r.version)), u64(rev));
        batch.put(prefixed("time", timeRev(r.time, rev)), Buffer.alloc(0));
        heads.set(r.key, rev);
      }
      await batch.write();
      onProgress?.("rebuild", readU64(entries[entries.length - 1]![0], PREFIX.log.length));
    }
  } finally {
    await it.close();
  }
  const batch = db.batch();
  for (const [key, rev] of heads) batch.put(prefixed("head", Buffer.from(key, "utf8")), u64(rev));
  batch.put(META.head, u64(kept));
  batch.put(META.hash, tip);
  batch.put(META.checkpoint, Buffer.concat([u64(kept), tip]));
  if ((await db.get(META.schema)) === undefined) batch.put(META.schema, u64(2));
  await batch.write({ sync: true });
}
