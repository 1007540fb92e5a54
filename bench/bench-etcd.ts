import * as grpc from "@grpc/grpc-js";
import { join } from "node:path";
import { type BenchContext, h2label } from "./bench-context.js";
import type { SetFigures } from "./bench-set.js";
import { decodeEtcdRangeResponse, etcdPutRequest, etcdRangeRequest } from "./etcd-messages.js";
import { fixture } from "./fixture.js";
import { formatMs, formatRate, formatRatio } from "./format.js";
import { failuresText, h2clean, h2counts, onlyCutOff } from "./load-checks.js";
import { measureLatency } from "./measure-latency.js";
import { RawClient } from "./raw-client.js";
import { paths, settings } from "./settings.js";
import { type EtcdHandle, startEtcd } from "./start-etcd.js";

/** etcd Range and Put at c64 beside ctmd's Get and Set. Returns the running etcd for the watch section. */
export async function benchEtcd(ctx: BenchContext, ctmdGetC64: number, ctmdSet: SetFigures): Promise<EtcdHandle> {
  const { report } = ctx;
  const c64 = settings.c64;
  ctx.log("etcd");
  const etcd = await startEtcd(ctx.children, join(ctx.work, "etcd-data"));
  const client = new RawClient(etcd.address);
  const value = JSON.stringify(fixture.value);
  const seeded = await client.unary(paths.put, etcdPutRequest(fixture.key, value));
  const range = await client.unary(paths.range, etcdRangeRequest(fixture.key));
  client.close();
  const kvs = range.body ? decodeEtcdRangeResponse(range.body).kvs : [];
  report.check(
    seeded.code === grpc.status.OK && range.code === grpc.status.OK && kvs.length === 1,
    `etcd: seed Put ${grpc.status[seeded.code]}; one grpc-js Range with the h2load frame ${grpc.status[range.code]} returning ${kvs.length} kv`,
  );

  const runs = [
    { method: "Range", path: paths.range, body: etcdRangeRequest(fixture.key), ctmd: ctmdGetC64, metric: `Get req/s, c64 (${h2label(c64)}) vs etcd Range` },
    { method: "Put", path: paths.put, body: etcdPutRequest(fixture.setKey, value), ctmd: ctmdSet.setsPerSec, metric: `Durable Set req/s, c64 (${h2label(c64)}, one key) vs etcd Put` },
  ];
  for (const run of runs) {
    ctx.log(`etcd ${run.method}, concurrency 64`);
    const before = await etcd.handled(run.method);
    const r = await ctx.h2load({ label: `etcd ${run.method} c64`, process: etcd.child, address: etcd.address }, run.path, ctx.frame(`etcd-${run.method}`, run.body), c64);
    const after = await etcd.handled(run.method);
    const failures = Object.fromEntries(
      Object.entries(after.failures)
        .map(([code, n]): [string, number] => [code, n - (before.failures[code] ?? 0)])
        .filter(([, n]) => n > 0),
    );
    const ok = after.ok - before.ok;
    report.check(
      h2clean(r, 64) && onlyCutOff(failures, 64) && ok >= r.succeeded,
      `etcd ${run.method} c64: ${h2counts(r)}; etcd's grpc_server_handled_total grew by ${ok} OK${failuresText(failures)} (incl. warm-up)`,
    );
    report.row(run.metric, formatRate(run.ctmd), formatRate(r.reqPerSec), formatRatio(run.ctmd, r.reqPerSec));
  }

  const putClient = new RawClient(etcd.address, c64.connections);
  const lat = await measureLatency(putClient, paths.put, (i) => etcdPutRequest(`bench/set/k${i}`, value), { calls: settings.latencyCalls, concurrency: 64 });
  putClient.close();
  report.check(lat.ok === lat.calls, `etcd Put grpc-js latency run c64 (distinct keys): ${lat.ok}/${lat.calls} OK${lat.firstError ? ` (${lat.firstError})` : ""}`);
  report.row(
    `Durable Set p99, c64 (grpc-js client, ${settings.latencyCalls} calls, distinct keys) vs etcd Put`,
    formatMs(ctmdSet.p99Ms),
    formatMs(lat.p99Ms),
    formatRatio(ctmdSet.p99Ms, lat.p99Ms),
  );
  return etcd;
}
