import * as grpc from "@grpc/grpc-js";
import { type BenchContext, h2label, settle } from "./bench-context.js";
import { stop } from "./child-processes.js";
import { fixture } from "./fixture.js";
import { formatMs, formatRate, formatRatio, formatUs } from "./format.js";
import { failuresText, h2clean, h2counts, onlyCutOff } from "./load-checks.js";
import { measureLatency } from "./measure-latency.js";
import { pairedRuns, totals } from "./paired-runs.js";
import { RawClient } from "./raw-client.js";
import { paths, settings } from "./settings.js";
import type { CtmdHandle } from "./start-ctmd.js";
import { startNoopServer } from "./start-noop-server.js";

/**
 * Get at each concurrency level, ctmd against the no-op grpc-js server (the transport
 * ceiling): req/s from h2load, p99 from a grpc-js client. Returns ctmd's c64 req/s.
 */
export async function benchGet(ctx: BenchContext, ctmd: CtmdHandle): Promise<number> {
  const { report } = ctx;
  const noop = await startNoopServer(ctx.children);
  const getFrame = ctx.frame("ctm-get", fixture.getRequest());
  const sampleClient = new RawClient(noop.address);
  const sample = await sampleClient.unary(paths.get, fixture.getRequest());
  sampleClient.close();
  report.check(sample.code === grpc.status.OK, `no-op server: one grpc-js call with the h2load Get frame returned ${grpc.status[sample.code]}`);
  let ctmdC64 = Number.NaN;
  const handlerTimes: string[] = [];
  const rounds: string[] = [];
  for (const level of settings.levels) {
    const c = level.concurrency;
    ctx.log(`Get, concurrency ${c}`);
    const before = await noop.calls();
    ctmd.rpcLog.mark();
    const noopTarget = { label: `no-op Get c${c}`, process: noop.child, address: noop.address };
    const ctmdTarget = { label: `ctmd Get c${c}`, process: ctmd.child, address: ctmd.address, lastWords: ctmd.lastWords };
    const p = await pairedRuns(ctx, noopTarget, ctmdTarget, paths.get, getFrame, level);
    await settle();
    const served = (await noop.calls()) - before;
    const base = totals(p.base.runs);
    const mine = totals(p.mine.runs);
    report.check(
      p.base.runs.every((r) => h2clean(r, c)) && served >= base.succeeded,
      `no-op Get c${c}, ${p.base.runs.length} runs: ${h2counts(base)}; the server answered ${served} (incl. warm-up)`,
    );
    const tally = ctmd.rpcLog.tally("Get");
    report.check(
      p.mine.runs.every((r) => h2clean(r, c)) && onlyCutOff(tally.failures, c * p.mine.runs.length) && tally.ok >= mine.succeeded,
      `ctmd Get c${c}, ${p.mine.runs.length} runs: ${h2counts(mine)}; ctmd logged ${tally.ok} OK and ${tally.failed} failed Gets${failuresText(tally.failures)} (incl. warm-up)`,
    );
    handlerTimes.push(`c${c} p50 ${formatMs(tally.p50Ms)}, p99 ${formatMs(tally.p99Ms)}`);
    if (c === 64) ctmdC64 = p.mine.reqPerSec;
    report.row(`Get req/s, c${c} (${h2label(level)}) vs no-op grpc-js${c === 64 ? " (goal ≥ 0.8×)" : ""}`, formatRate(p.mine.reqPerSec), formatRate(p.base.reqPerSec), formatRatio(p.mine.reqPerSec, p.base.reqPerSec, p.ratio));
    report.row(`Get main-thread CPU per request, c${c}`, formatUs(p.mine.mainUsPerRequest), formatUs(p.base.mainUsPerRequest), formatRatio(p.mine.mainUsPerRequest, p.base.mainUsPerRequest));
    rounds.push(`c${c} ${p.ratios.map((r) => r.toFixed(2)).join(", ")}`);

    const noopClient = new RawClient(noop.address, level.connections);
    const ctmClient = new RawClient(ctmd.address, level.connections);
    const options = { calls: settings.latencyCalls, concurrency: c };
    const baseLat = await measureLatency(noopClient, paths.get, () => fixture.getRequest(), options);
    const mineLat = await measureLatency(ctmClient, paths.get, () => fixture.getRequest(), options);
    noopClient.close();
    ctmClient.close();
    report.check(
      mineLat.ok === mineLat.calls && baseLat.ok === baseLat.calls,
      `grpc-js Get latency run c${c}: ctmd ${mineLat.ok}/${mineLat.calls} OK${mineLat.firstError ? ` (${mineLat.firstError})` : ""}, no-op ${baseLat.ok}/${baseLat.calls} OK`,
    );
    report.row(`Get p99, c${c} (grpc-js client, ${settings.latencyCalls} calls)`, formatMs(mineLat.p99Ms), formatMs(baseLat.p99Ms), formatRatio(mineLat.p99Ms, baseLat.p99Ms));
  }
  await stop(noop.child);
  report.note(`Get req/s ratio per round (ctmd ÷ no-op, each round one run of each, alternating order; the row shows the median): ${rounds.join("; ")}.`);
  report.note(`ctmd Get handler time during the h2load Get runs (ctmd's per-RPC log, durationMs, warm-up included): ${handlerTimes.join("; ")}.`);
  return ctmdC64;
}
