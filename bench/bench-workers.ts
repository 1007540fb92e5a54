import { mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { type BenchContext, h2label, settle } from "./bench-context.js";
import { stop } from "./child-processes.js";
import { fixture } from "./fixture.js";
import { rollout } from "./rollout-fixture.js";
import { formatRate, formatRatio } from "./format.js";
import { h2clean, h2counts, onlyCutOff } from "./load-checks.js";
import { pairedRuns, totals } from "./paired-runs.js";
import { RawClient } from "./raw-client.js";
import { paths, settings } from "./settings.js";
import { startCtmd, type CtmdHandle } from "./start-ctmd.js";

async function startSeeded(ctx: BenchContext, workers: number): Promise<CtmdHandle> {
  const dir = join(ctx.work, `workers-${workers}`);
  mkdirSync(dir, { recursive: true });
  const handle = await startCtmd(ctx.children, dir, ["--workers", String(workers)]);
  const client = new RawClient(handle.address, 1);
  for (const seed of [fixture.seedRequest(), rollout.seedRequest()]) {
    const seeded = await client.unary(paths.set, seed);
    if (seeded.code !== grpc.status.OK) throw new Error(`--workers ${workers}: a seed Set answered ${grpc.status[seeded.code]} ${seeded.details}`);
  }
  client.close();
  return handle;
}

/**
 * `ctmd --workers N`: Get and Get with a context at c64 served by two read workers against one,
 * and against the daemon serving alone; Set forwarded through the workers against Set served by
 * the daemon alone. Alternating rounds, every call checked in the daemons' own logs.
 */
export async function benchWorkers(ctx: BenchContext): Promise<void> {
  const { report } = ctx;
  const alone = await startSeeded(ctx, 0);
  const one = await startSeeded(ctx, 1);
  const two = await startSeeded(ctx, 2);
  const side = (label: string, h: CtmdHandle) => ({ label, process: h.child, alsoPids: h.workers, address: h.address, lastWords: h.lastWords });
  const level = settings.c64;
  try {
    const pairs = [
      { name: "Get", request: fixture.getRequest(), base: side("1 worker", one), baseName: "1 worker", baseHandle: one },
      { name: "Get", request: fixture.getRequest(), base: side("no workers", alone), baseName: "the daemon alone (--workers 0)", baseHandle: alone },
      { name: "Get with a context", request: rollout.getRequest(), base: side("1 worker", one), baseName: "1 worker", baseHandle: one },
    ];
    for (const pair of pairs) {
      const frame = ctx.frame(`workers-${pair.name.replace(/ /g, "-")}`, pair.request);
      ctx.log(`${pair.name}, 2 workers vs ${pair.baseName}, c64`);
      two.rpcLog.mark();
      pair.baseHandle.rpcLog.mark();
      const p = await pairedRuns(ctx, pair.base, side("2 workers", two), paths.get, frame, level);
      await settle();
      const mine = two.rpcLog.tally("Get");
      const base = pair.baseHandle.rpcLog.tally("Get");
      report.check(
        [...p.mine.runs, ...p.base.runs].every((r) => h2clean(r, 64)) && mine.failed === 0 && base.failed === 0 && mine.ok >= totals(p.mine.runs).succeeded && base.ok >= totals(p.base.runs).succeeded,
        `${pair.name}, 2 workers vs ${pair.baseName}, ${p.mine.runs.length} rounds: 2 workers ${h2counts(totals(p.mine.runs))}, logged ${mine.ok} OK; ${pair.baseName} logged ${base.ok} OK, ${base.failed} failed (incl. warm-up)`,
      );
      report.row(`${pair.name} req/s, c64 (${h2label(level)}), --workers 2 vs ${pair.baseName} (goal ≥ 1.5× one worker)`, formatRate(p.mine.reqPerSec), formatRate(p.base.reqPerSec), formatRatio(p.mine.reqPerSec, p.base.reqPerSec, p.ratio));
      report.note(`${pair.name}, 2 workers ÷ ${pair.baseName} per round: ${p.ratios.map((r) => r.toFixed(2)).join(", ")}.`);
      // The load generator runs on the same cores: what it takes is not left for the workers.
      const h2 = totals(p.mine.runs).cores;
      report.note(
        `${pair.name}: h2load itself used ${Math.round(h2 * 100)}% of a core beside 2 workers (${Math.round(totals(p.base.runs).cores * 100)}% beside ${pair.baseName}), which leaves the daemon at most ${(availableParallelism() - h2).toFixed(2)} of this machine's ${availableParallelism()} cores.`,
      );
    }

    // Writes go through a worker to the primary over its IPC channel: what that hop costs.
    const frame = ctx.frame("workers-set", fixture.setRequest());
    ctx.log("Set through 2 workers vs the daemon alone, c64");
    two.rpcLog.mark();
    alone.rpcLog.mark();
    const p = await pairedRuns(ctx, side("no workers", alone), side("2 workers", two), paths.set, frame, level);
    await settle();
    const mine = two.rpcLog.tally("Set");
    const base = alone.rpcLog.tally("Set");
    report.check(
      [...p.mine.runs, ...p.base.runs].every((r) => h2clean(r, 64)) && onlyCutOff(mine.failures, 64 * p.mine.runs.length) && onlyCutOff(base.failures, 64 * p.base.runs.length),
      `Set, 2 workers vs alone: 2 workers ${h2counts(totals(p.mine.runs))}, the primary logged ${mine.ok} OK; alone logged ${base.ok} OK (incl. warm-up)`,
    );
    report.row(`Durable Set req/s, c64, through --workers 2 vs the daemon alone`, formatRate(p.mine.reqPerSec), formatRate(p.base.reqPerSec), formatRatio(p.mine.reqPerSec, p.base.reqPerSec, p.ratio));
    report.note(`Set through 2 workers ÷ alone per round: ${p.ratios.map((r) => r.toFixed(2)).join(", ")}.`);
  } finally {
    await stop(two.child);
    await stop(one.child);
    await stop(alone.child);
  }
}
