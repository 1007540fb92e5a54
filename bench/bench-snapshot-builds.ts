import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BenchContext } from "./bench-context.js";
import { stop } from "./child-processes.js";
import { quiet } from "./cpu-meter.js";
import { changeCtmd, loadCtmd, readSnapshot, snapshotEvery } from "./bench-snapshot.js";
import { formatMs, formatRatio } from "./format.js";
import { RawClient } from "./raw-client.js";
import { settings } from "./settings.js";
import { startCtmd } from "./start-ctmd.js";

const unbounded = { "grpc.max_receive_message_length": -1 };

/**
 * BENCH_ONLY=snapshot with BENCH_BASELINE=<another build's dist/src/main.js>: the same keys in
 * this build and that one, then every key at the past revision (every page), this build against
 * that one in alternating rounds. This is how a change to the listing path shows what it buys.
 */
export async function benchSnapshotBuilds(ctx: BenchContext, baselineEntry: string): Promise<void> {
  const keys = Number(process.env["BENCH_SNAPSHOT_KEYS"] ?? 100_000);
  const every = snapshotEvery();
  const pageSize = Number(process.env["BENCH_SNAPSHOT_PAGE"] ?? 0);
  const sides = [] as { name: string; pid: number; stop: () => Promise<void>; c: RawClient; past: number; ms: number[] }[];
  try {
    for (const [name, entry] of [["this build", resolve("dist/src/main.js")], ["the baseline build", resolve(baselineEntry)]] as const) {
      const dir = join(ctx.work, `snapshot-${sides.length}`);
      mkdirSync(dir, { recursive: true });
      const ctmd = await startCtmd(ctx.children, dir, [], entry);
      const c = new RawClient(ctmd.address, 4, {}, unbounded);
      const past = await loadCtmd(c, keys, 1);
      await changeCtmd(c, keys, every);
      const side = { name, pid: ctmd.child.pid!, stop: () => stop(ctmd.child), c, past, ms: [] as number[] };
      sides.push(side);
      await quiet([side.pid]);
      // Untimed, as in the row against etcd: the first listing also fills each build's caches.
      const first = await readSnapshot(c, past, pageSize, true);
      ctx.report.check(first.entries === keys, `Snapshot at a past revision, ${name}: ${first.entries} of ${keys} keys as they stood then, in ${first.pages} pages`);
    }
    await quiet(sides.map((s) => s.pid));
    for (let round = 0; round < settings.rounds; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        const t0 = performance.now();
        const got = await readSnapshot(side.c, side.past, pageSize, false);
        side.ms.push(performance.now() - t0);
        if (got.entries !== keys) throw new Error(`${side.name}: Snapshot held ${got.entries} keys, not ${keys}`);
      }
      ctx.log(`builds round ${round + 1}: ${sides.map((s) => `${s.name} ${s.ms[round]!.toFixed(0)} ms`).join(", ")}`);
    }
    const [mine, base] = sides as [(typeof sides)[number], (typeof sides)[number]];
    const ratios = mine.ms.map((ms, i) => ms / base.ms[i]!);
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    ctx.report.row(
      `Every key at a past revision, ${keys.toLocaleString("en-US")} keys, ${every === 1 ? "every one" : `1 in ${every}`} changed since: this build's time vs the baseline build's (BENCH_BASELINE; below 1× is faster); rounds ${ratios.map((r) => r.toFixed(2)).join(", ")}`,
      formatMs(median(mine.ms)),
      formatMs(median(base.ms)),
      formatRatio(median(mine.ms), median(base.ms), median(ratios)),
    );
  } finally {
    for (const s of sides) {
      s.c.close();
      await s.stop();
    }
  }
}
