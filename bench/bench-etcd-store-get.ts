import { type BenchContext, h2label, settle } from "./bench-context.js";
import { fixture } from "./fixture.js";
import { formatRate, formatRatio } from "./format.js";
import { h2clean, h2counts } from "./load-checks.js";
import { pairedRuns, totals } from "./paired-runs.js";
import { paths, settings } from "./settings.js";
import type { CtmdHandle } from "./start-ctmd.js";

/** One replica's Get at c64 against the embedded store's, in alternating rounds (goal ≥ 0.9×: reads are served from memory, never from etcd). */
export async function benchEtcdStoreGet(ctx: BenchContext, embedded: CtmdHandle, replica: CtmdHandle, where: string): Promise<void> {
  const { report } = ctx;
  const c64 = settings.c64;
  ctx.log("ctmd --store etcd Get vs the embedded store's Get, c64");
  replica.rpcLog.mark();
  embedded.rpcLog.mark();
  const r = await pairedRuns(
    ctx,
    { label: "embedded Get", process: embedded.child, address: embedded.address, lastWords: embedded.lastWords },
    { label: "ctmd --store etcd Get", process: replica.child, address: replica.address, lastWords: replica.lastWords },
    paths.get,
    ctx.frame("etcd-store-Get", fixture.getRequest()),
    c64,
  );
  await settle();
  const mine = replica.rpcLog.tally("Get");
  const base = embedded.rpcLog.tally("Get");
  report.check(
    [...r.mine.runs, ...r.base.runs].every((x) => h2clean(x, 64)) && mine.failed === 0 && base.failed === 0 && mine.ok >= totals(r.mine.runs).succeeded && base.ok >= totals(r.base.runs).succeeded,
    `ctmd --store etcd Get vs embedded Get, ${r.mine.runs.length} rounds: on etcd ${h2counts(totals(r.mine.runs))}, logged ${mine.ok} OK; embedded ${h2counts(totals(r.base.runs))}, logged ${base.ok} OK (incl. warm-up)`,
  );
  report.row(`Get req/s, c64 (${h2label(c64)}), one ctmd --store etcd replica (${where}) vs the embedded store (goal ≥ 0.9×)`, formatRate(r.mine.reqPerSec), formatRate(r.base.reqPerSec), formatRatio(r.mine.reqPerSec, r.base.reqPerSec, r.ratio));
  report.note(`ctmd --store etcd Get ÷ embedded Get per round: ${r.ratios.map((x) => x.toFixed(2)).join(", ")}.`);
}
