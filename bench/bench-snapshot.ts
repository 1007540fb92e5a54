import { mkdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { RECEIVE_WINDOW } from "@ctm/core/receive-window";
import { ApplyRequest, ApplyResponse, GetRequest, SnapshotRequest, SnapshotResponse, WatchRequest } from "../src/gen/ctm/v1/config_service.js";
import type { BenchContext } from "./bench-context.js";
import { stop } from "./child-processes.js";
import { decodeEtcdRangeResponse, etcdHeaderRevision, etcdPutRequest, etcdRangePrefixRequest, etcdRangeRequest, etcdWatchPrefixRequest } from "./etcd-messages.js";
import { cpuSeconds, quiet } from "./cpu-meter.js";
import { formatMs, formatRate, formatRatio } from "./format.js";
import { percentile } from "./percentile.js";
import { median, pairedRounds } from "./paired-rounds.js";
import { RawClient } from "./raw-client.js";
import { paths, settings } from "./settings.js";
import { startCtmd } from "./start-ctmd.js";
import { startEtcd } from "./start-etcd.js";

export const PREFIX = "snap/";
export const keyOf = (i: number): string => `${PREFIX}k${String(i).padStart(7, "0")}`;
/** About 300 bytes of JSON per value. */
export const valueOf = (i: number, generation: number) => ({ id: i, generation, owner: `team-${i % 50}`, enabled: i % 3 === 0, note: "n".repeat(200) });
export const unbounded = { "grpc.max_receive_message_length": -1 };

/** How many times a top-level length-delimited field occurs in a message (its entries, without decoding them). */
export function countField(bytes: Uint8Array, field: number): number {
  const r = new BinaryReader(bytes);
  let n = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === field && (tag & 7) === 2) {
      n++;
      r.skip(2);
    } else r.skip(tag & 7);
  }
  return n;
}

/** A SnapshotResponse's revision, entry count and next_page_token, without decoding the entries. */
export function skimSnapshot(bytes: Uint8Array): { revision: number; count: number; nextPageToken: string } {
  const r = new BinaryReader(bytes);
  const out = { revision: 0, count: 0, nextPageToken: "" };
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 16) out.revision = Number(r.uint64());
    else if (tag === 26) {
      out.count++;
      r.skip(2);
    } else if (tag === 34) out.nextPageToken = r.string();
    else r.skip(tag & 7);
  }
  return out;
}

/** Runs `n` jobs, `width` at a time. */
export async function pool(n: number, width: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await job(next++);
  }));
}

export const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

/** BENCH_SNAPSHOT_WARMUP: listings of each server, with Gets meanwhile, before the timed rounds (default 4). */
export const snapshotWarmUp = (): number => Number(process.env["BENCH_SNAPSHOT_WARMUP"] ?? 4);

/** BENCH_SNAPSHOT_EVERY: every how many keys one is changed after the past revision (1: all of them, so no record of the listing is a key's current one). */
export const snapshotEvery = (): number => Number(process.env["BENCH_SNAPSHOT_EVERY"] ?? 10);

/** Sets keys 0..keys-1 (generation 1) in Apply batches of 1000, 4 at a time; the revision after them. */
export async function loadCtmd(c: RawClient, keys: number, generation: number): Promise<number> {
  let past = 0;
  await pool(Math.ceil(keys / 1000), 4, async (b) => {
    // Awaited first: `past` read before the await would be another job's older value.
    const revision = await applyKeys(c, b * 1000, Math.min(keys, (b + 1) * 1000), 1, generation);
    past = Math.max(past, revision);
  });
  return past;
}

/** Changes every `every`th key (generation 2), 1000 keys an Apply. */
export async function changeCtmd(c: RawClient, keys: number, every: number): Promise<void> {
  const span = 1000 * every;
  await pool(Math.ceil(keys / span), 4, async (b) => void (await applyKeys(c, b * span, Math.min(keys, (b + 1) * span), every, 2)));
}

async function applyKeys(c: RawClient, from: number, to: number, step: number, generation: number): Promise<number> {
  const ops = [];
  for (let i = from; i < to; i += step) ops.push({ operation: { $case: "set" as const, value: { key: keyOf(i), value: valueOf(i, generation) } } });
  const r = await c.unary("/ctm.v1.ConfigService/Apply", ApplyRequest.encode(ApplyRequest.fromPartial({ operations: ops, author: "bench" })).finish(), 60_000);
  if (r.code !== grpc.status.OK) throw new Error(`ctmd Apply: ${grpc.status[r.code]} ${r.details}`);
  return ApplyResponse.decode(r.body!).header!.revision;
}

