import type { BenchContext, LoadTarget } from "./bench-context.js";
import type { Level } from "./settings.js";
import { settings } from "./settings.js";
import type { H2loadResult } from "./run-h2load.js";
import { mainThreadCpuSeconds } from "./thread-cpu.js";

export interface PairedSide {
  runs: H2loadResult[];
  /** Median req/s over the rounds. */
  reqPerSec: number;
  /** Median main-thread CPU per request, µs. */
  mainUsPerRequest: number;
}

export interface Paired {
  base: PairedSide;
  mine: PairedSide;
  /** mine ÷ base, one per round (each round runs both back to back). */
  ratios: number[];
  /** The median of `ratios`. */
  ratio: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * ctmd and its baseline measured in alternation: `settings.rounds` rounds, each one run of each,
 * in ABBA order, so that a slow spell of this shared machine lands on both sides instead of one.
 * The ratio is the median of the per-round ratios. Main-thread CPU per request is kept too:
 * the node servers are bound by that thread, and it varies less than req/s does.
 */
export async function pairedRuns(ctx: BenchContext, base: LoadTarget, mine: LoadTarget, path: string, frameFile: string, level: Level | typeof settings.c64 | typeof settings.bulk): Promise<Paired> {
  const sides = { base: { target: base, runs: [] as H2loadResult[], us: [] as number[] }, mine: { target: mine, runs: [] as H2loadResult[], us: [] as number[] } };
  const ratios: number[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    const order = round % 2 === 0 ? [sides.base, sides.mine] : [sides.mine, sides.base];
    const got = new Map<object, H2loadResult>();
    for (const side of order) {
      const cpu0 = mainThreadCpuSeconds(side.target.process.pid);
      const r = await ctx.h2load(side.target, side.target.path ?? path, side.target.frameFile ?? frameFile, level, round === 0 ? settings.warmupSeconds : 1, settings.roundSeconds);
      const cpu = mainThreadCpuSeconds(side.target.process.pid) - cpu0;
      side.runs.push(r);
      // h2load's window excludes its warm-up; the CPU reading spans both, so scale by the whole run's requests.
      side.us.push((cpu * 1e6) / (r.reqPerSec * (settings.roundSeconds + (round === 0 ? settings.warmupSeconds : 1))));
      got.set(side, r);
    }
    ratios.push(got.get(sides.mine)!.reqPerSec / got.get(sides.base)!.reqPerSec);
  }
  const summarize = (s: typeof sides.base): PairedSide => ({ runs: s.runs, reqPerSec: median(s.runs.map((r) => r.reqPerSec)), mainUsPerRequest: median(s.us) });
  return { base: summarize(sides.base), mine: summarize(sides.mine), ratios, ratio: median(ratios) };
}

/** Sums a side's h2load counts, for the success checks. */
export function totals(runs: readonly H2loadResult[]): H2loadResult {
  const sum = (f: (r: H2loadResult) => number) => runs.reduce((a, r) => a + f(r), 0);
  return {
    reqPerSec: median(runs.map((r) => r.reqPerSec)),
    done: sum((r) => r.done),
    succeeded: sum((r) => r.succeeded),
    failed: sum((r) => r.failed),
    errored: sum((r) => r.errored),
    timeout: sum((r) => r.timeout),
    status2xx: sum((r) => r.status2xx),
    status3xx: sum((r) => r.status3xx),
    status4xx: sum((r) => r.status4xx),
    status5xx: sum((r) => r.status5xx),
    meanMs: median(runs.map((r) => r.meanMs)),
    maxMs: Math.max(...runs.map((r) => r.maxMs)),
    cores: median(runs.map((r) => r.cores)),
    output: runs.map((r) => r.output).join("\n"),
  };
}
