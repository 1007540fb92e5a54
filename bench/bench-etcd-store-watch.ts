import * as grpc from "@grpc/grpc-js";
import { SetRequest } from "../src/gen/ctm/v1/config_service.js";
import type { BenchContext } from "./bench-context.js";
import { describeWatchFanout } from "./bench-watch.js";
import { etcdPutRequest } from "./etcd-messages.js";
import { fixture } from "./fixture.js";
import { formatMs, formatRatio } from "./format.js";
import { median, pairedRounds } from "./paired-rounds.js";
import { quiet } from "./cpu-meter.js";
import { RawClient } from "./raw-client.js";
import { fanoutComplete, runWatchFanout, type WatchFanoutResult } from "./run-watch-fanout.js";
import { paths, settings } from "./settings.js";
import type { EtcdCluster } from "./start-etcd-cluster.js";
import type { CtmdHandle } from "./start-ctmd.js";

/**
 * Watch fan-out across two replicas against etcd's own, in alternating rounds: 1,000 watchers of
 * one key, half on replica A and half on replica B, with every write a Set through replica A
 * (B learns of it through its etcd watch of the log); against 1,000 etcd watchers, half on
 * member 0 and half on member 1, with every Put sent to member 0 (replica A dials member 0 first,
 * replica B member 1).
 */
export async function benchEtcdStoreWatch(ctx: BenchContext, a: CtmdHandle, b: CtmdHandle, cluster: EtcdCluster): Promise<void> {
  const { report } = ctx;
  const [m0, m1] = cluster.members;
  const common = { key: fixture.watchKey, watchers: settings.watchers, channels: settings.watchChannels, sets: settings.watchWrites, warmup: settings.watchWarmupWrites, spacingMs: settings.watchSpacingMs };
  const ctm = new RawClient(a.address);
  const etcd = new RawClient(m0!.address);
  // The Set rows before leave work behind (replica A's key index of their records, etcd's own
  // compaction): every round starts once the replicas and the members have gone quiet.
  const pids = [a.child.pid!, b.child.pid!, ...cluster.members.map((m) => m.child.pid!)];
  const waits: string[] = [];
  const settled = async (side: string): Promise<void> => {
    const t = Date.now();
    await quiet(pids);
    waits.push(`${side} ${((Date.now() - t) / 1000).toFixed(1)} s`);
  };
  let p: { base: WatchFanoutResult[]; mine: WatchFanoutResult[] };
  try {
    p = await pairedRounds(
      async (round) => {
        await settled(`etcd round ${round + 1}`);
        ctx.log(`Watch fan-out on the etcd cluster, round ${round + 1}: ${settings.watchers} etcd watchers on members 0 and 1`);
        return runWatchFanout(ctx.children, {
          ...common,
          target: "etcd",
          address: `${m0!.address},${m1!.address}`,
          put: async (seq, sentNs) => (await etcd.unary(paths.put, etcdPutRequest(fixture.watchKey, JSON.stringify({ seq, sentNs })))).code === grpc.status.OK,
        });
      },
      async (round) => {
        await settled(`ctmd round ${round + 1}`);
        ctx.log(`Watch fan-out on 2 replicas, round ${round + 1}: ${settings.watchers} ctmd watchers on replicas A and B`);
        return runWatchFanout(ctx.children, {
          ...common,
          target: "ctm",
          address: `${a.address},${b.address}`,
          put: async (seq, sentNs) => {
            const body = SetRequest.encode({ key: fixture.watchKey, value: { seq, sentNs }, author: "bench", message: "watch" }).finish();
            return (await ctm.unary(paths.set, body)).code === grpc.status.OK;
          },
        });
      },
    );
  } finally {
    ctm.close();
    etcd.close();
  }
  for (const [name, runs] of [["ctmd on 2 replicas", p.mine], ["etcd cluster, members 0 and 1", p.base]] as const) {
    runs.forEach((r, i) => report.check(fanoutComplete(r), `round ${i + 1}: ${describeWatchFanout(name, r)}`));
  }
  const label = `${settings.watchers} watchers split over 2 replicas, ${settings.watchWrites} writes ${settings.watchSpacingMs} ms apart through replica A`;
  const rows: [string, (r: WatchFanoutResult) => number][] = [
    ["put-to-delivery p50", (r) => r.p50Ms],
    ["put-to-delivery p99", (r) => r.p99Ms],
    ["put-to-last-watcher p99, per write", (r) => r.fanoutP99Ms],
  ];
  for (const [what, pick] of rows) {
    const ratios = p.mine.map((r, i) => pick(r) / pick(p.base[i]!));
    const mine = median(p.mine.map(pick));
    const base = median(p.base.map(pick));
    report.row(`Watch ${what} (${label}) vs etcd's watch on the same cluster (split over 2 members, Puts to member 0)`, formatMs(mine), formatMs(base), formatRatio(mine, base, median(ratios)));
    report.note(`Watch ${what}, ctmd on 2 replicas ÷ etcd per round: ${ratios.map((r) => r.toFixed(2)).join(", ")}.`);
  }
  report.note(
    `Watch across replicas: each round's first ${settings.watchWarmupWrites} writes warm up its freshly started watchers' processes (one per replica or member) and are not timed; their put-to-delivery p99 per round was ${p.mine.map((r) => formatMs(r.warmupP99Ms)).join(", ")} for ctmd, ${p.base.map((r) => formatMs(r.warmupP99Ms)).join(", ")} for etcd.`,
  );
  report.note(`Watch across replicas: each round began once replicas A and B and the 3 etcd members had used under 5% of a core for half a second (at most 60 s); waited ${waits.join(", ")}.`);
  const split = (r: WatchFanoutResult, names: string[]): string => r.byAddress.map((g, i) => `${names[i]} p50 ${formatMs(g.p50Ms)}, p99 ${formatMs(g.p99Ms)}`).join("; ");
  report.note(
    `Watch across replicas: writes go through replica A only, so its 500 watchers hear of a write from A itself and replica B's 500 from B's etcd watch of the log; put-to-delivery by where the watcher was, per round: ${p.mine.map((r) => `(${split(r, ["on A", "on B"])})`).join(", ")}; etcd (Puts to member 0): ${p.base.map((r) => `(${split(r, ["on member 0", "on member 1"])})`).join(", ")}.`,
  );
}
