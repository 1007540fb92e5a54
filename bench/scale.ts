// npm run bench:scale: ctmd and etcd holding the same data at 10k, 100k and 1M records, side
// by side in alternating rounds. A report, never a timed test.
// Usage: npm run bench:scale                      (10k, 100k and 1M records; about 6 minutes here)
//        BENCH_SCALE=small npm run bench:scale    (10k and 100k records; about a minute)
//        BENCH_SCALE_SIZES=50000 npm run bench:scale
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { ApplyRequest, ApplyResponse, GetAtRequest, GetRequest, GetResponse, HistoryRequest, RollbackPrefixRequest, RollbackPrefixResponse, SetRequest, SnapshotRequest } from "../src/gen/ctm/v1/config_service.js";
import { getsDuring, peakRss, pool, replayCtmd, replayEtcd, rssMiB, skimSnapshot, countField } from "./bench-snapshot.js";
import { ChildProcesses, stop } from "./child-processes.js";
import { etcdHeaderRevision, etcdPutRequest, decodeEtcdRangeResponse, etcdRangeAtRequest, etcdRangePrefixRequest, etcdRangeRequest, etcdTxnPutsRequest, etcdTxnRequest, type EtcdTxnOp } from "./etcd-messages.js";
import { formatMs, formatRate, formatRatio } from "./format.js";
import { RawClient } from "./raw-client.js";
import { Report } from "./report.js";
import { requireTools } from "./require-tools.js";
import { paths, settings } from "./settings.js";
import { startCtmd, type CtmdHandle } from "./start-ctmd.js";
import { startEtcd, type EtcdHandle } from "./start-etcd.js";
import { systemInfo } from "./system-info.js";
import { logLines, waitForLogLine } from "./wait-for-log-line.js";

const PREFIX = "scale/";
const HOT = "scale/hot";
const GENERATIONS = 9;
const keyOf = (i: number): string => `${PREFIX}k${String(i).padStart(7, "0")}`;
/** About 120 bytes of JSON per value. */
const valueOf = (i: number, generation: number): string => JSON.stringify({ id: i, generation, owner: `team-${i % 50}`, enabled: i % 3 === 0, note: "n".repeat(40) });
const unbounded = { "grpc.max_receive_message_length": -1 };
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const diskMiB = (dir: string): number => Number(execFileSync("du", ["-s", "--block-size=1", dir], { encoding: "utf8" }).split("\t")[0]) / 2 ** 20;

/**
 * The data at `records` records: records/10 keys written GENERATIONS times each (the first
 * generation is "the past" that time travel reads), and one key with records/10 versions.
 */
function shape(records: number): { keys: number; hotVersions: number } {
  return { keys: Math.floor(records / 10), hotVersions: records - Math.floor(records / 10) * GENERATIONS };
}

interface Sides {
  ctmd: CtmdHandle;
  etcd: EtcdHandle;
  c: RawClient;
  e: RawClient;
}

const ok = (r: { code: grpc.status; details: string }, what: string): void => {
  if (r.code !== grpc.status.OK) throw new Error(`${what}: ${grpc.status[r.code]} ${r.details}`);
};

/**
 * Generation `g` of every key, as requests: ctmd's Apply batches of 1000 operations, etcd's Txns
 * of 128 puts (its default maximum).
 */
function generation(keys: number, g: number): { applies: Uint8Array[]; txns: Uint8Array[] } {
  const applies = Array.from({ length: Math.ceil(keys / 1000) }, (_, b) => {
    const ops = [];
    for (let i = b * 1000; i < Math.min(keys, (b + 1) * 1000); i++) ops.push({ operation: { $case: "set" as const, value: { key: keyOf(i), value: JSON.parse(valueOf(i, g)) as unknown } } });
    return ApplyRequest.encode(ApplyRequest.fromPartial({ operations: ops, author: "bench" })).finish();
  });
  const txns = Array.from({ length: Math.ceil(keys / 128) }, (_, b) => {
    const puts = [];
    for (let i = b * 128; i < Math.min(keys, (b + 1) * 128); i++) puts.push({ key: keyOf(i), value: valueOf(i, g) });
    return etcdTxnPutsRequest(puts);
  });
  return { applies, txns };
}

