import type { ClassicLevel as Level } from "classic-level";
import type { Draft, LogRecord } from "@ctm/core/record";
import type { Disposition } from "../compaction.js";
import type { ArchiveEntry } from "./archive-file.js";
import { cbor, keyNum, readU64, timeRev, u64 } from "./codec.js";
import { PREFIX, prefixed } from "./layout.js";
import { BelowDigest } from "../below-digest.js";
import { stripRecord, strippable } from "../strip-record.js";
import { decodeLogValue } from "./record-bytes.js";

type Db = Level<Buffer, Buffer>;

/** meta!compact: where the log's unbroken chain begins, and what vouches for the records below it. */
export interface CompactedBelow {
  horizon: number;
  /** Unix ms of the record at the horizon. */
  time: number;
  /** The hash the record at the horizon names as its predecessor (that record may be gone). */
  prevHash: Buffer;
  /** belowDigest() of the log below the horizon as compaction left it. */
  digest: Buffer;
}

/** meta!compacting: a compaction whose horizon is published and whose archive is written, not yet finished. */
export interface CompactionIntent {
  horizon: number;
  previousHorizon: number;
  archive?: { file: string; sha256: string; records: number };
  /** "applying": records may still be in the store; "applied": only its report record is missing. */
  state: "applying" | "applied";
  removed: number;
  stripped: number;
  /** The record that reports the compaction, appended when it ends. */
  report: Draft;
}

export const encodeMeta = (v: object): Buffer => cbor.encode(v);
export const decodeCompacted = (b: Buffer): CompactedBelow => {
  const v = cbor.decode(b) as CompactedBelow;
  return { horizon: v.horizon, time: v.time, prevHash: Buffer.from(v.prevHash), digest: Buffer.from(v.digest) };
};
export const decodeIntent = (b: Buffer): CompactionIntent => cbor.decode(b) as CompactionIntent;

/** Records read per step; the event loop gets a turn between steps. */
const STEP = 512;
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * The records below `horizon` that `dispose` lets go, in revision order, as archive entries. A
 * record is offered only when its key's next version is at or below the horizon, so no read
 * at or after the horizon needs it; keys' heads never are.
 */
export async function* compactable(
  db: Db,
  horizon: number,
  dispose: (r: LogRecord, supersededAt: number) => Disposition,
  signal: AbortSignal,
): AsyncGenerator<ArchiveEntry> {
  const it = db.iterator({ gte: prefixed("log", u64(1)), lt: prefixed("log", u64(horizon)) });
  try {
    for (;;) {
      const entries = await it.nextv(STEP);
      if (entries.length === 0) return;
      const records = entries.map(([, bytes]) => decodeLogValue(bytes).record);
      const next = await db.getMany(records.map((r) => prefixed("ver", keyNum(r.key, r.version + 1))));
      const leaving: { i: number; d: "remove" | "strip"; at: number }[] = [];
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        const succ = next[i];
        if (succ === undefined) continue;
        const at = readU64(succ);
        if (at > horizon) continue;
        const d = dispose(r, at);
        if (d === "remove" || (d === "strip" && strippable(r))) leaving.push({ i, d, at });
      }
      // When each leaving record stopped being live: what offline time travel needs to answer
      // from the archive alone.
      const successors = leaving.length === 0 ? [] : await db.getMany(leaving.map((l) => prefixed("log", u64(l.at))));
      for (let j = 0; j < leaving.length; j++) {
        const { i, d, at } = leaving[j]!;
        const succ = successors[j];
        if (succ === undefined) throw new Error(`revision ${at}, which the version index names, is missing from the log`);
        yield [d, entries[i]![1], at, decodeLogValue(succ).record.time];
      }
      signal.throwIfAborted();
      await turn();
    }
  } finally {
    await it.close();
  }
}

/**
 * Carries out archived entries: a removed record leaves the log and every index; a stripped one
 * is rewritten without its value and plan. Idempotent, so a compaction cut short by a crash is
 * finished by running it again from its archive. Batches are not synced: the batch that
 * publishes the result is, and LevelDB makes earlier writes durable with it.
 */
export async function applyEntries(
  db: Db,
  entries: AsyncIterable<ArchiveEntry>,
  signal?: AbortSignal,
  /** Told of each record removed, once its batch is written. */
  onRemoved?: (key: string, revision: number) => void,
): Promise<{ removed: number; stripped: number }> {
  let removed = 0;
  let stripped = 0;
  let batch = db.batch();
  let n = 0;
  let gone: LogRecord[] = [];
  const written = async (): Promise<void> => {
    await batch.write();
    for (const r of gone) onRemoved?.(r.key, r.revision);
    gone = [];
  };
  for await (const [what, bytes] of entries) {
    const stored = decodeLogValue(bytes);
    const r = stored.record;
    const rev = u64(r.revision);
    if (what === "remove") {
      batch.del(prefixed("log", rev));
      batch.del(prefixed("key", keyNum(r.key, r.revision)));
      batch.del(prefixed("ver", keyNum(r.key, r.version)));
      batch.del(prefixed("time", timeRev(r.time, r.revision)));
      gone.push(r);
      removed++;
    } else {
      batch.put(prefixed("log", rev), stripRecord(stored));
      stripped++;
    }
    if (++n % STEP === 0) {
      await written();
      batch = db.batch();
      signal?.throwIfAborted();
      await turn();
    }
  }
  await written();
  return { removed, stripped };
}

/**
 * What vouches for the log below `horizon` once the chain there has gaps: SHA-256 over the
 * predecessor hash the record at the horizon names, then each remaining record's revision and
 * the hash of its stored bytes. The verifier recomputes it.
 */
export async function belowDigest(db: Db, horizon: number): Promise<Omit<CompactedBelow, "horizon">> {
  const at = await db.get(prefixed("log", u64(horizon)));
  if (at === undefined) throw new Error(`the record at the horizon ${horizon} is missing`);
  const { record, prev } = decodeLogValue(at);
  if (prev === undefined) throw new Error(`the record at the horizon ${horizon} carries no predecessor hash`);
  const digest = new BelowDigest(Buffer.from(prev));
  const it = db.iterator({ gte: prefixed("log", u64(1)), lt: prefixed("log", u64(horizon)) });
  try {
    for (;;) {
      const entries = await it.nextv(STEP);
      if (entries.length === 0) break;
      for (const [k, bytes] of entries) digest.add(readU64(k, PREFIX.log.length), bytes);
      await turn();
    }
  } finally {
    await it.close();
  }
  return { time: record.time, prevHash: Buffer.from(prev), digest: digest.finish() };
}

/** The stored bytes of every record below `horizon`, in revision order, a step at a time. */
export async function* storedBelow(db: Db, horizon: number): AsyncGenerator<[number, Buffer][]> {
  const it = db.iterator({ gte: prefixed("log", u64(1)), lt: prefixed("log", u64(horizon)) });
  try {
    for (;;) {
      const entries = await it.nextv(STEP);
      if (entries.length === 0) return;
      yield entries.map(([k, bytes]): [number, Buffer] => [readU64(k, PREFIX.log.length), bytes]);
    }
  } finally {
    await it.close();
  }
}
