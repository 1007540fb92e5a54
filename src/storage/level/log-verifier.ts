import type { ClassicLevel as Level } from "classic-level";
import type { VerifyReport } from "../verify-report.js";
import { keyNum, readU64, timeRev, u64 } from "./codec.js";
import { META, PREFIX, prefixed, sectionRange, type Section } from "./layout.js";
import { BelowDigest } from "../below-digest.js";
import { decodeCompacted } from "./compactor.js";
import { decodeLogValue, recordHash } from "./record-bytes.js";
import { decodeUnfinished, type UnfinishedWrite } from "./unfinished-write.js";

export interface VerifyOptions {
  scope: "tail" | "full";
  /** Check revisions from here to the head that meta names. */
  from: number;
  /** The hash of revision from - 1 (GENESIS before revision 1). */
  prevHash: Uint8Array;
  /** Revisions below this were written before the chain and carry no predecessor hash. */
  chainFrom: number;
  onProgress?: (checked: number, total: number) => void;
  /** Stops the check between chunks (the store is closing); it then rejects, reporting nothing. */
  signal?: AbortSignal;
}

/** Records read per step; the event loop gets a turn between steps. */
const CHUNK = 512;

class Bad extends Error {
  constructor(
    readonly revision: number,
    reason: string,
  ) {
    super(reason);
  }
}

type Db = Level<Buffer, Buffer>;
type Snapshot = ReturnType<Db["snapshot"]>;
type Read = { snapshot: Snapshot };

/**
 * Walks the log in revision order and checks, for each record: it is there (no gaps), it
 * decodes, it names its own revision, it carries the hash of the record before it, and its
 * key, version and time index entries point back at it. A full check also counts every
 * index section, so no entry points at a record that is not there, and checks the head index.
 * Reports the first bad revision instead of throwing.
 */
export async function verifyLog(db: Db, o: VerifyOptions): Promise<VerifyReport> {
  // One snapshot for every read: a live store keeps writing while this runs.
  const snapshot = db.snapshot();
  try {
    return await verifyIn(db, snapshot, o);
  } finally {
    await snapshot.close();
  }
}

