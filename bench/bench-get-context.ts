import * as grpc from "@grpc/grpc-js";
import { type BenchContext, h2label, settle } from "./bench-context.js";
import { stop } from "./child-processes.js";
import { formatMs, formatRate, formatRatio, formatUs } from "./format.js";
import { failuresText, h2clean, h2counts, onlyCutOff } from "./load-checks.js";
import { pairedRuns, totals } from "./paired-runs.js";
import { RawClient } from "./raw-client.js";
import { rollout } from "./rollout-fixture.js";
import { paths, settings } from "./settings.js";
import type { CtmdHandle } from "./start-ctmd.js";
import { startCannedNoopServer } from "./start-canned-noop-server.js";
import { GetResponse, SetResponse } from "../src/gen/ctm/v1/config_service.js";
import { Reason } from "../src/gen/ctm/v1/rollout.js";

/**
 * Get with an EvaluationContext at c64 on a rolling key (the in-process bench's plan: 5 rules,
 * 50%, 3 variants), ctmd against a no-op grpc-js server that answers ctmd's own response bytes
 * for that request, so both send the same response and only the evaluation and the lookup differ.
 */
export async function benchGetContext(ctx: BenchContext, ctmd: CtmdHandle, ctm: RawClient): Promise<void> {
  const { report } = ctx;
  const seeded = await ctm.unary(paths.set, rollout.seedRequest());
  const seededEntry = seeded.body ? SetResponse.decode(seeded.body).entry : undefined;
  report.check(
    seeded.code === grpc.status.OK && seededEntry?.rollout?.plan?.rules.length === 5 && seededEntry.rollout.plan.variants.length === 3,
    `ctmd: Set of the rolling key with a rollout (5 rules, ${rollout.percent}% steps, 3 variants) ${grpc.status[seeded.code]}${seeded.details ? ` (${seeded.details})` : ""}; the entry carries the plan: ${seededEntry?.rollout ? "yes" : "no"}`,
  );
  if (seeded.code !== grpc.status.OK) throw new Error(`ctmd rejected the rolling seed Set: ${grpc.status[seeded.code]} ${seeded.details}`);

  const request = rollout.getRequest();
  const sample = await ctm.unary(paths.get, request);
  const answer = sample.body ? GetResponse.decode(sample.body) : undefined;
  // The unit is chosen to get a variant (see rollout.getUnitId): evaluation runs every rule, then both hashes.
  const expectedVariants = rollout.variants.map((v) => v.name);
  const sampleOk =
    sample.code === grpc.status.OK &&
    answer?.entry?.key === rollout.key &&
    answer.entry.rollout !== undefined &&
    answer.reason === Reason.REASON_VARIANT &&
    expectedVariants.includes(answer.variant) &&
    answer.value !== undefined;
  report.check(
    sampleOk,
    `ctmd: one grpc-js Get with the h2load frame (key ${rollout.key}, unit ${rollout.getUnitId}, environment, 3 attributes, request id) ${grpc.status[sample.code]}${sample.details ? ` (${sample.details})` : ""}, reason ${answer ? Reason[answer.reason] : "-"}, variant "${answer?.variant ?? ""}", value ${JSON.stringify(answer?.value)}, ${sample.body?.length ?? 0} response bytes`,
  );
  if (!sampleOk || !sample.body) throw new Error("ctmd's sample Get with a context did not answer a rollout resolution; not measuring it");

  const noop = await startCannedNoopServer(ctx.children, ctx.work, "get-context", sample.body);
  try {
    const noopSample = new RawClient(noop.address);
    const echoed = await noopSample.unary(paths.get, request);
    noopSample.close();
    report.check(
      echoed.code === grpc.status.OK && echoed.body?.equals(sample.body) === true,
      `no-op server (Get with a context): one grpc-js call returned ${grpc.status[echoed.code]} with ctmd's ${sample.body.length} response bytes`,
    );

    const level = settings.c64;
    const frame = ctx.frame("ctm-get-context", request);
    ctx.log("Get with a context, concurrency 64");
    const before = await noop.calls();
    ctmd.rpcLog.mark();
    const noopTarget = { label: "no-op Get+context c64", process: noop.child, address: noop.address };
    const ctmdTarget = { label: "ctmd Get+context c64", process: ctmd.child, address: ctmd.address, lastWords: ctmd.lastWords };
    const p = await pairedRuns(ctx, noopTarget, ctmdTarget, paths.get, frame, level);
    await settle();
    const served = (await noop.calls()) - before;
    const base = totals(p.base.runs);
    const mine = totals(p.mine.runs);
    report.check(
      p.base.runs.every((r) => h2clean(r, 64)) && served >= base.succeeded,
      `no-op Get with a context c64, ${p.base.runs.length} runs: ${h2counts(base)}; the server answered ${served} (incl. warm-up)`,
    );
    const tally = ctmd.rpcLog.tally("Get");
    report.check(
      p.mine.runs.every((r) => h2clean(r, 64)) && onlyCutOff(tally.failures, 64 * p.mine.runs.length) && tally.ok >= mine.succeeded,
      `ctmd Get with a context c64, ${p.mine.runs.length} runs: ${h2counts(mine)}; ctmd logged ${tally.ok} OK and ${tally.failed} failed Gets${failuresText(tally.failures)} (incl. warm-up)`,
    );
    report.row(
      `Get with a context req/s, c64 (${h2label(level)}), rolling key (5 rules, ${rollout.percent}%, 3 variants) vs no-op grpc-js (goal ≥ 0.8×)`,
      formatRate(p.mine.reqPerSec),
      formatRate(p.base.reqPerSec),
      formatRatio(p.mine.reqPerSec, p.base.reqPerSec, p.ratio),
    );
    report.row(`Get with a context main-thread CPU per request, c64`, formatUs(p.mine.mainUsPerRequest), formatUs(p.base.mainUsPerRequest), formatRatio(p.mine.mainUsPerRequest, p.base.mainUsPerRequest));
    report.note(`Get with a context req/s ratio per round (ctmd ÷ no-op; the row shows the median): ${p.ratios.map((r) => r.toFixed(2)).join(", ")}.`);
    report.note(
      `Get with a context: every h2load request is the same GetRequest (h2load sends one body) for ${rollout.key} with an EvaluationContext (unit_id ${rollout.getUnitId}, environment prod, attributes country/plan/app_version, request_id), which no rule matches and which is inside the 50%, so ctmd runs all 5 rules and both hashes (percentage, then variant) on every call; answer: reason ${answer ? Reason[answer.reason] : "-"}, variant "${answer?.variant}". The no-op server answers the exact bytes ctmd answered to the sample call (${sample.body.length} bytes, entry with the rollout plan). ctmd handler time (per-RPC log, warm-up included): p50 ${formatMs(tally.p50Ms)}, p99 ${formatMs(tally.p99Ms)}.`,
    );
  } finally {
    await stop(noop.child);
  }
}
