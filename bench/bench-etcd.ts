import * as grpc from "@grpc/grpc-js";
import { join } from "node:path";
import { SetRequest } from "../src/gen/ctm/v1/config_service.js";
import { type BenchContext, h2label, type LoadTarget, settle } from "./bench-context.js";
import { stop } from "./child-processes.js";
import { decodeEtcdRangeResponse, etcdPutRequest, etcdRangeRequest } from "./etcd-messages.js";
import { fixture } from "./fixture.js";
import { formatMs, formatRate, formatRatio } from "./format.js";
import { failuresText, h2clean, h2counts, onlyCutOff } from "./load-checks.js";
import { measureLatency } from "./measure-latency.js";
import { pairedRuns, totals } from "./paired-runs.js";
import { RawClient } from "./raw-client.js";
import { paths, settings } from "./settings.js";
import type { CtmdHandle } from "./start-ctmd.js";
import { startCannedNoopServer } from "./start-canned-noop-server.js";
import { type EtcdHandle, startEtcd } from "./start-etcd.js";

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** An etcd with the bench's key seeded, checked with one grpc-js Range of the h2load frame. */
export async function seededEtcd(ctx: BenchContext, name: string, cores?: number): Promise<EtcdHandle> {
  const etcd = await startEtcd(ctx.children, join(ctx.work, name), 30_000, cores === undefined ? {} : { cores });
  const client = new RawClient(etcd.address);
  const seeded = await client.unary(paths.put, etcdPutRequest(fixture.key, JSON.stringify(fixture.value)));
  const range = await client.unary(paths.range, etcdRangeRequest(fixture.key));
  client.close();
  const kvs = range.body ? decodeEtcdRangeResponse(range.body).kvs : [];
  ctx.report.check(
    seeded.code === grpc.status.OK && range.code === grpc.status.OK && kvs.length === 1,
    `${name}: seed Put ${grpc.status[seeded.code]}; one grpc-js Range with the h2load frame ${grpc.status[range.code]} returning ${kvs.length} kv`,
  );
  return etcd;
}

/**
 * ctmd's Get and Set against etcd's Range and Put at c64, in alternating rounds, against etcd
 * as it runs (both cores) and against etcd on one core (GOMAXPROCS=1), since ctmd serves from
 * one JavaScript thread; then Set against Put p99 in alternating rounds. Returns the running
 * etcd (both cores) for the watch section.
 */
export async function benchEtcd(ctx: BenchContext, ctmd: CtmdHandle): Promise<EtcdHandle> {
  const { report } = ctx;
  const c64 = settings.c64;
  const value = JSON.stringify(fixture.value);
  const etcd = await seededEtcd(ctx, "etcd");
  const oneCore = await seededEtcd(ctx, "etcd on one core (GOMAXPROCS=1)", 1);
  const pairs = [
    { ours: "Get", theirs: "Range", path: paths.get, frame: ctx.frame("ctm-get", fixture.getRequest()), peerPath: paths.range, peerFrame: ctx.frame("etcd-Range", etcdRangeRequest(fixture.key)) },
    { ours: "Set", theirs: "Put", path: paths.set, frame: ctx.frame("ctm-set", fixture.setRequest()), peerPath: paths.put, peerFrame: ctx.frame("etcd-Put", etcdPutRequest(fixture.setKey, value)) },
  ];
  try {
    for (const [peer, name] of [
      [etcd, "etcd"],
      [oneCore, "etcd on one core"],
    ] as const) {
      for (const pair of pairs) {
        ctx.log(`ctmd ${pair.ours} vs ${name} ${pair.theirs}, c64`);
        const before = await peer.handled(pair.theirs);
        ctmd.rpcLog.mark();
        const theirs: LoadTarget = { label: `${name} ${pair.theirs}`, process: peer.child, address: peer.address, path: pair.peerPath, frameFile: pair.peerFrame };
        const ours: LoadTarget = { label: `ctmd ${pair.ours}`, process: ctmd.child, address: ctmd.address, lastWords: ctmd.lastWords, path: pair.path, frameFile: pair.frame };
        const p = await pairedRuns(ctx, theirs, ours, pair.path, pair.frame, c64);
        await settle();
        const after = await peer.handled(pair.theirs);
        const failures = Object.fromEntries(
          Object.entries(after.failures)
            .map(([code, n]): [string, number] => [code, n - (before.failures[code] ?? 0)])
            .filter(([, n]) => n > 0),
        );
        const tally = ctmd.rpcLog.tally(pair.ours);
        const mine = totals(p.mine.runs);
        const base = totals(p.base.runs);
        // Each h2load run may cut off the calls in flight when it stops: 64 per run.
        const cutOff = 64 * p.mine.runs.length;
        report.check(
          [...p.mine.runs, ...p.base.runs].every((r) => h2clean(r, 64)) &&
            onlyCutOff(failures, cutOff) &&
            after.ok - before.ok >= base.succeeded &&
            onlyCutOff(tally.failures, cutOff) &&
            tally.ok >= mine.succeeded,
          `ctmd ${pair.ours} vs ${name} ${pair.theirs}, ${p.mine.runs.length} rounds: ctmd ${h2counts(mine)}, logged ${tally.ok} OK${failuresText(tally.failures)}; ${name} ${h2counts(base)}, grpc_server_handled_total grew by ${after.ok - before.ok} OK${failuresText(failures)} (incl. warm-up)`,
        );
        const what = pair.ours === "Get" ? "Get" : "Durable Set";
        report.row(`${what} req/s, c64 (${h2label(c64)}${pair.ours === "Set" ? ", one key" : ""}) vs ${name} ${pair.theirs}`, formatRate(p.mine.reqPerSec), formatRate(p.base.reqPerSec), formatRatio(p.mine.reqPerSec, p.base.reqPerSec, p.ratio));
        report.note(`ctmd ${pair.ours} ÷ ${name} ${pair.theirs} per round (the row shows the median): ${p.ratios.map((r) => r.toFixed(2)).join(", ")}.`);
      }
    }

    await writeCeiling(ctx, ctmd, etcd, pairs[1]!.frame, pairs[1]!.peerFrame);

    // p99 of durable writes to distinct keys, one grpc-js client each, in alternating rounds.
    const ctmdClient = new RawClient(ctmd.address, c64.connections);
    const etcdClient = new RawClient(etcd.address, c64.connections);
    const p99s: { ctmd: number; etcd: number }[] = [];
    try {
      for (let round = 0; round < settings.rounds; round++) {
        const r = { ctmd: 0, etcd: 0 };
        for (const side of round % 2 === 0 ? (["ctmd", "etcd"] as const) : (["etcd", "ctmd"] as const)) {
          const lat =
            side === "ctmd"
              ? await measureLatency(ctmdClient, paths.set, (i) => SetRequest.encode({ key: `bench/set/r${round}k${i}`, value: fixture.value, author: "bench", message: "p99" }).finish(), { calls: settings.latencyCalls, concurrency: 64 })
              : await measureLatency(etcdClient, paths.put, (i) => etcdPutRequest(`bench/set/r${round}k${i}`, value), { calls: settings.latencyCalls, concurrency: 64 });
          report.check(lat.ok === lat.calls, `${side} ${side === "ctmd" ? "Set" : "Put"} grpc-js latency run c64, round ${round + 1} (distinct keys): ${lat.ok}/${lat.calls} OK${lat.firstError ? ` (${lat.firstError})` : ""}`);
          r[side] = lat.p99Ms;
        }
        p99s.push(r);
      }
    } finally {
      ctmdClient.close();
      etcdClient.close();
    }
    const mine = median(p99s.map((r) => r.ctmd));
    const theirs = median(p99s.map((r) => r.etcd));
    report.row(`Durable Set p99, c64 (grpc-js client, ${settings.latencyCalls} calls, distinct keys) vs etcd Put`, formatMs(mine), formatMs(theirs), formatRatio(mine, theirs, median(p99s.map((r) => r.ctmd / r.etcd))));
    report.note(`Set p99 ÷ Put p99 per round: ${p99s.map((r) => (r.ctmd / r.etcd).toFixed(2)).join(", ")}.`);
  } finally {
    await stop(oneCore.child);
  }
  return etcd;
}

