import { type BenchContext, h2label, type LoadTarget, settle } from "./bench-context.js";
import { fixture } from "./fixture.js";
import { formatRate, formatRatio } from "./format.js";
import { h2clean, h2counts } from "./load-checks.js";
import { median, pairedRounds } from "./paired-rounds.js";
import { totals } from "./paired-runs.js";
import type { H2loadResult } from "./run-h2load.js";
import { paths, settings } from "./settings.js";
import type { CtmdHandle } from "./start-ctmd.js";

/** Half of c64 on each replica: the same 64 calls in flight as the one-replica side. */
const c32 = { concurrency: 32, connections: 2, streams: 16 } as const;

/**
 * Get on two replicas of one store loaded together (one h2load at c32 on each, at the same
 * time) against one replica at c64, in alternating rounds: what a second replica adds to the
 * reads one client population can get, on this machine's cores.
 */
export async function benchReplicasTogether(ctx: BenchContext, a: CtmdHandle, b: CtmdHandle): Promise<void> {
  const { report } = ctx;
  const frame = ctx.frame("replicas-Get", fixture.getRequest());
  const target = (name: string, h: CtmdHandle): LoadTarget => ({ label: name, process: h.child, address: h.address, lastWords: h.lastWords });
  const run = (t: LoadTarget, level: typeof c32 | typeof settings.c64, round: number): Promise<H2loadResult> =>
    ctx.h2load(t, paths.get, frame, level, round === 0 ? settings.warmupSeconds : 1, settings.roundSeconds);
  ctx.log(`Get on 2 replicas together (${h2label(c32)} each) vs one replica (${h2label(settings.c64)})`);
  a.rpcLog.mark();
  b.rpcLog.mark();
  const p = await pairedRounds(
    async (round) => [await run(target("replica A Get alone", a), settings.c64, round)],
    (round) => Promise.all([run(target("replica A Get (2 together)", a), c32, round), run(target("replica B Get (2 together)", b), c32, round)]),
  );
  await settle();
  const sum = (runs: H2loadResult[]): number => runs.reduce((n, r) => n + r.reqPerSec, 0);
  const ratios = p.mine.map((runs, i) => sum(runs) / sum(p.base[i]!));
  const onA = [...p.base.map((r) => r[0]!), ...p.mine.map((r) => r[0]!)];
  const onB = p.mine.map((r) => r[1]!);
  const tallyA = a.rpcLog.tally("Get");
  const tallyB = b.rpcLog.tally("Get");
  report.check(
    p.base.every((r) => h2clean(r[0]!, 64)) &&
      p.mine.every((r) => r.every((x) => h2clean(x, 32))) &&
      tallyA.failed === 0 &&
      tallyB.failed === 0 &&
      tallyA.ok >= totals(onA).succeeded &&
      tallyB.ok >= totals(onB).succeeded,
    `Get on 2 replicas together vs one, ${p.mine.length} rounds: replica A ${h2counts(totals(onA))}, logged ${tallyA.ok} OK and ${tallyA.failed} failed; replica B ${h2counts(totals(onB))}, logged ${tallyB.ok} OK and ${tallyB.failed} failed (incl. warm-up)`,
  );
  const together = median(p.mine.map(sum));
  const alone = median(p.base.map(sum));
  report.row(
    `Get req/s, 2 ctmd --store etcd replicas loaded together (${h2label(c32)} on each at once, c64 in all) vs one replica (${h2label(settings.c64)})`,
    formatRate(together),
    formatRate(alone),
    formatRatio(together, alone, median(ratios)),
  );
  report.note(
    `2 replicas together ÷ one replica per round: ${ratios.map((r) => r.toFixed(2)).join(", ")}; each round's two h2load runs start together with the same warm-up and length, and the row adds their req/s (replica A, replica B per round: ${p.mine.map((r) => `${formatRate(r[0]!.reqPerSec)} + ${formatRate(r[1]!.reqPerSec)}`).join("; ")}). Two servers and two h2load processes share this machine's cores, so the row says what a second replica gives here, not on a machine of its own.`,
  );
}