/**
 * Every page of the listing at `past`. `check` decodes every entry and counts those as they
 * stood then (generation 1); otherwise only the entries are counted, as for etcd.
 */
export async function readSnapshot(c: RawClient, past: number, pageSize: number, check: boolean): Promise<{ entries: number; bytes: number; pages: number }> {
  let req: SnapshotRequest = SnapshotRequest.fromPartial({ prefix: PREFIX, at: { $case: "revision", value: past }, pageSize });
  let entries = 0;
  let bytes = 0;
  let pages = 0;
  for (;;) {
    const r = await c.unary("/ctm.v1.ConfigService/Snapshot", SnapshotRequest.encode(req).finish(), 120_000);
    if (r.code !== grpc.status.OK) throw new Error(`ctmd Snapshot: ${grpc.status[r.code]} ${r.details}`);
    const page = check ? SnapshotResponse.decode(r.body!) : skimSnapshot(r.body!);
    if (page.revision !== past) throw new Error(`ctmd Snapshot page at revision ${page.revision}, not ${past}`);
    entries += check ? (page as SnapshotResponse).entries.filter((x) => (x.value as { generation?: number }).generation === 1).length : (page as { count: number }).count;
    bytes += r.body!.length;
    pages++;
    if (page.nextPageToken === "") return { entries, bytes, pages };
    req = SnapshotRequest.fromPartial({ prefix: PREFIX, pageSize, pageToken: page.nextPageToken });
  }
}

/** Gets of one key, back to back on their own connection, until `done` resolves: the latency another client sees meanwhile. */
export async function getsDuring(client: RawClient, path: string, body: Uint8Array, done: Promise<unknown>): Promise<{ p99: number; max: number; calls: number; failed: number }> {
  let over = false;
  void done.finally(() => (over = true));
  const ms: number[] = [];
  let failed = 0;
  while (!over) {
    const t = performance.now();
    const r = await client.unary(path, body);
    ms.push(performance.now() - t);
    if (r.code !== grpc.status.OK) failed++;
  }
  ms.sort((a, b) => a - b);
  return { p99: percentile(ms, 99), max: ms[ms.length - 1] ?? NaN, calls: ms.length, failed };
}

/** Peak RSS of `pid` while `done` is pending, sampled every 20 ms. */
export async function peakRss(pid: number, done: Promise<unknown>): Promise<number> {
  let over = false;
  void done.finally(() => (over = true));
  let peak = rssMiB(pid);
  while (!over) {
    await new Promise((r) => setTimeout(r, 20));
    peak = Math.max(peak, rssMiB(pid));
  }
  return peak;
}

/**
 * BENCH_ONLY=snapshot: BENCH_SNAPSHOT_KEYS keys (default 100,000) in ctmd and in etcd, each
 * then changed once for every BENCH_SNAPSHOT_EVERY-th key (default 10); then, in alternating rounds, every key as it stood
 * before the changes: ctmd's Snapshot at that revision (every page; BENCH_SNAPSHOT_PAGE keys per
 * page, default the daemon's) against etcd's Range at its revision, with the latency of Gets another client makes meanwhile and ctmd's peak RSS.
 */