/**
 * The ceiling grpc-js itself sets for a write served from one JavaScript thread: a server that
 * answers every call with ctmd's own SetResponse bytes, decoding nothing and writing nothing,
 * against etcd's Put, in alternating rounds. A write path on that transport, whatever it does,
 * is slower than this.
 */
async function writeCeiling(ctx: BenchContext, ctmd: CtmdHandle, etcd: EtcdHandle, setFrame: string, putFrame: string): Promise<void> {
  const client = new RawClient(ctmd.address);
  const answer = await client.unary(paths.set, fixture.setRequest());
  client.close();
  if (answer.code !== grpc.status.OK) throw new Error(`ctmd Set for the canned answer: ${grpc.status[answer.code]} ${answer.details}`);
  const noop = await startCannedNoopServer(ctx.children, ctx.work, "set-answer", answer.body!);
  try {
    ctx.log("no-op grpc-js (a canned SetResponse) vs etcd Put, c64");
    const calls0 = await noop.calls();
    const puts0 = await etcd.handled("Put");
    const theirs: LoadTarget = { label: "etcd Put", process: etcd.child, address: etcd.address, path: paths.put, frameFile: putFrame };
    // The no-op serves one method, Get, whatever the body: h2load sends it the Set request.
    const ours: LoadTarget = { label: "no-op grpc-js, canned SetResponse", process: noop.child, address: noop.address, path: paths.get, frameFile: setFrame };
    const p = await pairedRuns(ctx, theirs, ours, paths.get, setFrame, settings.c64);
    await settle();
    const served = (await noop.calls()) - calls0;
    const puts = await etcd.handled("Put");
    const mine = totals(p.mine.runs);
    const base = totals(p.base.runs);
    ctx.report.check(
      [...p.mine.runs, ...p.base.runs].every((r) => h2clean(r, 64)) && served >= mine.succeeded && puts.ok - puts0.ok >= base.succeeded,
      `no-op grpc-js vs etcd Put, ${p.mine.runs.length} rounds: no-op ${h2counts(mine)}, answered ${served} calls; etcd ${h2counts(base)}, grpc_server_handled_total grew by ${puts.ok - puts0.ok} OK (both incl. warm-up)`,
    );
    ctx.report.row(
      `A grpc-js server that only answers (a canned SetResponse, one JavaScript thread) req/s, c64 (${h2label(settings.c64)}) vs etcd Put: the most any write served by grpc-js from one thread can reach; rounds ${p.ratios.map((r) => r.toFixed(2)).join(", ")}`,
      formatRate(p.mine.reqPerSec),
      formatRate(p.base.reqPerSec),
      formatRatio(p.mine.reqPerSec, p.base.reqPerSec, p.ratio),
    );
    ctx.report.note(`Main-thread CPU per request at c64: no-op grpc-js ${p.mine.mainUsPerRequest.toFixed(0)} µs; etcd's is spread over its threads (see the CPU note).`);
  } finally {
    await stop(noop.child);
  }
}
