import { resolve } from "node:path";
import { type BenchContext, h2label, type LoadTarget, settle } from "./bench-context.js";
import { stop } from "./child-processes.js";
import { fixture } from "./fixture.js";
import { formatRate, formatRatio, formatUs } from "./format.js";
import { failuresText, h2clean, h2counts, onlyCutOff } from "./load-checks.js";
import { pairedRuns, totals } from "./paired-runs.js";
import { RawClient } from "./raw-client.js";
import { paths, settings } from "./settings.js";
import type { CtmdHandle } from "./start-ctmd.js";
import { startReplica } from "./start-replica.js";
import { versionOf } from "./version-of.js";

/**
 * BENCH_BASELINE=<another build's dist/src/main.js>: durable Set at c64 on the same etcd cluster,
 * this build against that one, each alone on its own --etcd-prefix, in alternating rounds: what
 * a change to the etcd store buys or costs.
 */
export async function benchEtcdStoreBaseline(ctx: BenchContext, endpoints: readonly string[], baselineEntry: string): Promise<void> {
  const { report } = ctx;
  const mine = await startReplica(ctx, { name: "this-build-on-etcd", endpoints, prefix: "/bench-this-build/", entry: resolve("dist/src/main.js"), seed: true });
  const base = await startReplica(ctx, { name: "baseline-build-on-etcd", endpoints, prefix: "/bench-baseline-build/", entry: resolve(baselineEntry), seed: true });
  const clients = [new RawClient(mine.address, 1), new RawClient(base.address, 1)] as const;
  try {
    const level = settings.c64;
    const frame = ctx.frame("etcd-store-baseline-Set", fixture.setRequest());
    const side = (label: string, h: CtmdHandle): LoadTarget => ({ label, process: h.child, address: h.address, lastWords: h.lastWords });
    ctx.log(`ctmd --store etcd Set, this build vs ${baselineEntry}, c64`);
    const before = await Promise.all(clients.map((c) => versionOf(c, fixture.setKey, true)));
    mine.rpcLog.mark();
    base.rpcLog.mark();
    const p = await pairedRuns(ctx, side("baseline build Set on etcd", base), side("this build Set on etcd", mine), paths.set, frame, level);
    await settle();
    const applied = (await Promise.all(clients.map((c) => versionOf(c, fixture.setKey, true)))).map((v, i) => v - before[i]!);
    const tallies = [mine.rpcLog.tally("Set"), base.rpcLog.tally("Set")];
    const cutOff = 64 * p.mine.runs.length;
    const runs = [p.mine.runs, p.base.runs];
    report.check(
      runs.every((rs) => rs.every((r) => h2clean(r, 64))) && tallies.every((t, i) => onlyCutOff(t.failures, cutOff) && t.ok >= totals(runs[i]!).succeeded && applied[i]! >= t.ok),
      `ctmd --store etcd Set, this build vs baseline, ${p.mine.runs.length} rounds: ` +
        ["this build", "baseline"].map((name, i) => `${name} ${h2counts(totals(runs[i]!))}, logged ${tallies[i]!.ok} OK${failuresText(tallies[i]!.failures)}, the key's version grew by ${applied[i]}`).join("; ") +
        " (incl. warm-up)",
    );
    report.row(`Durable Set req/s, c64 (${h2label(level)}, one key), ctmd --store etcd on the 3-member cluster, this build vs ${baselineEntry}`, formatRate(p.mine.reqPerSec), formatRate(p.base.reqPerSec), formatRatio(p.mine.reqPerSec, p.base.reqPerSec, p.ratio));
    report.note(`Set on etcd: this build ÷ baseline per round (the row shows the median): ${p.ratios.map((r) => r.toFixed(2)).join(", ")}; main-thread CPU per Set (median) ${formatUs(p.mine.mainUsPerRequest)} against ${formatUs(p.base.mainUsPerRequest)}; each build alone on the cluster, on its own --etcd-prefix, dialling member 0 first.`);
  } finally {
    for (const c of clients) c.close();
    await stop(mine.child);
    await stop(base.child);
  }
}
