import { performance } from "node:perf_hooks";

/** One record of the log, as far as the checks need it. `message` carries the tag of the write that made it. */
export interface LogEntry {
  revision: number;
  key: string;
  version: number;
  deleted: boolean;
  message: string;
}

/** "unknown": no answer, or one that does not say (UNAVAILABLE): the write may have landed. */
export type Outcome = "ok" | "failed" | "unknown";

interface Base {
  id: number;
  client: string;
  /** The ctmd process that served it ("r1.2": replica 1, second start): promises are per process. */
  replica: string;
  /** performance.now() when sent and when answered (Infinity: never answered). */
  invoke: number;
  return: number;
  outcome: Outcome;
}

export interface WriteOp extends Base {
  kind: "set" | "delete";
  key: string;
  /** Unique per write, sent as its message: finds the write in the log. */
  tag: string;
  expectedVersion?: number;
  entry?: LogEntry;
  /** The response header's revision. */
  revision?: number;
}

export interface ReadOp extends Base {
  kind: "get";
  key: string;
  consistent: boolean;
  entry?: LogEntry;
  revision?: number;
}

/** One Watch stream, from its start until the client dropped it. */
export interface WatchOp extends Base {
  kind: "watch";
  key: string;
  prefix: boolean;
  start: number;
  events: LogEntry[];
  /** The highest progress revision received: everything up to it was sent. */
  progress: number;
}

export type Operation = WriteOp | ReadOp | WatchOp;
type Sent<T extends Operation> = Omit<T, "id" | "invoke" | "return" | "outcome">;

/** Records client operations with their invocation and return times, etcd robustness style. */
export class OpHistory {
  readonly ops: Operation[] = [];

  begin<T extends Operation>(op: Sent<T>): T {
    const full = { ...op, id: this.ops.length + 1, invoke: performance.now(), return: Infinity, outcome: "unknown" } as T;
    this.ops.push(full);
    return full;
  }

  end<T extends Operation>(op: T, outcome: Outcome, result: Partial<T> = {}): void {
    Object.assign(op, result, { outcome, return: performance.now() });
  }
}

const name = (o: Operation) => `${o.kind} #${o.id} (${o.client} on ${o.replica})`;
const sameRecord = (a: LogEntry, b: LogEntry) => a.revision === b.revision && a.key === b.key && a.version === b.version && a.deleted === b.deleted;

/**
 * Checks `history` against the final log, one named check per promise of GUARANTEES.md, and
 * returns the violations, each naming its operations. Empty when every promise held.
 */
export function validate(history: readonly Operation[], log: readonly LogEntry[]): string[] {
  const out: string[] = [];
  const at = new Map(log.map((e) => [e.revision, e]));
  const gap = log.findIndex((e, i) => e.revision !== i + 1);
  if (gap >= 0) out.push(`log-gap: record ${gap + 1} of the log has revision ${log[gap]!.revision}`);

  const writes = history.filter((o): o is WriteOp => o.kind !== "get" && o.kind !== "watch");
  const reads = history.filter((o): o is ReadOp => o.kind === "get" && o.outcome === "ok");
  const byTag = new Map<string, LogEntry[]>();
  for (const e of log) byTag.set(e.message, [...(byTag.get(e.message) ?? []), e]);
  for (const w of writes) {
    const landed = byTag.get(w.tag) ?? [];
    if (landed.length > 1) out.push(`written-twice: ${name(w)} is in the log at revisions ${landed.map((e) => e.revision).join(", ")}`);
    if (w.outcome === "failed" && landed.length > 0) out.push(`refused-write-landed: ${name(w)} was refused but is in the log at revision ${landed[0]!.revision}`);
    if (w.outcome !== "ok") continue;
    if (landed.length === 0) out.push(`lost-write: ${name(w)} acknowledged at revision ${w.entry!.revision} is not in the log`);
    else if (!sameRecord(landed[0]!, w.entry!)) out.push(`wrong-revision: ${name(w)} acknowledged as ${JSON.stringify(w.entry)}, the log holds ${JSON.stringify(landed[0])}`);
  }

  // Reads never go back in time, and read-your-writes: both promised per ctmd process, so
  // a read must see at least what any call that process answered before it was sent had seen.
  const seen = history.filter((o): o is ReadOp | WriteOp => o.kind !== "watch" && o.outcome === "ok" && o.revision !== undefined);
  for (const r of reads) {
    const before = seen.filter((o) => o.replica === r.replica && o.return < r.invoke && o.revision! > r.revision!);
    if (before.length > 0) out.push(`read-went-back: ${name(r)} answered at revision ${r.revision} after ${name(before[0]!)} answered at ${before[0]!.revision}`);
  }
  // A consistent read sees every write acknowledged before it on any replica; a plain one
  // on another replica may trail (not promised), so only consistent reads are held to this.
  for (const r of reads.filter((x) => x.consistent)) {
    const missed = writes.find((w) => w.outcome === "ok" && w.return < r.invoke && w.entry!.revision > r.revision!);
    if (missed) out.push(`consistent-read-stale: ${name(r)} answered at revision ${r.revision} after ${name(missed)} was acknowledged at ${missed.entry!.revision}`);
  }
  // Every response carries the head it was answered at: the answer is the log at that revision.
  for (const r of reads) {
    const want = log.filter((e) => e.key === r.key && e.revision <= r.revision!).at(-1);
    if (!want || want.deleted || !sameRecord(want, r.entry!)) out.push(`read-off-log: ${name(r)} answered ${JSON.stringify(r.entry)} at revision ${r.revision}, the log holds ${JSON.stringify(want)}`);
  }

  for (const w of history.filter((o): o is WatchOp => o.kind === "watch")) {
    const matches = (e: LogEntry) => (w.prefix ? e.key.startsWith(w.key) : e.key === w.key);
    const got = new Set<number>();
    let last = 0;
    for (const e of w.events) {
      if (got.has(e.revision)) out.push(`unique: ${name(w)} got revision ${e.revision} twice`);
      else if (e.revision < last) out.push(`ordered: ${name(w)} got revision ${e.revision} after ${last}`);
      const l = at.get(e.revision);
      if (!l || !matches(l) || !sameRecord(l, e)) out.push(`event-off-log: ${name(w)} got ${JSON.stringify(e)}, the log holds ${JSON.stringify(l)}`);
      got.add(e.revision);
      last = Math.max(last, e.revision);
    }
    const want = log.filter((e) => matches(e) && e.revision >= w.start);
    const first = w.events[0]?.revision;
    if (first !== undefined && want[0]?.revision !== first) out.push(`resumable: ${name(w)} from revision ${w.start} began at ${first}, the log's first match is ${want[0]?.revision}`);
    const upTo = Math.max(last, w.progress);
    const skipped = want.filter((e) => e.revision >= (first ?? w.start) && e.revision <= upTo && !got.has(e.revision)).map((e) => e.revision);
    if (skipped.length > 0) out.push(`reliable: ${name(w)} skipped revisions ${skipped.slice(0, 5).join(", ")}${skipped.length > 5 ? "..." : ""} (saw up to ${upTo})`);
  }
  return out;
}
