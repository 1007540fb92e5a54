import * as grpc from "@grpc/grpc-js";
import { SetRequest } from "../src/gen/ctm/v1/config_service.js";
import type { BenchContext } from "./bench-context.js";
import { etcdPutRequest } from "./etcd-messages.js";
import { fixture } from "./fixture.js";
import { formatMs, formatRatio } from "./format.js";
import { RawClient } from "./raw-client.js";
import { fanoutComplete, runWatchFanout, type WatchFanoutResult } from "./run-watch-fanout.js";
import { paths, settings } from "./settings.js";

/** 1,000 watchers of one key on ctmd, then on etcd; put-to-delivery latency of each write. */
export async function benchWatch(ctx: BenchContext, ctmdAddress: string, ctm: RawClient, etcdAddress: string): Promise<void> {
  const { report } = ctx;
  const common = {
    key: fixture.watchKey,
    watchers: settings.watchers,
    channels: settings.watchChannels,
    sets: settings.watchWrites,
    warmup: settings.watchWarmupWrites,
    spacingMs: settings.watchSpacingMs,
  };
  ctx.log(`Watch fan-out: ${settings.watchers} ctmd watchers`);
  const mine = await runWatchFanout(ctx.children, {
    ...common,
    target: "ctm",
    address: ctmdAddress,
    put: async (seq, sentNs) => {
      const body = SetRequest.encode({ key: fixture.watchKey, value: { seq, sentNs }, author: "bench", message: "watch" }).finish();
      return (await ctm.unary(paths.set, body)).code === grpc.status.OK;
    },
  });
  ctx.log(`Watch fan-out: ${settings.watchers} etcd watchers`);
  const etcd = new RawClient(etcdAddress);
  const base = await runWatchFanout(ctx.children, {
    ...common,
    target: "etcd",
    address: etcdAddress,
    put: async (seq, sentNs) => (await etcd.unary(paths.put, etcdPutRequest(fixture.watchKey, JSON.stringify({ seq, sentNs })))).code === grpc.status.OK,
  });
  etcd.close();

  for (const [name, r] of [["ctmd", mine], ["etcd", base]] as const) {
    report.check(fanoutComplete(r), describeWatchFanout(name, r));
  }
  const label = `${settings.watchers} watchers, ${settings.watchWrites} writes ${settings.watchSpacingMs} ms apart`;
  report.row(`Watch put-to-delivery p50 (${label}) vs etcd`, formatMs(mine.p50Ms), formatMs(base.p50Ms), formatRatio(mine.p50Ms, base.p50Ms));
  report.row(`Watch put-to-delivery p99 (${label}) vs etcd`, formatMs(mine.p99Ms), formatMs(base.p99Ms), formatRatio(mine.p99Ms, base.p99Ms));
  report.row(`Watch put-to-last-watcher p99, per write (${label}) vs etcd`, formatMs(mine.fanoutP99Ms), formatMs(base.fanoutP99Ms), formatRatio(mine.fanoutP99Ms, base.fanoutP99Ms));
  report.note(
    `Watch: ${settings.watchers} streams over ${settings.watchChannels} connections, held by a child process per server; each write carries process.hrtime.bigint() (CLOCK_MONOTONIC, shared by processes) taken just before it is sent, and the child subtracts it on receipt, so latency includes the write's own commit and the client's decoding. Writes go one at a time, each started no earlier than ${settings.watchSpacingMs} ms after the previous one (BENCH_WATCH_SPACING_MS). Each run's first ${settings.watchWarmupWrites} writes warm up the watchers' processes, which start fresh for every run: they are delivered and checked but not timed, as the h2load rows leave out their warm-up (left in, the first 10 to 20 writes of a run, at 50–180 ms to the last watcher for etcd's watchers as for ctmd's against 10–30 ms afterwards, were the whole of the p99).`,
  );
}

/** One fan-out run's own checks, for the report: streams created, writes acknowledged, deliveries. */
export function describeWatchFanout(name: string, r: WatchFanoutResult): string {
  const errors = r.streamErrors.length ? `, errors: ${r.streamErrors.join("; ")}` : "";
  return (
    `${name} Watch: ${r.created}/${r.watchers} streams CREATED (setup ${(r.setupMs / 1000).toFixed(1)} s)${errors}; ` +
    `${r.warmupOk}/${r.warmup} warm-up writes OK, ${r.warmupDeliveries}/${r.expectedWarmup} of their deliveries (p99 ${formatMs(r.warmupP99Ms)}, not counted); ` +
    `${r.setsOk}/${r.sets} writes OK (ack p50 ${formatMs(r.ackP50Ms)}, p99 ${formatMs(r.ackP99Ms)}); ` +
    `${r.deliveries}/${r.expected} deliveries, ${r.outOfOrder} out of order; the watchers' processes (one per server) used ${Math.round(r.clientCores * 100)}% of a core in all`
  );
}
