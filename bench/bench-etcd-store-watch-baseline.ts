import { resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { SetRequest } from "../src/gen/ctm/v1/config_service.js";
import type { BenchContext } from "./bench-context.js";
import { stop } from "./child-processes.js";
import { cpuSeconds, quiet } from "./cpu-meter.js";
import { fixture } from "./fixture.js";
import { formatMs, formatRatio, formatUs } from "./format.js";
import { median, pairedRounds } from "./paired-rounds.js";
import { RawClient } from "./raw-client.js";
import { fanoutComplete, runWatchFanout, type WatchFanoutResult } from "./run-watch-fanout.js";
import { paths, settings } from "./settings.js";
import type { CtmdHandle } from "./start-ctmd.js";
import { startReplica } from "./start-replica.js";

interface Pair {
  a: CtmdHandle;
  b: CtmdHandle;
  client: RawClient;
}

interface FanoutRun {
  r: WatchFanoutResult;
  /** CPU the two replicas used per delivered event, µs. */
  cpuUs: number;
}

/**
 * BENCH_BASELINE=<another build's dist/src/main.js>: watch fan-out over 2 replicas on the same etcd
 * cluster, this build's pair against that build's, each on its own --etcd-prefix, in alternating
 * rounds, with the CPU the two replicas used per delivered event: what a change to the watch path
 * buys or costs, measured where the latencies (shared with the watchers' processes) cannot show it.
 */
export async function benchEtcdStoreWatchBaseline(ctx: BenchContext, endpoints: readonly string[], baselineEntry: string): Promise<void> {
  const { report } = ctx;
  const pairs: Pair[] = [];
  const start = async (name: string, entry: string): Promise<Pair> => {
    const prefix = `/bench-watch-${name}/`;
    const a = await startReplica(ctx, { name: `${name}-watch-a`, endpoints, prefix, entry, seed: true });
    const b = await startReplica(ctx, { name: `${name}-watch-b`, endpoints: [...endpoints.slice(1), endpoints[0]!], prefix, entry });
    const pair = { a, b, client: new RawClient(a.address) };
    pairs.push(pair);
    return pair;
  };
  try {
    const mine = await start("this-build", resolve("dist/src/main.js"));
    const base = await start("baseline-build", resolve(baselineEntry));
    const pids = pairs.flatMap((p) => [p.a.child.pid!, p.b.child.pid!]);
    const run = async (p: Pair, name: string, round: number): Promise<FanoutRun> => {
      await quiet(pids);
      ctx.log(`Watch fan-out, ${name}, round ${round + 1}: ${settings.watchers} watchers on its replicas A and B`);
      const replicas = [p.a.child.pid!, p.b.child.pid!];
      const before = replicas.reduce((s, pid) => s + cpuSeconds(pid), 0);
      const r = await runWatchFanout(ctx.children, {
        key: fixture.watchKey,
        watchers: settings.watchers,
        channels: settings.watchChannels,
        sets: settings.watchWrites,
        warmup: settings.watchWarmupWrites,
        spacingMs: settings.watchSpacingMs,
        target: "ctm",
        address: `${p.a.address},${p.b.address}`,
        put: async (seq, sentNs) => (await p.client.unary(paths.set, SetRequest.encode({ key: fixture.watchKey, value: { seq, sentNs }, author: "bench", message: "watch" }).finish())).code === grpc.status.OK,
      });
      const used = replicas.reduce((s, pid) => s + cpuSeconds(pid), 0) - before;
      return { r, cpuUs: (used / Math.max(1, r.deliveries + r.warmupDeliveries)) * 1e6 };
    };
    const p = await pairedRounds(
      (round) => run(base, "baseline build", round),
      (round) => run(mine, "this build", round),
    );
    for (const [name, runs] of [["this build", p.mine], ["baseline build", p.base]] as const) {
      runs.forEach(({ r }, i) =>
        report.check(fanoutComplete(r), `watch fan-out, ${name}, round ${i + 1}: ${r.created}/${r.watchers} streams, ${r.setsOk}/${r.sets} writes OK (and ${r.warmupOk}/${r.warmup} warm-up writes), ${r.deliveries}/${r.expected} deliveries (and ${r.warmupDeliveries}/${r.expectedWarmup} of the warm-up), ${r.outOfOrder} out of order`),
      );
    }
    const label = `${settings.watchers} watchers over 2 replicas, ${settings.watchWrites} writes ${settings.watchSpacingMs} ms apart`;
    const row = (what: string, pick: (x: FanoutRun) => number, format: (n: number) => string): void => {
      const ratios = p.mine.map((x, i) => pick(x) / pick(p.base[i]!));
      report.row(
        `Watch fan-out (${label}) on etcd, ${what}: this build vs ${baselineEntry}; rounds ${ratios.map((r) => r.toFixed(2)).join(", ")}`,
        format(median(p.mine.map(pick))),
        format(median(p.base.map(pick))),
        formatRatio(0, 0, median(ratios)),
      );
    };
    row("the two replicas' CPU per delivered event", (x) => x.cpuUs, (us) => formatUs(us));
    row("put-to-delivery p99", (x) => x.r.p99Ms, formatMs);
    report.note(`Watch fan-out, this build vs baseline: each build's two replicas alone on the cluster, on their own --etcd-prefix; replica CPU is user + system time from /proc over the whole run, setup of the 1,000 streams included; the latencies share the machine with the watchers' processes (${p.mine.map((x) => `${Math.round(x.r.clientCores * 100)}%`).join(", ")} of a core in all on this build's rounds).`);
  } finally {
    for (const pair of pairs) {
      pair.client.close();
      await stop(pair.a.child);
      await stop(pair.b.child);
    }
  }
}
