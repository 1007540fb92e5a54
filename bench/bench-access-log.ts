import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { type BenchContext, h2label, settle } from "./bench-context.js";
import { stop } from "./child-processes.js";
import { formatRate, formatRatio } from "./format.js";
import { h2clean, h2counts } from "./load-checks.js";
import { pairedRuns, totals } from "./paired-runs.js";
import { metric } from "./metric.js";
import { RawClient } from "./raw-client.js";
import { rollout } from "./rollout-fixture.js";
import { paths, settings } from "./settings.js";
import { startCtmd, type CtmdHandle } from "./start-ctmd.js";

/** Small enough that c64 Gets overflow it between two writes of the queue. */
const SMALL_QUEUE = 100;

/** Resident memory of a process, in MiB (Linux /proc). */
function rssMiB(pid: number | undefined): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function seeded(ctx: BenchContext, args: string[], name: string): Promise<{ ctmd: CtmdHandle; client: RawClient }> {
  const dir = join(ctx.work, name);
  mkdirSync(dir, { recursive: true });
  const ctmd = await startCtmd(ctx.children, dir, args);
  const client = new RawClient(ctmd.address);
  const r = await client.unary(paths.set, rollout.seedRequest());
  if (r.code !== grpc.status.OK) throw new Error(`${name}: seed Set ${grpc.status[r.code]} ${r.details}`);
  return { ctmd, client };
}

/**
 * Get with a context (which carries a request id, so each call is an access record) at c64:
 * the default daemon (access log on) against one started with --access-log off, and, for
 * overload, one whose queue holds only SMALL_QUEUE records: Get must keep its pace, memory must stay
 * flat, and the records that did not fit must be dropped and counted.
 */
export async function benchAccessLog(ctx: BenchContext, on: CtmdHandle): Promise<void> {
  const { report } = ctx;
  const level = settings.c64;
  const frame = ctx.frame("ctm-get-context-access", rollout.getRequest());
  const run = (label: string, d: CtmdHandle) => ctx.h2load({ label, process: d.child, address: d.address, lastWords: d.lastWords }, paths.get, frame, level);

  const off = await seeded(ctx, ["--access-log", "off"], "access-off");
  const small = await seeded(ctx, ["--access-log-queue", String(SMALL_QUEUE)], "access-small-queue");
  try {
    ctx.log("Get with a context, access log on vs off, c64");
    const p = await pairedRuns(
      ctx,
      { label: "ctmd Get+context, access log off", process: off.ctmd.child, address: off.ctmd.address, lastWords: off.ctmd.lastWords },
      { label: "ctmd Get+context, access log on", process: on.child, address: on.address, lastWords: on.lastWords },
      paths.get,
      frame,
      level,
    );
    const [withLog, without] = [totals(p.mine.runs), totals(p.base.runs)];
    report.check(
      p.mine.runs.every((r) => h2clean(r, 64)) && p.base.runs.every((r) => h2clean(r, 64)),
      `access log on, ${p.mine.runs.length} runs: ${h2counts(withLog)}; off: ${h2counts(without)}`,
    );
    await settle();
    const written = await metric(on.metrics, "ctm_access_log_written_total");
    report.check(written > 0, `ctmd with the access log on wrote ${written} access records (ctm_access_log_written_total)`);
    report.row(
      `Get with a context req/s, c64 (${h2label(level)}), access log on vs off (goal ≥ 0.7×)`,
      formatRate(p.mine.reqPerSec),
      formatRate(p.base.reqPerSec),
      formatRatio(p.mine.reqPerSec, p.base.reqPerSec, p.ratio),
    );
    report.note(`Access log on ÷ off per round (the row shows the median): ${p.ratios.map((r) => r.toFixed(2)).join(", ")}.`);

    ctx.log(`access log overload: queue of ${SMALL_QUEUE} records under c64`);
    const rssBefore = rssMiB(small.ctmd.child.pid);
    const over = await run(`ctmd Get+context, ${SMALL_QUEUE}-record access queue`, small.ctmd);
    const rssAfter = rssMiB(small.ctmd.child.pid);
    await settle();
    const dropped = await metric(small.ctmd.metrics, "ctm_access_log_dropped_total");
    const depth = await metric(small.ctmd.metrics, "ctm_access_log_queue_depth");
    report.check(h2clean(over, 64) && depth <= SMALL_QUEUE && dropped > 0, `overloaded access log: ${h2counts(over)}; queue depth after ${depth} (limit ${SMALL_QUEUE}); ${dropped} records dropped and counted`);
    report.row(
      `Get with a context req/s, c64, access queue of ${SMALL_QUEUE} records (overload) vs access log off`,
      formatRate(over.reqPerSec),
      formatRate(p.base.reqPerSec),
      formatRatio(over.reqPerSec, p.base.reqPerSec),
    );
    report.row(`Access records dropped and counted under that overload (ctm_access_log_dropped_total)`, formatRate(dropped), "-", "-");
    report.row(`ctmd resident memory before → after that overload (MiB)`, `${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)}`, "-", "-");
    report.note(
      `Access log: each Get with a context carries a request id, so each is an access record pushed on an in-memory queue and written by a timer in batches to a separate LevelDB (never synced, never awaited by Get). "Off" is the same daemon with --access-log off. Overload: --access-log-queue ${SMALL_QUEUE} (the queue is written every 25 ms, so at these rates it overflows between writes); records that do not fit are dropped and counted instead of slowing Get or growing memory.`,
    );
  } finally {
    off.client.close();
    small.client.close();
    await stop(off.ctmd.child);
    await stop(small.ctmd.child);
  }
}
