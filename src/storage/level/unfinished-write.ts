import type { ClassicLevel } from "classic-level";
import { keyNum, readU64, timeRev, u64 } from "./codec.js";
import { META, prefixed } from "./layout.js";
import { decodeLogValue } from "./record-bytes.js";

/** The revisions of a batch written in parts, first to last. */
export interface UnfinishedWrite {
  from: number;
  to: number;
}

export const encodeUnfinished = (w: UnfinishedWrite): Buffer => Buffer.concat([u64(w.from), u64(w.to)]);
export const decodeUnfinished = (b: Uint8Array): UnfinishedWrite => ({ from: readU64(b), to: readU64(b, 8) });

export interface UndoOptions {
  /** Also remove the records' key, version and time index entries (repair rebuilds them instead). */
  indexes: boolean;
  /**
   * Take the marker's revisions above `headRev` out even when the marker does not follow it
   * (repair): the last part removes the marker in the same write that moves the head, so none of
   * them was acknowledged, whatever a damaged head entry says. Without it, such a marker throws.
   */
  anyHead?: boolean;
}

/** Records removed per step of an undo; the marker's removal, last and synced, makes them all durable. */
const STEP = 4096;

/**
 * A large batch is written in parts (see LevelLogStore's writeThreaded): the first part names its
 * revisions in META.unfinished; the last moves meta's head over them, writes their keys' head
 * entries and removes the marker, all at once. Until then none of them is acknowledged, and
 * readers never look above the head. A process that stopped in between left some parts: this
 * takes them out (the records and, unless `indexes` is false, their key, version and time index
 * entries), then the marker, so an undo cut short is taken up again at the next open. Undefined
 * when nothing was unfinished; throws, removing nothing, when the marker does not follow `headRev`
 * (unless `anyHead`).
 */
export async function undoUnfinishedWrite(db: ClassicLevel<Buffer, Buffer>, headRev: number, o: UndoOptions = { indexes: true }): Promise<(UnfinishedWrite & { removed: number }) | undefined> {
  const marker = await db.get(META.unfinished);
  if (marker === undefined) return undefined;
  const w = decodeUnfinished(marker);
  if (!o.anyHead && (w.from !== headRev + 1 || w.to < w.from)) throw new Error(`it names revisions ${w.from}..${w.to}, which do not follow the head revision ${headRev}`);
  // Only what lies above the head was unfinished: what lies at or below it was acknowledged.
  const from = Math.max(w.from, headRev + 1);
  let removed = 0;
  const it = db.iterator({ gte: prefixed("log", u64(from)), lte: prefixed("log", u64(w.to)) });
  try {
    for (;;) {
      const entries = await it.nextv(STEP);
      if (entries.length === 0) break;
      const batch = db.batch();
      for (const [k, bytes] of entries) {
        batch.del(k);
        if (!o.indexes) continue;
        const r = decodeLogValue(bytes).record;
        batch.del(prefixed("key", keyNum(r.key, r.revision)));
        batch.del(prefixed("ver", keyNum(r.key, r.version)));
        batch.del(prefixed("time", timeRev(r.time, r.revision)));
      }
      await batch.write();
      removed += entries.length;
    }
  } finally {
    await it.close();
  }
  await db.del(META.unfinished, { sync: true });
  return { ...w, removed };
}
