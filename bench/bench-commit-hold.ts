// In process: the longest time the event loop is held while the level store commits one batch of
// 100,000 records over 100,000 keys (what a RollbackPrefix of a whole prefix writes), this build's
// store against the baseline build's, in alternating rounds. A timer due every millisecond
// measures it: the longest gap between two of its runs is the longest step that ran in between.
import { mkdtempSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Draft } from "@ctm/core/record";
import type { BenchContext } from "./bench-context.js";
import { formatMs, formatRatio } from "./format.js";
import { median } from "./paired-rounds.js";
import { settings } from "./settings.js";

type StoreModule = typeof import("../src/storage/level/level-log-store.js");
type Store = InstanceType<StoreModule["LevelLogStore"]>;

const draft = (i: number, generation: number): Draft => ({
  key: `hold/k${String(i).padStart(7, "0")}`,
  value: { id: i, generation, owner: `team-${i % 50}`, note: "n".repeat(200) },
  deleted: false,
  kind: "set",
  author: "bench",
  message: "",
  cause: "api",
});

/** One commit of `keys` records (every key again) while a 1 ms timer runs: its time and the longest gap between the timer's runs. */
async function holdDuring(store: Store, keys: number, generation: number): Promise<{ ms: number; hold: number; records: number }> {
  let last = performance.now();
  let hold = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    hold = Math.max(hold, now - last);
    last = now;
  }, 1);
  const t0 = performance.now();
  const records = await store.commitAlone(async (_view, pause) => {
    const out: Draft[] = [];
    for (let i = 0; i < keys; i++) {
      out.push(draft(i, generation));
      const p = pause();
      if (p) await p;
    }
    return out;
  });
  const ms = performance.now() - t0;
  // What the commit set off after it resolved (moving the heads in) counts too.
  await new Promise((r) => setTimeout(r, 300));
  clearInterval(probe);
  return { ms, hold, records: records.length };
}

export async function benchCommitHold(ctx: BenchContext, baselineEntry: string): Promise<void> {
  const keys = Number(process.env["BENCH_COMMIT_KEYS"] ?? 100_000);
  const builds = [
    ["this build", resolve("dist/src")],
    ["the baseline build", dirname(resolve(baselineEntry))],
  ] as const;
  const clock = { now: () => Date.now() };
  const sides: { name: string; store: Store; dir: string; runs: { ms: number; hold: number }[] }[] = [];
  try {
    for (const [name, src] of builds) {
      const { LevelLogStore } = (await import(pathToFileURL(join(src, "storage/level/level-log-store.js")).href)) as StoreModule;
      const dir = mkdtempSync(join(ctx.work, "commit-hold-"));
      const store = new LevelLogStore(dir, clock);
      await store.open();
      sides.push({ name, store, dir, runs: [] });
      for (let at = 0; at < keys; at += 5000) await store.commit(() => Array.from({ length: Math.min(5000, keys - at) }, (_, j) => draft(at + j, 0)));
    }
    for (let round = 0; round < settings.rounds; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        await new Promise((r) => setTimeout(r, 500));
        const r = await holdDuring(side.store, keys, round + 1);
        const head = side.store.latest(draft(keys - 1, 0).key);
        if (r.records !== keys || (head?.value as { generation?: number } | undefined)?.generation !== round + 1) throw new Error(`${side.name}: the commit wrote ${r.records} of ${keys} records, or its last key does not read back`);
        side.runs.push(r);
      }
      ctx.log(`commit hold round ${round + 1}: ${sides.map((s) => `${s.name} ${s.runs[round]!.ms.toFixed(0)} ms, longest hold ${s.runs[round]!.hold.toFixed(1)} ms`).join("; ")}`);
    }
  } finally {
    for (const s of sides) {
      await s.store.close();
      rmSync(s.dir, { recursive: true, force: true });
    }
  }
  const [mine, base] = sides as [(typeof sides)[0], (typeof sides)[0]];
  ctx.report.check(mine.runs.length === settings.rounds && base.runs.length === settings.rounds, `Level store commit of ${keys.toLocaleString("en-US")} records, both builds, ${settings.rounds} rounds: every commit wrote every record and its last key read back at the new generation`);
  const row = (what: string, f: (x: { ms: number; hold: number }) => number): void => {
    const ratios = mine.runs.map((x, i) => f(x) / f(base.runs[i]!));
    ctx.report.row(
      `Level store, in process: one commit of ${keys.toLocaleString("en-US")} records over as many keys, ${what}: this build vs the baseline build; rounds ${ratios.map((r) => r.toFixed(2)).join(", ")}`,
      formatMs(median(mine.runs.map(f))),
      formatMs(median(base.runs.map(f))),
      formatRatio(0, 0, median(ratios)),
    );
  };
  row("longest event-loop hold (gap between runs of a 1 ms timer)", (x) => x.hold);
  row("time", (x) => x.ms);
}
