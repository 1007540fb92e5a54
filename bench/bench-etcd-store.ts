import { mkdirSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { type BenchContext, h2label, type LoadTarget, settle } from "./bench-context.js";
import { stop } from "./child-processes.js";
import { seededEtcd } from "./bench-etcd.js";
import { etcdPutRequest } from "./etcd-messages.js";
import { fixture } from "./fixture.js";
import { formatRate, formatRatio } from "./format.js";
import { failuresText, h2clean, h2counts, onlyCutOff } from "./load-checks.js";
import { pairedRuns, totals } from "./paired-runs.js";
import { RawClient } from "./raw-client.js";
import { paths, settings } from "./settings.js";
import { type CtmdHandle, startCtmd } from "./start-ctmd.js";

/**
 * ctmd on etcd (`--store etcd`), in alternating rounds at c64: its durable Set against etcd's Put
 * sent straight to the same etcd (goal ≥ 0.5×: what ctmd adds to every write), and its Get
 * against the embedded store's Get (goal ≥ 0.9×: reads are served from memory, never from etcd).
 */
export async function benchEtcdStore(ctx: BenchContext, embedded: CtmdHandle): Promise<void> {
  const { report } = ctx;
  const c64 = settings.c64;
  const etcd = await seededEtcd(ctx, "etcd for ctmd --store etcd");
  const dir = join(ctx.work, "ctmd-on-etcd");
  mkdirSync(dir, { recursive: true });
  const onEtcd = await startCtmd(ctx.children, dir, ["--store", "etcd", "--etcd-endpoints", etcd.address, "--etcd-prefix", "/bench-ctm/"]);
  try {
    const client = new RawClient(onEtcd.address, 1);
    const seeded = await client.unary(paths.set, fixture.seedRequest());
    client.close();
    report.check(seeded.code === grpc.status.OK, `ctmd --store etcd: seed Set ${grpc.status[seeded.code]}${seeded.details ? ` (${seeded.details})` : ""}`);

    // Writes: ctmd's Set through etcd against etcd's own Put, on the same etcd.
    ctx.log("ctmd --store etcd Set vs etcd Put (same etcd), c64");
    const before = await etcd.handled("Put");
    onEtcd.rpcLog.mark();
    const put: LoadTarget = { label: "etcd Put", process: etcd.child, address: etcd.address, path: paths.put, frameFile: ctx.frame("etcd-store-Put", etcdPutRequest(fixture.setKey, JSON.stringify(fixture.value))) };
    const set: LoadTarget = { label: "ctmd --store etcd Set", process: onEtcd.child, address: onEtcd.address, lastWords: onEtcd.lastWords, path: paths.set, frameFile: ctx.frame("etcd-store-Set", fixture.setRequest()) };
    const w = await pairedRuns(ctx, put, set, paths.set, set.frameFile!, c64);
    await settle();
    const after = await etcd.handled("Put");
    const tally = onEtcd.rpcLog.tally("Set");
    const cutOff = 64 * w.mine.runs.length;
    report.check(
      [...w.mine.runs, ...w.base.runs].every((r) => h2clean(r, 64)) && onlyCutOff(tally.failures, cutOff) && tally.ok >= totals(w.mine.runs).succeeded && after.ok - before.ok >= totals(w.base.runs).succeeded,
      `ctmd --store etcd Set vs etcd Put, ${w.mine.runs.length} rounds: ctmd ${h2counts(totals(w.mine.runs))}, logged ${tally.ok} OK${failuresText(tally.failures)}; etcd ${h2counts(totals(w.base.runs))}, grpc_server_handled_total grew by ${after.ok - before.ok} OK (incl. warm-up)`,
    );
    report.row(`Durable Set req/s, c64 (${h2label(c64)}, one key), ctmd --store etcd vs etcd Put on the same etcd (goal ≥ 0.5×)`, formatRate(w.mine.reqPerSec), formatRate(w.base.reqPerSec), formatRatio(w.mine.reqPerSec, w.base.reqPerSec, w.ratio));
    report.note(`ctmd --store etcd Set ÷ etcd Put per round: ${w.ratios.map((r) => r.toFixed(2)).join(", ")}.`);

    // Reads: one replica's Get against the embedded store's.
    ctx.log("ctmd --store etcd Get vs the embedded store's Get, c64");
    onEtcd.rpcLog.mark();
    embedded.rpcLog.mark();
    const frame = ctx.frame("etcd-store-Get", fixture.getRequest());
    const r = await pairedRuns(
      ctx,
      { label: "embedded Get", process: embedded.child, address: embedded.address, lastWords: embedded.lastWords },
      { label: "ctmd --store etcd Get", process: onEtcd.child, address: onEtcd.address, lastWords: onEtcd.lastWords },
      paths.get,
      frame,
      c64,
    );
    await settle();
    const mine = onEtcd.rpcLog.tally("Get");
    const base = embedded.rpcLog.tally("Get");
    report.check(
      [...r.mine.runs, ...r.base.runs].every((x) => h2clean(x, 64)) && mine.failed === 0 && base.failed === 0 && mine.ok >= totals(r.mine.runs).succeeded && base.ok >= totals(r.base.runs).succeeded,
      `ctmd --store etcd Get vs embedded Get, ${r.mine.runs.length} rounds: on etcd ${h2counts(totals(r.mine.runs))}, logged ${mine.ok} OK; embedded logged ${base.ok} OK (incl. warm-up)`,
    );
    report.row(`Get req/s, c64 (${h2label(c64)}), ctmd --store etcd vs the embedded store (goal ≥ 0.9×)`, formatRate(r.mine.reqPerSec), formatRate(r.base.reqPerSec), formatRatio(r.mine.reqPerSec, r.base.reqPerSec, r.ratio));
    report.note(`ctmd --store etcd Get ÷ embedded Get per round: ${r.ratios.map((x) => x.toFixed(2)).join(", ")}.`);
  } finally {
    await stop(onEtcd.child);
    await stop(etcd.child);
  }
}
