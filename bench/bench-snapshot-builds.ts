import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { GetRequest, RollbackPrefixRequest, RollbackPrefixResponse } from "../src/gen/ctm/v1/config_service.js";
import type { BenchContext } from "./bench-context.js";
import { stop } from "./child-processes.js";
import { quiet } from "./cpu-meter.js";
import { changeCtmd, getsDuring, keyOf, loadCtmd, PREFIX, readSnapshot, snapshotEvery, snapshotWarmUp, unbounded } from "./bench-snapshot.js";
import { formatMs, formatRatio } from "./format.js";
import { median } from "./paired-rounds.js";
import { RawClient } from "./raw-client.js";
import { paths, settings } from "./settings.js";
import { startCtmd } from "./start-ctmd.js";
import { timeTravelRounds } from "./bench-time-travel-builds.js";


interface Side {
  name: string;
  pid: number;
  address: string;
  stop: () => Promise<void>;
  c: RawClient;
  past: number;
  ms: number[];
  /** The same listing with Gets on another connection throughout, as in the row against etcd. */
  withGets: number[];
}

/**
 * BENCH_ONLY=snapshot with BENCH_BASELINE=<another build's dist/src/main.js>: the same keys in
 * this build and that one, then every key at the past revision (every page), this build against
 * that one in alternating rounds, alone and with Gets on another connection throughout (as the
 * row against etcd runs it); then a RollbackPrefix of every key on both (rollbackRounds).
 * This is how a change to the listing path shows what it buys.
 */
export async function benchSnapshotBuilds(ctx: BenchContext, baselineEntry: string): Promise<void> {
  const keys = Number(process.env["BENCH_SNAPSHOT_KEYS"] ?? 100_000);
  const every = snapshotEvery();
  const pageSize = Number(process.env["BENCH_SNAPSHOT_PAGE"] ?? 0);
  const sides: Side[] = [];
  try {
    for (const [name, entry] of [["this build", resolve("dist/src/main.js")], ["the baseline build", resolve(baselineEntry)]] as const) {
      const dir = join(ctx.work, `snapshot-${sides.length}`);
      mkdirSync(dir, { recursive: true });
      const ctmd = await startCtmd(ctx.children, dir, [], entry);
      const c = new RawClient(ctmd.address, 4, {}, unbounded);
      const past = await loadCtmd(c, keys, 1);
      await changeCtmd(c, keys, every);
      const side: Side = { name, pid: ctmd.child.pid!, address: ctmd.address, stop: () => stop(ctmd.child), c, past, ms: [], withGets: [] };
      sides.push(side);
      await quiet([side.pid]);
      // Untimed, as in the row against etcd: the first listing also fills each build's caches.
      const first = await readSnapshot(c, past, pageSize, true);
      ctx.report.check(first.entries === keys, `Snapshot at a past revision, ${name}: ${first.entries} of ${keys} keys as they stood then, in ${first.pages} pages`);
    }
    await quiet(sides.map((s) => s.pid));
    const getBody = GetRequest.encode({ key: keyOf(7), context: undefined, consistent: false }).finish();
    // As in the row against etcd, each build first runs the rounds' listings untimed, until V8
    // has optimized its call path (see snapshotWarmUp).
    const warmUp = snapshotWarmUp();
    for (let round = -warmUp; round < settings.rounds; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        const t0 = performance.now();
        const got = await readSnapshot(side.c, side.past, pageSize, false);
        side.ms.push(performance.now() - t0);
        if (got.entries !== keys) throw new Error(`${side.name}: Snapshot held ${got.entries} keys, not ${keys}`);
        const getter = new RawClient(side.address, 1);
        const t1 = performance.now();
        const run = readSnapshot(side.c, side.past, pageSize, false);
        const gets = await getsDuring(getter, paths.get, getBody, run);
        const busy = await run;
        side.withGets.push(performance.now() - t1);
        getter.close();
        if (busy.entries !== keys || gets.failed > 0) throw new Error(`${side.name}: Snapshot held ${busy.entries} keys, not ${keys}; ${gets.failed} Gets failed meanwhile`);
      }
      const at = round + warmUp;
      ctx.log(`builds ${round < 0 ? "warm-up" : "round"} ${round < 0 ? at + 1 : round + 1}: ${sides.map((s) => `${s.name} ${s.ms[at]!.toFixed(0)} ms (with Gets ${s.withGets[at]!.toFixed(0)} ms)`).join(", ")}`);
    }
    for (const side of sides) {
      side.ms.splice(0, warmUp);
      side.withGets.splice(0, warmUp);
    }
    const [mine, base] = sides as [Side, Side];
    const changed = `${keys.toLocaleString("en-US")} keys, ${every === 1 ? "every one" : `1 in ${every}`} changed since`;
    const row = (what: string, f: (s: Side) => number[]): void => {
      const ratios = f(mine).map((ms, i) => ms / f(base)[i]!);
      ctx.report.row(
        `${what}: this build's time vs the baseline build's (BENCH_BASELINE; below 1× is faster); rounds ${ratios.map((r) => r.toFixed(2)).join(", ")}`,
        formatMs(median(f(mine))),
        formatMs(median(f(base))),
        formatRatio(median(f(mine)), median(f(base)), median(ratios)),
      );
    };
    row(`Every key at a past revision, ${changed}`, (s) => s.ms);
    row(`Every key at a past revision, ${changed}, Gets on another connection meanwhile (as in the row against etcd)`, (s) => s.withGets);
    await timeTravelRounds(ctx, sides);
    await rollbackRounds(ctx, sides, keys);
  } finally {
    for (const s of sides) {
      s.c.close();
      await s.stop();
    }
  }
}