/** Sends ctmd's Applies, 4 at a time; the highest revision they answered. */
async function sendApplies(c: RawClient, applies: Uint8Array[]): Promise<number> {
  let head = 0;
  await pool(applies.length, 4, async (b) => {
    const r = await c.unary("/ctm.v1.ConfigService/Apply", applies[b]!, 120_000);
    ok(r, "ctmd Apply");
    head = Math.max(head, ApplyResponse.decode(r.body!).header!.revision);
  });
  return head;
}

/** Sends etcd's Txns, 4 at a time; the highest revision they answered. */
async function sendTxns(e: RawClient, txns: Uint8Array[]): Promise<number> {
  let head = 0;
  await pool(txns.length, 4, async (b) => {
    const r = await e.unary("/etcdserverpb.KV/Txn", txns[b]!, 120_000);
    ok(r, "etcd Txn");
    head = Math.max(head, etcdHeaderRevision(r.body!));
  });
  return head;
}

/** Writes generation `g` of every key on both sides, untimed. */
async function writeGeneration(s: Sides, keys: number, g: number): Promise<void> {
  const { applies, txns } = generation(keys, g);
  await sendApplies(s.c, applies);
  await sendTxns(s.e, txns);
}

/**
 * What an etcd user does for RollbackPrefix, which etcd lacks: reads the prefix at the revision
 * and now, then, in Txns of 128 operations 4 at a time, puts back every key that changed and
 * deletes every key that was not there. Unlike ctmd's one batch, it is not atomic. The number of
 * operations it wrote.
 */
async function etcdRollbackPrefix(e: RawClient, revision: number): Promise<number> {
  const [then, now] = await Promise.all([e.unary(paths.range, etcdRangePrefixRequest(PREFIX, revision), 120_000), e.unary(paths.range, etcdRangePrefixRequest(PREFIX), 120_000)]);
  ok(then, "etcd Range at the revision");
  ok(now, "etcd Range now");
  const name = (key: Uint8Array): string => Buffer.from(key).toString("latin1");
  const past = new Map(decodeEtcdRangeResponse(then.body!).kvs.map((kv) => [name(kv.key), kv]));
  const ops: EtcdTxnOp[] = [];
  for (const kv of decodeEtcdRangeResponse(now.body!).kvs) {
    const was = past.get(name(kv.key));
    past.delete(name(kv.key));
    if (was === undefined) ops.push({ del: kv.key });
    else if (!Buffer.from(was.value).equals(kv.value)) ops.push({ put: was });
  }
  for (const kv of past.values()) ops.push({ put: kv });
  await pool(Math.ceil(ops.length / 128), 4, async (b) => ok(await e.unary("/etcdserverpb.KV/Txn", etcdTxnRequest(ops.slice(b * 128, (b + 1) * 128)), 120_000), "etcd Txn"));
  return ops.length;
}

/** One step's (or round's) figure on each side. */
type Step = { ctmd: number; etcd: number };

/** One side's sum over steps. */
const total = (steps: Step[], side: keyof Step): number => steps.reduce((a, x) => a + x[side], 0);

interface Loaded {
  /** Seconds each side took for each of the keys' generations (bulk), and for each half of the hot key's versions (one key). */
  bulk: Step[];
  hot: Step[];
  ctmdPast: number;
  etcdPast: number;
}

/**
 * Loads both sides; the seconds each took and the revision after the first generation. Every
 * request is built before the clock starts (the bench's etcd encoder is the slower of the two),
 * so the times are the servers' alone; the side that goes first alternates from step to step.
 */
