import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { type BenchContext, h2label, settle } from "./bench-context.js";
import { stop } from "./child-processes.js";
import { fixture } from "./fixture.js";
import { rollout } from "./rollout-fixture.js";
import { formatRate, formatRatio, formatUs } from "./format.js";
import { h2clean } from "./load-checks.js";
import { pairedRuns } from "./paired-runs.js";
import { RawClient } from "./raw-client.js";
import { paths, settings } from "./settings.js";
import { startCtmd, type CtmdHandle } from "./start-ctmd.js";

/** Starts a daemon from `entry` (another build's dist/src/main.js) with auth on, seeded. */
async function startSeeded(ctx: BenchContext, entry: string, dir: string): Promise<{ handle: CtmdHandle; authorization: string }> {
  mkdirSync(dir, { recursive: true });
  const handle = await startCtmd(ctx.children, dir, ["--auth", "on"], entry);
  const authorization = `Bearer ${readFileSync(join(handle.dataDir, "admin.token"), "utf8").trim()}`;
  const client = new RawClient(handle.address, 1, { authorization });
  for (const seed of [fixture.seedRequest(), rollout.seedRequest()]) {
    const seeded = await client.unary(paths.set, seed);
    if (seeded.code !== grpc.status.OK) throw new Error(`${entry}: a seed Set answered ${grpc.status[seeded.code]} ${seeded.details}`);
  }
  client.close();
  return { handle, authorization };
}

/**
 * BENCH_BASELINE=<another build's dist/src/main.js>: Get, Get with a context and durable Set at
 * c64, and Apply calls of 1,000 sets four at once, with auth on (a bearer token on every call), this build against that one, in alternating
 * rounds. This is how a change to the call path shows what it buys or costs: build the variant
 * in another checkout and pair them.
 */
export async function benchBaseline(ctx: BenchContext, baselineEntry: string): Promise<void> {
  const { report } = ctx;
  const mine = await startSeeded(ctx, resolve("dist/src/main.js"), join(ctx.work, "this-build"));
  const base = await startSeeded(ctx, resolve(baselineEntry), join(ctx.work, "baseline-build"));
  try {
    const level = settings.c64;
    const side = (label: string, h: CtmdHandle, authorization: string) => ({
      label,
      process: h.child,
      address: h.address,
      lastWords: h.lastWords,
      headers: [`authorization: ${authorization}`],
    });
    // A plain Get, a Get with a context on a rolling key (every rule, both hashes), a durable
    // Set of one key (group commit: what a write costs in CPU shows in its rate), then a bulk
    // load step: Apply calls of 1,000 sets, four at once.
    for (const [name, request, path, method, load, records] of [
      ["Get", fixture.getRequest(), paths.get, "Get", level, 1],
      ["Get with a context", rollout.getRequest(), paths.get, "Get", level, 1],
      ["Set", fixture.setRequest(), paths.set, "Set", level, 1],
      ["Apply of 1,000 sets", fixture.applyRequest(1000), paths.apply, "Apply", settings.bulk, 1000],
    ] as const) {
      const frame = ctx.frame(`baseline-${name.replace(/[ ,]/g, "-")}`, request);
      const c = `c${load.concurrency}`;
      ctx.log(`${name} with auth on, this build vs ${baselineEntry}, ${c}`);
      const p = await pairedRuns(ctx, side("baseline build", base.handle, base.authorization), side("this build", mine.handle, mine.authorization), path, frame, load);
      await settle();
      report.check(
        [...p.mine.runs, ...p.base.runs].every((r) => h2clean(r, load.concurrency)) && mine.handle.rpcLog.tally(method).failed === 0 && base.handle.rpcLog.tally(method).failed === 0,
        `${name}: this build and the baseline served every call of ${p.mine.runs.length} rounds each without a refusal`,
      );
      if (records === 1) {
        report.row(`${name} req/s, ${c} (${h2label(load)}), auth on, this build vs ${baselineEntry}`, formatRate(p.mine.reqPerSec), formatRate(p.base.reqPerSec), formatRatio(p.mine.reqPerSec, p.base.reqPerSec, p.ratio));
        report.row(`${name} main-thread CPU per request, ${c}, this build vs baseline`, formatUs(p.mine.mainUsPerRequest), formatUs(p.base.mainUsPerRequest), formatRatio(p.mine.mainUsPerRequest, p.base.mainUsPerRequest));
      } else {
        report.row(`${name} records/s, ${c} (${h2label(load)}), auth on, this build vs ${baselineEntry}`, formatRate(p.mine.reqPerSec * records), formatRate(p.base.reqPerSec * records), formatRatio(p.mine.reqPerSec, p.base.reqPerSec, p.ratio));
        report.row(`${name} main-thread CPU per record, ${c}, this build vs baseline`, formatUs(p.mine.mainUsPerRequest / records), formatUs(p.base.mainUsPerRequest / records), formatRatio(p.mine.mainUsPerRequest, p.base.mainUsPerRequest));
      }
      report.note(`${name}: this build ÷ baseline per round (the row shows the median): ${p.ratios.map((r) => r.toFixed(2)).join(", ")}.`);
    }
  } finally {
    await stop(mine.handle.child);
    await stop(base.handle.child);
  }
}