export async function benchSnapshot(ctx: BenchContext): Promise<void> {
  const { report } = ctx;
  const keys = Number(process.env["BENCH_SNAPSHOT_KEYS"] ?? 100_000);
  const every = snapshotEvery();
  const dir = join(ctx.work, "snapshot");
  mkdirSync(dir, { recursive: true });
  const ctmd = await startCtmd(ctx.children, dir);
  const etcd = await startEtcd(ctx.children, join(dir, "etcd-data"));
  const c = new RawClient(ctmd.address, 4, {}, unbounded);
  const e = new RawClient(etcd.address, 4, {}, unbounded);
  // The window ctm's own grpc-js clients (SDK, CLI) open: one row compares it with the default.
  const windowed = new RawClient(ctmd.address, 4, {}, { ...unbounded, ...RECEIVE_WINDOW });
  const getter = new RawClient(ctmd.address, 1);
  const etcdGetter = new RawClient(etcd.address, 1);
  try {
    // Load: ctmd in Apply batches of 1000, etcd in Puts 64 at a time (its Txn takes 128 at most).
    let t = performance.now();
    const ctmdPast = await loadCtmd(c, keys, 1);
    ctx.log(`ctmd: ${keys} keys loaded in ${((performance.now() - t) / 1000).toFixed(1)} s, revision ${ctmdPast}`);
    await changeCtmd(c, keys, every);
    t = performance.now();
    const put = async (i: number, generation: number): Promise<void> => {
      const r = await e.unary(paths.put, etcdPutRequest(keyOf(i), JSON.stringify(valueOf(i, generation))), 60_000);
      if (r.code !== grpc.status.OK) throw new Error(`etcd Put: ${grpc.status[r.code]} ${r.details}`);
    };
    await pool(keys, 64, (i) => put(i, 1));
    const head = await e.unary(paths.range, etcdRangeRequest(keyOf(0)));
    const etcdPast = etcdHeaderRevision(head.body!);
    ctx.log(`etcd: ${keys} keys loaded in ${((performance.now() - t) / 1000).toFixed(1)} s, revision ${etcdPast}`);
    await pool(Math.ceil(keys / every), 64, (j) => put(j * every, 2));

    const pageSize = Number(process.env["BENCH_SNAPSHOT_PAGE"] ?? 0);
    const ctmdSnapshot = (check: boolean) => readSnapshot(c, ctmdPast, pageSize, check);
    const etcdRange = async (check: boolean): Promise<{ entries: number; bytes: number }> => {
      const r = await e.unary(paths.range, etcdRangePrefixRequest(PREFIX, etcdPast), 120_000);
      if (r.code !== grpc.status.OK) throw new Error(`etcd Range: ${grpc.status[r.code]} ${r.details}`);
      if (!check) return { entries: countField(r.body!, 2), bytes: r.body!.length };
      const { kvs } = decodeEtcdRangeResponse(r.body!);
      const entries = kvs.filter((kv) => (JSON.parse(Buffer.from(kv.value).toString()) as { generation: number }).generation === 1).length;
      return { entries, bytes: r.body!.length };
    };
    await quiet([ctmd.child.pid!, etcd.child.pid!]);
    // Checked once, untimed: both answer every key as it stood before the changes.
    const answer = await ctmdSnapshot(true);
    const etcdAnswer = await etcdRange(true);
    report.check(
      answer.entries === keys && etcdAnswer.entries === keys,
      `Snapshot at a past revision: ctmd answered ${answer.entries} keys as they stood then in ${answer.pages} pages of up to ${pageSize || "the default"} keys, etcd ${etcdAnswer.entries} (of ${keys})`,
    );

    const getBody = GetRequest.encode({ key: keyOf(7), context: undefined, consistent: false }).finish();
    const etcdGetBody = etcdRangeRequest(keyOf(7));
    type Row = { ctmdMs: number; etcdMs: number; getP99: number; getMax: number; etcdGetP99: number; peak: number; rssBefore: number; ctmdCpu: number; etcdCpu: number; ctmdDriverCpu: number; etcdDriverCpu: number };
    const listingRound = async (round: number, name: string): Promise<Row> => {
      const row = { ctmdMs: 0, etcdMs: 0, getP99: 0, getMax: 0, etcdGetP99: 0, peak: 0, rssBefore: rssMiB(ctmd.child.pid!), ctmdCpu: 0, etcdCpu: 0, ctmdDriverCpu: 0, etcdDriverCpu: 0 };
      const order = round % 2 === 0 ? ["ctmd", "etcd"] : ["etcd", "ctmd"];
      for (const side of order) {
        // CPU of the server (every thread) and of this driver (the client, with its Gets) over the listing.
        const server = side === "ctmd" ? ctmd.child.pid! : etcd.child.pid!;
        const cpu0 = cpuSeconds(server);
        const driver0 = process.cpuUsage();
        const t0 = performance.now();
        if (side === "ctmd") {
          const run = ctmdSnapshot(false);
          const [got, gets, peak] = await Promise.all([run, getsDuring(getter, paths.get, getBody, run), peakRss(ctmd.child.pid!, run)]);
          row.ctmdMs = performance.now() - t0;
          if (got.entries !== keys) throw new Error(`ctmd Snapshot: ${got.entries} entries, not ${keys}`);
          Object.assign(row, { getP99: gets.p99, getMax: gets.max, peak });
          if (gets.failed > 0) throw new Error(`${gets.failed} Gets failed during the snapshot`);
        } else {
          const run = etcdRange(false);
          const [got, gets] = await Promise.all([run, getsDuring(etcdGetter, paths.range, etcdGetBody, run)]);
          row.etcdMs = performance.now() - t0;
          if (got.entries !== keys) throw new Error(`etcd Range: ${got.entries} kvs, not ${keys}`);
          row.etcdGetP99 = gets.p99;
        }
        const driver = process.cpuUsage(driver0);
        row[side === "ctmd" ? "ctmdCpu" : "etcdCpu"] = (cpuSeconds(server) - cpu0) * 1000;
        row[side === "ctmd" ? "ctmdDriverCpu" : "etcdDriverCpu"] = (driver.user + driver.system) / 1000;
      }
      ctx.log(`${name} ${round + 1}: ctmd ${row.ctmdMs.toFixed(0)} ms (${answer.pages} pages), etcd ${row.etcdMs.toFixed(0)} ms; Get p99 during it ${row.getP99.toFixed(1)} ms (max ${row.getMax.toFixed(1)}); peak RSS ${row.peak.toFixed(0)} MiB`);
      return row;
    };
    // Untimed for the rows, shown in the notes: ctmd's call path (grpc-js, HTTP/2, the handlers)
    // is still being optimized by V8 through its first few thousand calls, and etcd has no such
    // start. A daemon in service is past it; the rounds measure that one.
    const warmUp: Row[] = [];
    for (let round = 0; round < snapshotWarmUp(); round++) warmUp.push(await listingRound(round, "warm-up"));
    const rows: Row[] = [];
    for (let round = 0; round < settings.rounds; round++) rows.push(await listingRound(round, "round"));
    const med = (f: (r: (typeof rows)[number]) => number): number => {
      const s = rows.map(f).sort((a, b) => a - b);
      return s[Math.floor(s.length / 2)]!;
    };
    const ratios = rows.map((r) => r.ctmdMs / r.etcdMs);
    report.row(
      `Every key at a past revision, ${keys.toLocaleString("en-US")} keys, ${every === 1 ? "every one" : `1 in ${every}`} changed since: ctmd Snapshot (all pages) vs etcd Range (goal ≤ 2× etcd's time)`,
      formatMs(med((r) => r.ctmdMs)),
      formatMs(med((r) => r.etcdMs)),
      formatRatio(med((r) => r.ctmdMs), med((r) => r.etcdMs), [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]),
    );
    const cpuRatios = rows.map((r) => r.ctmdCpu / r.etcdCpu);
    report.row(
      `Every key at a past revision: the server's CPU time for it, all threads (/proc, 10 ms ticks); rounds ${cpuRatios.map((r) => r.toFixed(2)).join(", ")}`,
      formatMs(med((r) => r.ctmdCpu)),
      formatMs(med((r) => r.etcdCpu)),
      formatRatio(med((r) => r.ctmdCpu), med((r) => r.etcdCpu), [...cpuRatios].sort((a, b) => a - b)[Math.floor(cpuRatios.length / 2)]),
    );
    report.row(`Get p99 on another connection meanwhile (goal < 50 ms)`, formatMs(med((r) => r.getP99)), formatMs(med((r) => r.etcdGetP99)), formatRatio(med((r) => r.getP99), med((r) => r.etcdGetP99)));
    report.note(
      `Snapshot at a past revision, per round: ctmd ÷ etcd time ${ratios.map((r) => r.toFixed(2)).join(", ")}; ctmd's Get p99 ${rows.map((r) => r.getP99.toFixed(1)).join(", ")} ms (max ${rows.map((r) => r.getMax.toFixed(1)).join(", ")}); ctmd's RSS before → peak ${rows.map((r) => `${r.rssBefore.toFixed(0)} → ${r.peak.toFixed(0)}`).join(", ")} MiB for an answer of ${(answer.bytes / 2 ** 20).toFixed(1)} MiB (etcd's: ${(etcdAnswer.bytes / 2 ** 20).toFixed(1)} MiB in one response). CPU per listing, server (all threads) and, in brackets, the bench driver (the client and its Gets): ctmd ${rows.map((r) => `${r.ctmdCpu.toFixed(0)} (${r.ctmdDriverCpu.toFixed(0)})`).join(", ")} ms; etcd ${rows.map((r) => `${r.etcdCpu.toFixed(0)} (${r.etcdDriverCpu.toFixed(0)})`).join(", ")} ms; ${availableParallelism()} cores are shared by the server's threads, the driver and the other server, idle meanwhile.`,
    );
    report.note(
      `Snapshot at a past revision, the ${warmUp.length} warm-up listings before those rounds (BENCH_SNAPSHOT_WARMUP; run as the rounds, Gets meanwhile, left out of the rows): ctmd ${warmUp.map((r) => r.ctmdMs.toFixed(0)).join(", ")} ms, etcd ${warmUp.map((r) => r.etcdMs.toFixed(0)).join(", ")} ms; ctmd ÷ etcd ${warmUp.map((r) => (r.ctmdMs / r.etcdMs).toFixed(2)).join(", ")}.`,
    );
    // The same listing, with Gets meanwhile, read by a client with ctm's receive window and by one with grpc-js's.
    const listed = (client: RawClient, side: string) => async (): Promise<number> => {
      const t0 = performance.now();
      const run = readSnapshot(client, ctmdPast, pageSize, false);
      const [got, gets] = await Promise.all([run, getsDuring(getter, paths.get, getBody, run)]);
      if (got.entries !== keys || gets.failed > 0) throw new Error(`Snapshot (${side} window): ${got.entries} entries of ${keys}, ${gets.failed} Gets failed`);
      return performance.now() - t0;
    };
    const windows = await pairedRounds(listed(c, "default"), listed(windowed, "4 MiB"));
    const windowRatios = windows.mine.map((ms, i) => ms / windows.base[i]!);
    report.row(
      `Every key at a past revision, Gets meanwhile: ctmd Snapshot read with the 4 MiB HTTP/2 window ctm's SDK and CLI open vs grpc-js's default 64 KiB (below 1× is faster); rounds ${windowRatios.map((r) => r.toFixed(2)).join(", ")}`,
      formatMs(median(windows.mine)),
      formatMs(median(windows.base)),
      formatRatio(median(windows.mine), median(windows.base), median(windowRatios)),
    );
    // Watch replay: every record under the prefix from revision 1, as a client that resumes from
    // the start (or rebuilds a cache) reads them, against etcd's watch from its revision 1.
    const total = keys + Math.ceil(keys / every);
    const replays: { ctmd: number; etcd: number }[] = [];
    for (let round = 0; round < settings.rounds; round++) {
      const r = { ctmd: 0, etcd: 0 };
      for (const side of round % 2 === 0 ? ["ctmd", "etcd"] : ["etcd", "ctmd"]) {
        const t0 = performance.now();
        const got = side === "ctmd" ? await replayCtmd(ctmd.address, total) : await replayEtcd(etcd.address, total);
        if (got !== total) throw new Error(`${side} replay delivered ${got} events, not ${total}`);
        r[side as "ctmd" | "etcd"] = total / ((performance.now() - t0) / 1000);
      }
      replays.push(r);
      ctx.log(`replay round ${round + 1}: ctmd ${Math.round(r.ctmd)} events/s, etcd ${Math.round(r.etcd)} events/s`);
    }
    const replayRatios = replays.map((r) => r.ctmd / r.etcd);
    const medOf = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    report.row(
      `Watch replay from revision 1, ${total.toLocaleString("en-US")} events under one prefix: events/s vs etcd (goal ≥ 1.0×)`,
      formatRate(medOf(replays.map((r) => r.ctmd))),
      formatRate(medOf(replays.map((r) => r.etcd))),
      formatRatio(medOf(replays.map((r) => r.ctmd)), medOf(replays.map((r) => r.etcd)), medOf(replayRatios)),
    );
    report.note(`Watch replay, ctmd ÷ etcd per round: ${replayRatios.map((x) => x.toFixed(2)).join(", ")}.`);
  } finally {
    for (const x of [c, windowed, e, getter, etcdGetter]) x.close();
    await stop(ctmd.child);
    await stop(etcd.child);
  }
}