async function load(s: Sides, records: number, log: (t: string) => void): Promise<Loaded> {
  const { keys, hotVersions } = shape(records);
  const out: Loaded = { bulk: [], hot: [], ctmdPast: 0, etcdPast: 0 };
  const timed = async (run: () => Promise<void>): Promise<number> => (await timedMs(run)) / 1000;
  for (let g = 1; g <= GENERATIONS; g++) {
    const { applies, txns } = generation(keys, g);
    let ctmdHead = 0;
    let etcdHead = 0;
    const step = { ctmd: 0, etcd: 0 };
    out.bulk.push(step);
    const ctmd = async (): Promise<void> => {
      step.ctmd = await timed(async () => void (ctmdHead = await sendApplies(s.c, applies)));
    };
    const etcd = async (): Promise<void> => {
      step.etcd = await timed(async () => void (etcdHead = await sendTxns(s.e, txns)));
    };
    if (g % 2 === 1) {
      await ctmd();
      await etcd();
    } else {
      await etcd();
      await ctmd();
    }
    if (g === 1) {
      out.ctmdPast = ctmdHead;
      out.etcdPast = etcdHead;
    }
  }
  // The hot key: one version per write, 64 writes in flight, as clients change one flag; in
  // alternating halves.
  const sets = Array.from({ length: hotVersions }, (_, i) => SetRequest.encode(SetRequest.fromPartial({ key: HOT, value: JSON.parse(valueOf(i, 0)) as unknown })).finish());
  const puts = Array.from({ length: hotVersions }, (_, i) => etcdPutRequest(HOT, valueOf(i, 0)));
  const half = Math.ceil(hotVersions / 2);
  out.hot.push({ ctmd: 0, etcd: 0 }, { ctmd: 0, etcd: 0 });
  const ctmdHot = async (from: number, to: number): Promise<void> => {
    out.hot[from === 0 ? 0 : 1]!.ctmd = await timed(() => pool(to - from, 64, async (i) => ok(await s.c.unary(paths.set, sets[from + i]!, 60_000), "ctmd Set")));
  };
  const etcdHot = async (from: number, to: number): Promise<void> => {
    out.hot[from === 0 ? 0 : 1]!.etcd = await timed(() => pool(to - from, 64, async (i) => ok(await s.e.unary(paths.put, puts[from + i]!, 60_000), "etcd Put")));
  };
  await ctmdHot(0, half);
  await etcdHot(0, half);
  await etcdHot(half, hotVersions);
  await ctmdHot(half, hotVersions);
  log(`loaded ${records} records: ctmd ${(total(out.bulk, "ctmd") + total(out.hot, "ctmd")).toFixed(1)} s, etcd ${(total(out.bulk, "etcd") + total(out.hot, "etcd")).toFixed(1)} s`);
  return out;
}

/** Mean ms per call of `n` calls made one after another. */
async function meanMs(n: number, call: () => Promise<void>): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) await call();
  return (performance.now() - t) / n;
}

/** Every page of a ctmd Snapshot; its entry count. */
async function ctmdSnapshot(c: RawClient, revision: number | undefined): Promise<number> {
  let req = SnapshotRequest.fromPartial({ prefix: PREFIX, at: revision === undefined ? undefined : { $case: "revision", value: revision } });
  let entries = 0;
  for (;;) {
    const r = await c.unary("/ctm.v1.ConfigService/Snapshot", SnapshotRequest.encode(req).finish(), 120_000);
    ok(r, "ctmd Snapshot");
    const page = skimSnapshot(r.body!);
    entries += page.count;
    if (page.nextPageToken === "") return entries;
    req = SnapshotRequest.fromPartial({ prefix: PREFIX, pageToken: page.nextPageToken });
  }
}

async function etcdRange(e: RawClient, revision: number): Promise<number> {
  const r = await e.unary(paths.range, etcdRangePrefixRequest(PREFIX, revision), 120_000);
  ok(r, "etcd Range");
  return countField(r.body!, 2);
}

