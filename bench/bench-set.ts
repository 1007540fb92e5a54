import { type BenchContext, h2label, settle } from "./bench-context.js";
import { fixture } from "./fixture.js";
import { formatMs, formatRate, formatRatio } from "./format.js";
import { failuresText, h2clean, h2counts, onlyCutOff } from "./load-checks.js";
import { measureFsyncRate } from "./measure-fsync-rate.js";
import { RawClient } from "./raw-client.js";
import { paths, settings } from "./settings.js";
import type { CtmdHandle } from "./start-ctmd.js";
import { versionOf } from "./version-of.js";

export interface SetFigures {
  setsPerSec: number;
}

/** The disk's fsync rate, then durable Sets at c64 against it (group commit = more than one Set per fsync). */
export async function benchSet(ctx: BenchContext, ctmd: CtmdHandle, ctm: RawClient): Promise<SetFigures> {
  const { report } = ctx;
  const c64 = settings.c64;
  ctx.log("fsync rate");
  const fsync = measureFsyncRate(ctmd.dataDir, Math.min(settings.fsyncSeconds, settings.seconds));
  report.note(`fsync/s: ${fsync.count} × (4 KiB append + fsync) in ${fsync.seconds.toFixed(1)} s, in the bench driver, on the data dir's filesystem (${ctmd.dataDir}), while nothing else ran.`);

  ctx.log("Set, concurrency 64");
  const versionBefore = await versionOf(ctm, fixture.setKey);
  ctmd.rpcLog.mark();
  const set = await ctx.h2load({ label: "ctmd Set c64", process: ctmd.child, address: ctmd.address, lastWords: ctmd.lastWords }, paths.set, ctx.frame("ctm-set", fixture.setRequest()), c64);
  await settle();
  const tally = ctmd.rpcLog.tally("Set");
  const applied = (await versionOf(ctm, fixture.setKey)) - versionBefore;
  report.check(
    h2clean(set, 64) && onlyCutOff(tally.failures, 64) && applied >= set.succeeded && applied >= tally.ok,
    `ctmd Set c64: ${h2counts(set)}; the key's version grew by ${applied}, ctmd logged ${tally.ok} OK and ${tally.failed} failed Sets${failuresText(tally.failures)} (both incl. warm-up)`,
  );
  report.row(
    `Durable Set req/s, c64 (${h2label(c64)}, one key) vs fsync/s`,
    formatRate(set.reqPerSec),
    formatRate(fsync.fsyncsPerSec),
    `${formatRatio(set.reqPerSec, fsync.fsyncsPerSec)} (Sets per fsync)`,
  );
  report.note(`ctmd Set handler time during the h2load Set run (ctmd's per-RPC log, durationMs): p50 ${formatMs(tally.p50Ms)}, p99 ${formatMs(tally.p99Ms)}; h2load mean ${formatMs(set.meanMs)}, max ${formatMs(set.maxMs)}.`);

  return { setsPerSec: set.reqPerSec };
}