/** Opens a Watch of `prefix` from `start` and counts events until `total` arrived; returns the count. */
export function replayCtmd(address: string, total: number, prefix = PREFIX, start = 1): Promise<number> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), unbounded);
  const call = client.makeServerStreamRequest<Buffer, Buffer>("/ctm.v1.ConfigService/Watch", (b) => b, (b) => b, Buffer.from(WatchRequest.encode({ key: prefix, prefix: true, startRevision: start }).finish()));
  return countUntil(call, total, (b) => countField(b, 3), () => client.close());
}

export function replayEtcd(address: string, total: number, prefix = PREFIX, start = 1): Promise<number> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), unbounded);
  const call = client.makeBidiStreamRequest<Buffer, Buffer>("/etcdserverpb.Watch/Watch", (b) => b, (b) => b);
  call.write(Buffer.from(etcdWatchPrefixRequest(prefix, start)));
  return countUntil(call, total, (b) => countField(b, 11), () => client.close());
}

function countUntil(call: grpc.ClientReadableStream<Buffer> & { cancel(): void }, total: number, count: (b: Buffer) => number, close: () => void): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const timer = setTimeout(() => finish(new Error(`replay stalled at ${n} of ${total} events`)), 120_000);
    const finish = (e?: Error): void => {
      clearTimeout(timer);
      call.removeAllListeners("data");
      call.on("error", () => undefined);
      call.cancel();
      close();
      if (e) reject(e);
      else resolve(n);
    };
    call.on("data", (b: Buffer) => {
      n += count(b);
      if (n >= total) finish();
    });
    call.on("error", (e: Error) => finish(e));
  });
}