async function verifyIn(db: Db, snapshot: Snapshot, o: VerifyOptions): Promise<VerifyReport> {
  const started = Date.now();
  const [headBytes, headHash, compactBytes, unfinishedBytes] = await db.getMany([META.head, META.hash, META.compact, META.unfinished], { snapshot });
  const to = headBytes === undefined ? 0 : readU64(headBytes);
  const read = { snapshot };
  let prev: Buffer = Buffer.from(o.prevHash);
  // Below a compaction's horizon the log has gaps and stripped records: no chain runs there.
  // A check that starts below it reads all of it and compares its digest; the chain then
  // starts at the horizon, from the predecessor hash compaction noted.
  const compacted = compactBytes === undefined ? undefined : decodeCompacted(compactBytes);
  const horizon = compacted?.horizon ?? 1;
  let below: BelowDigest | undefined;
  let from = o.from;
  if (compacted !== undefined && o.from <= horizon) {
    from = o.from < horizon ? 1 : horizon;
    if (from < horizon) below = new BelowDigest(compacted.prevHash);
    else prev = compacted.prevHash;
  }
  let checked = 0;
  const report = (fields: Partial<VerifyReport>): VerifyReport => ({
    ok: true,
    scope: o.scope,
    from,
    to,
    recordsChecked: checked,
    headHash: prev.toString("hex"),
    finishedAt: Date.now(),
    durationMs: Date.now() - started,
    ...fields,
  });
  // A batch being written in parts (or left so by a process that stopped): its records lie above
  // the head, unacknowledged, with their index entries. The check ends at the head and counts them.
  let unfinished = 0;
  try {
    if (unfinishedBytes !== undefined) unfinished = await countUnfinished(db, decodeUnfinished(unfinishedBytes), to, read);
  } catch (e) {
    if (!(e instanceof Bad)) throw e;
    return report({ ok: false, firstBadRevision: e.revision, reason: e.message });
  }
  // key -> [version, revision] of its newest record seen so far.
  const keys = new Map<string, [number, number]>();
  const it = db.iterator({ gte: prefixed("log", u64(Math.max(1, from))), lt: unfinishedBytes === undefined ? sectionRange("log").lt : prefixed("log", u64(to + 1)), snapshot });
  let expected = Math.max(1, from);
  /** Ends the stretch below the horizon: its digest must be the one compaction noted. */
  const endBelow = (): void => {
    if (below === undefined || compacted === undefined) return;
    if (!below.finish().equals(compacted.digest)) throw new Bad(horizon, `the records below the compaction horizon ${horizon} differ from those compaction left`);
    below = undefined;
    prev = compacted.prevHash;
    expected = horizon;
  };
  try {
    for (;;) {
      const entries = await it.nextv(CHUNK);
      if (entries.length === 0) break;
      const checks: { rev: number; key: string; version: number; time: number }[] = [];
      for (const [k, bytes] of entries) {
        const rev = readU64(k, PREFIX.log.length);
        if (rev > to) throw new Bad(rev, `record beyond the head revision ${to} that meta names`);
        if (below !== undefined && rev >= horizon) endBelow();
        if (below !== undefined) {
          const r = decodeAt(rev, bytes).record;
          const seen = keys.get(r.key);
          if (seen !== undefined && r.version <= seen[0]) throw new Bad(rev, `version ${r.version} of "${r.key}" follows version ${seen[0]}`);
          keys.set(r.key, [r.version, rev]);
          checks.push({ rev, key: r.key, version: r.version, time: r.time });
          below.add(rev, bytes);
          continue;
        }
        if (rev !== expected) throw new Bad(expected, `record missing (the log jumps from ${expected - 1} to ${rev})`);
        const stored = decodeAt(rev, bytes);
        const r = stored.record;
        if (stored.prev === undefined) {
          if (rev >= o.chainFrom) throw new Bad(rev, "record lacks the hash of the record before it");
        } else if (!prev.equals(stored.prev)) {
          // Either this record's link or the one before it was altered; the earlier one can no
          // longer be vouched for, so it is where the intact prefix ends.
          throw new Bad(rev - 1, `revision ${rev - 1} is not the record that revision ${rev} names as its predecessor (hash chain broken)`);
        }
        const seen = keys.get(r.key);
        // Compaction may have taken the versions between a key's last one below the horizon and its first after.
        const gapAllowed = compacted !== undefined && (seen === undefined || seen[1] < horizon);
        if (seen !== undefined && (gapAllowed ? r.version <= seen[0] : r.version !== seen[0] + 1)) throw new Bad(rev, `version ${r.version} of "${r.key}" follows version ${seen[0]}`);
        keys.set(r.key, [r.version, rev]);
        checks.push({ rev, key: r.key, version: r.version, time: r.time });
        prev = recordHash(bytes);
        expected++;
      }
      await checkIndexes(db, checks, read);
      checked += entries.length;
      if (o.onProgress) o.onProgress(checked, to - from + 1);
      await new Promise((r) => setImmediate(r));
      o.signal?.throwIfAborted();
    }
    endBelow();
    if (expected - 1 !== to) throw new Bad(expected, `records missing: the log ends at revision ${expected - 1} but the head is ${to}`);
    if (headHash !== undefined && !prev.equals(headHash)) throw new Bad(to, "the head record differs from the one meta's hash names");
    await checkHeads(db, keys, o.scope === "full", read);
    if (o.scope === "full") {
      for (const s of ["key", "ver", "time"] as const) {
        const n = await countSection(db, s, read);
        if (n !== checked + unfinished) throw new Bad(0, `the ${s} index holds ${n} entries for ${checked + unfinished} records`);
      }
    }
  } catch (e) {
    if (o.signal?.aborted) throw e;
    if (!(e instanceof Bad)) {
      // LevelDB's own corruption errors (a damaged table block) land here.
      return report({ ok: false, firstBadRevision: expected, reason: `unreadable: ${(e as Error).message}` });
    }
    return report({ ok: false, firstBadRevision: e.revision === 0 ? undefined : e.revision, reason: e.message });
  } finally {
    await it.close();
  }
  return report({});
}