async function measureSize(records: number, work: string, children: ChildProcesses, report: Report, log: (t: string) => void): Promise<void> {
  const dir = join(work, String(records));
  mkdirSync(dir, { recursive: true });
  const etcdDir = join(dir, "etcd-data");
  let s: Sides = await open(children, dir, etcdDir);
  const label = `${records.toLocaleString("en-US")} records`;
  const { keys, hotVersions } = shape(records);
  try {
    const loaded = await load(s, records, log);
    // Rates, and each step's ratio (a generation of every key, a half of the hot key's versions):
    // ctmd's rate over etcd's is etcd's time over ctmd's. A row's ratio is that of the totals.
    const steps = (xs: Step[]): string => xs.map((x) => (x.etcd / x.ctmd).toFixed(2)).join(", ");
    const loadRow = (name: string, n: number, ctmdSeconds: number, etcdSeconds: number): void => report.row(name, formatRate(n / ctmdSeconds), formatRate(n / etcdSeconds), formatRatio(n / ctmdSeconds, n / etcdSeconds));
    const bulk = keys * GENERATIONS;
    loadRow(`${label}: load rate, records/s (ctmd Apply of 1000 and Set at c64; etcd Txn of 128 and Put at c64)`, records, total(loaded.bulk, "ctmd") + total(loaded.hot, "ctmd"), total(loaded.bulk, "etcd") + total(loaded.hot, "etcd"));
    loadRow(`${label}: of which bulk, ${bulk.toLocaleString("en-US")} records, records/s (ctmd Apply of 1000 vs etcd Txn of 128, 4 at a time); generations ${steps(loaded.bulk)}`, bulk, total(loaded.bulk, "ctmd"), total(loaded.bulk, "etcd"));
    loadRow(`${label}: of which one key, ${hotVersions.toLocaleString("en-US")} versions, writes/s (ctmd Set vs etcd Put, 64 in flight); halves ${steps(loaded.hot)}`, hotVersions, total(loaded.hot, "ctmd"), total(loaded.hot, "etcd"));

    // Start-up: both stopped, then started on their data, in alternating order.
    close(s);
    await stop(s.ctmd.child);
    await stop(s.etcd.child);
    report.row(`${label}: disk (MiB)`, diskMiB(s.ctmd.dataDir).toFixed(0), diskMiB(etcdDir).toFixed(0), formatRatio(diskMiB(s.ctmd.dataDir), diskMiB(etcdDir)));
    let t = performance.now();
    const ctmd = await startCtmd(children, dir);
    const ctmdStart = (performance.now() - t) / 1000;
    t = performance.now();
    const etcd = await startEtcd(children, etcdDir, 300_000);
    const etcdStart = (performance.now() - t) / 1000;
    s = { ctmd, etcd, c: new RawClient(ctmd.address, 4, {}, unbounded), e: new RawClient(etcd.address, 4, {}, unbounded) };
    await new Promise((r) => setTimeout(r, 2000));
    report.row(`${label}: start-up, s until serving`, ctmdStart.toFixed(2), etcdStart.toFixed(2), formatRatio(ctmdStart, etcdStart));
    report.row(`${label}: resident memory after start-up (MiB)`, rssMiB(ctmd.child.pid!).toFixed(0), rssMiB(etcd.child.pid!).toFixed(0), formatRatio(rssMiB(ctmd.child.pid!), rssMiB(etcd.child.pid!)));
    // A store too large to check whole at start-up checked its tail, and checks the whole log in
    // the background right after: the reads below are measured once that is done, as they run
    // the rest of the time, and the check's own length is a row.
    const opened = logLines(ctmd.logFile).find((l) => l.msg === "listening")?.["verified"] as { scope?: string } | undefined;
    if (opened?.scope !== "full") {
      const t0 = performance.now();
      const getBody = GetRequest.encode({ key: keyOf(7), context: undefined, consistent: false }).finish();
      const during = await meanMs(500, async () => ok(await s.c.unary(paths.get, getBody), "ctmd Get"));
      const getsEnded = Date.now();
      const done = await waitForLogLine(ctmd.logFile, (l) => l.msg === "store verified" && l["scope"] === "full", '"store verified" (scope full)', 900_000);
      // pino's `time`: when the check's line was written.
      const duringNote = Number(done["time"]) < getsEnded ? " (the check ended before those Gets did)" : "";
      report.row(`${label}: background check of the whole log after start-up (ctmd only; the reads below wait for it), s; waited ${((performance.now() - t0) / 1000).toFixed(1)} s more; a Get meanwhile took ${formatMs(during)} on average (500 calls one after another)${duringNote}`, (Number(done["durationMs"]) / 1000).toFixed(1), "-", "-");
    }

    const getBody = GetRequest.encode({ key: keyOf(7), context: undefined, consistent: false }).finish();
    const etcdGetBody = etcdRangeRequest(keyOf(7));
    const head = await s.c.unary(paths.get, getBody);
    ok(head, "ctmd Get");
    const ctmdHead = GetResponse.decode(head.body!).header!.revision;
    const etcdHeadReply = await s.e.unary(paths.range, etcdGetBody);
    ok(etcdHeadReply, "etcd Range");
    const etcdHead = etcdHeaderRevision(etcdHeadReply.body!);
    // The hot key's versions are the newest revisions on both sides: half-way through them is a
    // past moment at which it lived.
    const getAtBody = GetAtRequest.encode(GetAtRequest.fromPartial({ key: HOT, at: { $case: "revision", value: ctmdHead - Math.floor(hotVersions / 2) } })).finish();
    const etcdGetAtBody = etcdRangeAtRequest(HOT, etcdHead - Math.floor(hotVersions / 2));
    const historyBody = HistoryRequest.encode(HistoryRequest.fromPartial({ key: HOT, limit: 100 })).finish();
    // Each operation in alternating rounds; a row's ratio is the median of the rounds' ratios.
    const ops: { name: string; unit: "ms" | "events/s"; ctmd: () => Promise<number>; etcd?: () => Promise<number> }[] = [
      { name: "Get, mean ms per call (500 calls one after another)", unit: "ms", ctmd: () => meanMs(500, async () => ok(await s.c.unary(paths.get, getBody), "ctmd Get")), etcd: () => meanMs(500, async () => ok(await s.e.unary(paths.range, etcdGetBody), "etcd Range")) },
      { name: `History of the key with ${hotVersions.toLocaleString("en-US")} versions, newest 100, mean ms per call (etcd has no history call)`, unit: "ms", ctmd: () => meanMs(100, async () => ok(await s.c.unary("/ctm.v1.ConfigService/History", historyBody), "ctmd History")) },
      { name: "GetAt: that key at a past revision, mean ms per call (etcd Range at a revision)", unit: "ms", ctmd: () => meanMs(200, async () => ok(await s.c.unary("/ctm.v1.ConfigService/GetAt", getAtBody), "ctmd GetAt")), etcd: () => meanMs(200, async () => ok(await s.e.unary(paths.range, etcdGetAtBody), "etcd Range at a revision")) },
      { name: `every key now (${(keys + 1).toLocaleString("en-US")}), ms (ctmd Snapshot, all pages; etcd Range)`, unit: "ms", ctmd: () => timedMs(async () => expectCount(await ctmdSnapshot(s.c, undefined), keys + 1, "ctmd Snapshot now")), etcd: () => timedMs(async () => expectCount(await etcdRange(s.e, 0), keys + 1, "etcd Range now")) },
      { name: `every key at a past revision (${keys.toLocaleString("en-US")}), ms`, unit: "ms", ctmd: () => timedMs(async () => expectCount(await ctmdSnapshot(s.c, loaded.ctmdPast), keys, "ctmd Snapshot past")), etcd: () => timedMs(async () => expectCount(await etcdRange(s.e, loaded.etcdPast), keys, "etcd Range past")) },
    ];
    // Watch replay: every event from the first revision, or past 100,000 records the newest
    // of the hot key's (etcd replays about 6k events/s here). etcd gives a Txn one revision,
    // so the hot key's puts, one revision each, are where both sides can start alike.
    const replay = records <= 100_000 ? records : Math.min(100_000, hotVersions);
    const from = (head: number): number => (replay === records ? 1 : head - replay + 1);
    ops.push({
      name: `Watch replay of ${replay === records ? "every event" : `the newest ${replay.toLocaleString("en-US")} events`} under the prefix, events/s`,
      unit: "events/s",
      ctmd: async () => replay / ((await timedMs(async () => expectCount(await replayCtmd(s.ctmd.address, replay, PREFIX, from(ctmdHead)), replay, "ctmd replay"))) / 1000),
      etcd: async () => replay / ((await timedMs(async () => expectCount(await replayEtcd(s.etcd.address, replay, PREFIX, from(etcdHead)), replay, "etcd replay"))) / 1000),
    });
    for (const op of ops) {
      // A warm-up of each side first, for the rows in ms: a JIT's first calls are not what a
      // server answers all day, and ctmd starts the thread that reads past records at its
      // first listing in the past.
      if (op.unit === "ms") {
        await op.ctmd();
        await op.etcd?.();
      }
      const rounds: { ctmd: number; etcd?: number }[] = [];
      for (let round = 0; round < settings.rounds; round++) {
        const r: { ctmd: number; etcd?: number } = { ctmd: 0 };
        for (const side of round % 2 === 0 ? ["ctmd", "etcd"] : ["etcd", "ctmd"]) {
          if (side === "ctmd") r.ctmd = await op.ctmd();
          else if (op.etcd) r.etcd = await op.etcd();
        }
        rounds.push(r);
      }
      const fmt = (x: number): string => (op.unit === "ms" ? formatMs(x) : formatRate(x));
      const c = median(rounds.map((r) => r.ctmd));
      if (op.etcd) {
        const ratios = rounds.map((r) => r.ctmd / r.etcd!);
        report.row(`${label}: ${op.name}; rounds ${ratios.map((x) => x.toFixed(2)).join(", ")}`, fmt(c), fmt(median(rounds.map((r) => r.etcd!))), formatRatio(c, median(rounds.map((r) => r.etcd!)), median(ratios)));
      } else {
        report.row(`${label}: ${op.name}; rounds ${rounds.map((r) => fmt(r.ctmd)).join(", ")}`, fmt(c), "-", "-");
      }
      log(`${label}: ${op.name}: ${rounds.map((r) => `${fmt(r.ctmd)} / ${r.etcd === undefined ? "-" : fmt(r.etcd)}`).join(", ")}`);
    }

    // Last, since they write: every key back to the first generation, on both sides in
    // alternating rounds, with a Get on another connection meanwhile. Before each round after
    // the first, both get a new generation of every key (untimed), so every round restores
    // every key (the first also deletes the hot key, which the past did not have).
    const getter = new RawClient(ctmd.address, 1);
    const etcdGetter = new RawClient(s.etcd.address, 1);
    const pastRange = await s.e.unary(paths.range, etcdRangePrefixRequest(PREFIX, loaded.etcdPast), 120_000);
    ok(pastRange, "etcd Range at the revision");
    const pastBytes = pastRange.body!.length;
    const body = RollbackPrefixRequest.encode(RollbackPrefixRequest.fromPartial({ prefix: PREFIX, to: { $case: "revision", value: loaded.ctmdPast }, author: "bench" })).finish();
    const rollbacks: Step[] = [];
    let p99 = 0;
    let max = 0;
    let calls = 0;
    let etcdP99 = 0;
    // ctmd's resident memory before each RollbackPrefix and its peak during it.
    const rss: { before: number; peak: number }[] = [];
    for (let round = 0; round < settings.rounds; round++) {
      if (round > 0) await writeGeneration(s, keys, GENERATIONS + round);
      const want = round === 0 ? keys + 1 : keys;
      const r = { ctmd: 0, etcd: 0 };
      for (const side of round % 2 === 0 ? ["ctmd", "etcd"] : ["etcd", "ctmd"]) {
        if (side === "etcd") {
          // With Gets of etcd meanwhile, as ctmd's side has Gets of ctmd.
          const t0 = performance.now();
          const run = etcdRollbackPrefix(s.e, loaded.etcdPast);
          const [operations, gets] = await Promise.all([run, getsDuring(etcdGetter, paths.range, etcdGetBody, run)]);
          r.etcd = performance.now() - t0;
          expectCount(operations, want, "etcd's rollback, operations");
          if (gets.failed > 0) throw new Error(`${gets.failed} of ${gets.calls} etcd Gets failed during its rollback`);
          etcdP99 = Math.max(etcdP99, gets.p99);
          calls += gets.calls;
          continue;
        }
        const before = rssMiB(ctmd.child.pid!);
        const t0 = performance.now();
        const run = s.c.unary("/ctm.v1.ConfigService/RollbackPrefix", body, 600_000);
        const [reply, gets, peak] = await Promise.all([run, getsDuring(getter, paths.get, getBody, run), peakRss(ctmd.child.pid!, run)]);
        r.ctmd = performance.now() - t0;
        rss.push({ before, peak });
        ok(reply, "ctmd RollbackPrefix");
        expectCount(RollbackPrefixResponse.decode(reply.body!).restored, want, "ctmd RollbackPrefix, keys restored");
        if (gets.failed > 0) throw new Error(`${gets.failed} of ${gets.calls} Gets failed during RollbackPrefix`);
        p99 = Math.max(p99, gets.p99);
        max = Math.max(max, gets.max);
        calls += gets.calls;
      }
      rollbacks.push(r);
      log(`${label}: RollbackPrefix round ${round + 1}: ${formatMs(r.ctmd)} / ${formatMs(r.etcd)}`);
    }
    getter.close();
    etcdGetter.close();
    report.check(true, `${label}: every call of the rows above succeeded (each is checked, and a failure ends the run), every listing held every key, every replay delivered every event, every RollbackPrefix restored every key (the first also deleted the hot key) and etcd's client wrote as many operations, and none of the ${calls} Gets during the rollbacks failed`);
    const ratios = rollbacks.map((r) => r.ctmd / r.etcd);
    const ctmdMs = median(rollbacks.map((r) => r.ctmd));
    const etcdMs = median(rollbacks.map((r) => r.etcd));
    report.row(
      `${label}: RollbackPrefix of every key, ms (etcd, which has none: its client reads the prefix then and now, and puts back and deletes in Txns of 128, 4 at a time, not atomic); rounds ${ratios.map((x) => x.toFixed(2)).join(", ")}; a Get on another connection meanwhile, on each side: ctmd p99 ${formatMs(p99)}, max ${formatMs(max)}, etcd p99 ${formatMs(etcdP99)} (the worst round's; etcd's Gets wait on the bench's process too, which does its client's work); ctmd's RSS before → peak ${rss.map((x) => `${x.before.toFixed(0)} → ${x.peak.toFixed(0)}`).join(", ")} MiB, for ${(pastBytes / 2 ** 20).toFixed(1)} MiB of keys and values at the revision (etcd's Range)`,
      formatMs(ctmdMs),
      formatMs(etcdMs),
      formatRatio(ctmdMs, etcdMs, median(ratios)),
    );
  } finally {
    close(s);
    await stop(s.ctmd.child);
    await stop(s.etcd.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

function expectCount(got: number, want: number, what: string): void {
  if (got !== want) throw new Error(`${what}: ${got} entries, not ${want}`);
}

async function timedMs(f: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

async function open(children: ChildProcesses, dir: string, etcdDir: string): Promise<Sides> {
  const ctmd = await startCtmd(children, dir);
  const etcd = await startEtcd(children, etcdDir);
  return { ctmd, etcd, c: new RawClient(ctmd.address, 4, {}, unbounded), e: new RawClient(etcd.address, 4, {}, unbounded) };
}

function close(s: Sides): void {
  s.c.close();
  s.e.close();
}

async function main(): Promise<number> {
  const tools = requireTools();
  const preset = process.env["BENCH_SCALE"] ?? "full";
  const sizes = process.env["BENCH_SCALE_SIZES"] ? process.env["BENCH_SCALE_SIZES"].split(",").map(Number) : preset === "small" ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
  const info = systemInfo();
  const report = new Report();
  const children = new ChildProcesses();
  const work = mkdtempSync(join(tmpdir(), "ctm-bench-scale-"));
  process.on("exit", () => rmSync(work, { recursive: true, force: true }));
  const log = (text: string): void => console.error(`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${text}`);
  let error: unknown;
  try {
    for (const records of sizes) {
      log(`${records} records: ${shape(records).keys} keys × ${GENERATIONS} generations + one key with ${shape(records).hotVersions} versions`);
      await measureSize(records, work, children, report, log);
    }
  } catch (e) {
    error = e;
  } finally {
    await children.closeAll();
    children.dispose();
  }
  report.note(
    `Data: at N records, N/10 keys (about 120 bytes of JSON each) written ${GENERATIONS} times, plus one key with the remaining versions; "the past" is the revision after the first generation. ctmd: dist/src/main.js with its defaults; etcd ${tools.etcd} with its defaults, on both cores. Load rows: each side's requests are all built before its clock starts, and the side that loads first alternates from generation to generation (the hot key: in two halves, ctmd first then etcd first); each generation and each half of the hot key's versions is a step, whose ratio the row shows, and the row's ratio is that of the totals. Each read row: BENCH_ROUNDS rounds (default 3) in alternating order, the ratio the median of the per-round ratios; every call is checked to have succeeded and every listing to hold every key.`,
  );
  const markdown = report.render(info, systemInfo(), tools, error);
  const results = join(fileURLToPath(new URL(".", import.meta.url)), "results");
  mkdirSync(results, { recursive: true });
  const file = join(results, `scale-${sizes.join("-")}.md`);
  writeFileSync(file, markdown);
  console.log(markdown);
  console.error(`written to ${file}`);
  return error !== undefined || report.failed > 0 ? 1 : 0;
}

main().then((code) => process.exit(code));