/**
 * RollbackPrefix of every key back to the past revision, one batch of `keys` records, on both
 * builds in alternating rounds (every key changed again first, untimed), with the longest wait
 * of Gets another connection makes meanwhile: the step that makes the batch visible at once,
 * and the commit listeners after it, hold the event loop.
 */
async function rollbackRounds(ctx: BenchContext, sides: Side[], keys: number): Promise<void> {
  const runs = new Map(sides.map((s) => [s, [] as { ms: number; max: number; p99: number }[]]));
  const getBody = GetRequest.encode({ key: keyOf(7), context: undefined, consistent: false }).finish();
  for (let round = 0; round < settings.rounds; round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      await changeCtmd(side.c, keys, 1);
      await quiet([side.pid]);
      const getter = new RawClient(side.address, 1);
      const t0 = performance.now();
      const run = side.c.unary("/ctm.v1.ConfigService/RollbackPrefix", RollbackPrefixRequest.encode(RollbackPrefixRequest.fromPartial({ prefix: PREFIX, to: { $case: "revision", value: side.past }, author: "bench" })).finish(), 120_000);
      const gets = await getsDuring(getter, paths.get, getBody, run);
      const r = await run;
      const ms = performance.now() - t0;
      getter.close();
      if (r.code !== grpc.status.OK) throw new Error(`${side.name}: RollbackPrefix ${grpc.status[r.code]} ${r.details}`);
      const restored = RollbackPrefixResponse.decode(r.body!).restored;
      if (restored !== keys || gets.failed > 0) throw new Error(`${side.name}: RollbackPrefix restored ${restored} of ${keys} keys; ${gets.failed} Gets failed meanwhile`);
      runs.get(side)!.push({ ms, max: gets.max, p99: gets.p99 });
    }
    ctx.log(`rollback round ${round + 1}: ${sides.map((s) => `${s.name} ${runs.get(s)![round]!.ms.toFixed(0)} ms, longest Get ${runs.get(s)![round]!.max.toFixed(0)} ms`).join("; ")}`);
  }
  const [mine, base] = sides.map((s) => runs.get(s)!) as [{ ms: number; max: number; p99: number }[], { ms: number; max: number; p99: number }[]];
  const row = (what: string, f: (x: { ms: number; max: number; p99: number }) => number): void => {
    const ratios = mine.map((x, i) => f(x) / f(base[i]!));
    ctx.report.row(
      `RollbackPrefix of ${keys.toLocaleString("en-US")} keys (one batch), ${what}: this build vs the baseline build; rounds ${ratios.map((r) => r.toFixed(2)).join(", ")}`,
      formatMs(median(mine.map(f))),
      formatMs(median(base.map(f))),
      formatRatio(median(mine.map(f)), median(base.map(f)), median(ratios)),
    );
  };
  row("time", (x) => x.ms);
  row("longest wait of a Get on another connection meanwhile", (x) => x.max);
  row("p99 of those Gets", (x) => x.p99);
}