/** The record stored at `rev`, which must decode and name that revision. */
function decodeAt(rev: number, bytes: Uint8Array): ReturnType<typeof decodeLogValue> {
  let stored;
  try {
    stored = decodeLogValue(bytes);
  } catch {
    throw new Bad(rev, "record does not decode");
  }
  if (stored.record.revision !== rev) throw new Bad(rev, `record stored at revision ${rev} says revision ${stored.record.revision}`);
  return stored;
}

/** Every record's key!, ver! and time! entries exist and point back at it. */
async function checkIndexes(db: Db, checks: { rev: number; key: string; version: number; time: number }[], read: Read): Promise<void> {
  const lookups: Buffer[] = [];
  for (const c of checks) {
    lookups.push(prefixed("key", keyNum(c.key, c.rev)), prefixed("ver", keyNum(c.key, c.version)), prefixed("time", timeRev(c.time, c.rev)));
  }
  const got = await db.getMany(lookups, read);
  checks.forEach((c, i) => {
    const [key, ver, time] = [got[3 * i], got[3 * i + 1], got[3 * i + 2]];
    if (key === undefined || readU64(key) !== c.version) throw new Bad(c.rev, `key index entry of "${c.key}" missing or wrong`);
    if (ver === undefined || readU64(ver) !== c.rev) throw new Bad(c.rev, `version index entry of "${c.key}" v${c.version} missing or wrong`);
    if (time === undefined) throw new Bad(c.rev, "time index entry missing");
  });
}

/**
 * The head index names each key's newest record. For keys seen in the checked range it must
 * name the newest one seen; a full check also refuses head entries for keys the log lacks.
 */
async function checkHeads(db: Db, keys: Map<string, [number, number]>, full: boolean, read: Read): Promise<void> {
  const names = [...keys.keys()];
  for (let i = 0; i < names.length; i += CHUNK) {
    const part = names.slice(i, i + CHUNK);
    const got = await db.getMany(part.map((k) => prefixed("head", Buffer.from(k, "utf8"))), read);
    part.forEach((k, j) => {
      const rev = keys.get(k)![1];
      const v = got[j];
      if (v === undefined || readU64(v) !== rev) throw new Bad(rev, `head index entry of "${k}" does not name revision ${rev}`);
    });
  }
  if (full) {
    const n = await countSection(db, "head", read);
    if (n !== keys.size) throw new Bad(0, `the head index holds ${n} keys, the log ${keys.size}`);
  }
}

/** Records above the head: all of them must be the unfinished batch's, which must follow the head. */
async function countUnfinished(db: Db, w: UnfinishedWrite, head: number, read: Read): Promise<number> {
  if (w.from !== head + 1 || w.to < w.from) throw new Bad(head + 1, `an unfinished batch names revisions ${w.from}..${w.to}, which do not follow the head revision ${head}`);
  const it = db.keys({ gt: prefixed("log", u64(head)), lt: sectionRange("log").lt, ...read });
  let n = 0;
  try {
    for (;;) {
      const part = await it.nextv(4096);
      if (part.length === 0) return n;
      const rev = readU64(part[part.length - 1]!, PREFIX.log.length);
      if (rev > w.to) throw new Bad(rev, `record beyond the head revision ${head} and the unfinished batch ${w.from}..${w.to}`);
      n += part.length;
    }
  } finally {
    await it.close();
  }
}

async function countSection(db: Db, section: Section, read: Read): Promise<number> {
  const it = db.keys({ ...sectionRange(section), ...read });
  let n = 0;
  try {
    for (;;) {
      const part = await it.nextv(4096);
      if (part.length === 0) return n;
      n += part.length;
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    await it.close();
  }
}
