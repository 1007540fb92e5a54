import { spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { systemClock } from "../src/domain/clock.js";
import { LevelLogStore } from "../src/storage/level/level-log-store.js";
import type { BenchContext } from "./bench-context.js";
import { formatRatio } from "./format.js";
import { metric } from "./metric.js";
import { settings } from "./settings.js";

const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

/** The longest event-loop delay since the previous scrape, in ms (a scrape resets it). */
async function loopDelayMaxMs(metrics: string): Promise<number> {
  const seconds = await metric(metrics, "ctm_event_loop_delay_max_seconds");
  if (Number.isNaN(seconds)) throw new Error("ctm_event_loop_delay_max_seconds is not among ctmd's metrics");
  return seconds * 1000;
}

interface Start {
  seconds: number;
  rss: number;
  /** The longest event-loop delay from "listening" until the revision index was ready, in ms. */
  holdMs: number;
  /** Whether ctmd said so; a build without the line is given INDEX_WAIT_MS. */
  indexSaid: boolean;
}

/** How long a build that does not say when its revision index is ready is given to build it. */
const INDEX_WAIT_MS = 20_000;

/**
 * Starts ctmd from `entry` on `dataDir` and waits for its "listening" line: seconds to ready, RSS
 * 2 s later, and how long the loop was held while the revision index was built in the background.
 */
async function startOnce(ctx: BenchContext, entry: string, dataDir: string): Promise<Start> {
  const t = performance.now();
  const child = ctx.children.spawn(process.execPath, [entry, "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--http-listen", "off"], { stdio: ["ignore", "pipe", "pipe"] });
  const lines = createInterface({ input: child.stdout! });
  let indexReady: () => void = () => undefined;
  const indexed = new Promise<boolean>((res) => {
    indexReady = () => res(true);
    setTimeout(() => res(false), INDEX_WAIT_MS).unref();
  });
  const metrics = await new Promise<string>((res, rej) => {
    child.once("exit", (code) => rej(new Error(`ctmd exited with ${code} before listening`)));
    lines.on("line", (l) => {
      if (l.includes('"msg":"listening"')) res((JSON.parse(l) as { metrics: string }).metrics);
      if (l.includes('"msg":"revision index ready"')) indexReady();
    });
  });
  const seconds = (performance.now() - t) / 1000;
  // From here on clients are served: start-up's own work before it does not count.
  await loopDelayMaxMs(metrics);
  await new Promise((r) => setTimeout(r, 2000));
  const rss = rssMiB(child.pid!);
  const indexSaid = await indexed;
  const holdMs = await loopDelayMaxMs(metrics);
  child.removeAllListeners("exit");
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  return { seconds, rss, holdMs, indexSaid };
}

/**
 * BENCH_ONLY=startup: a store of BENCH_STARTUP_KEYS keys (default 300,000, one small value each),
 * then ctmd started on it and on an empty store, in alternating rounds: seconds until it listens
 * and resident memory per key beyond the empty daemon's. With BENCH_BASELINE, another build
 * starts on the same stores in the same rounds, each build going first in every other round.
 */
export async function benchStartup(ctx: BenchContext): Promise<void> {
  const { report } = ctx;
  const keys = Number(process.env["BENCH_STARTUP_KEYS"] ?? 300_000);
  const dir = join(ctx.work, "startup");
  const empty = join(ctx.work, "startup-empty");
  mkdirSync(empty, { recursive: true });
  const store = new LevelLogStore(dir, systemClock);
  await store.open();
  const t = performance.now();
  for (let b = 0; b * 1000 < keys; b++) {
    await store.commit(() =>
      Array.from({ length: Math.min(1000, keys - b * 1000) }, (_, j) => {
        const i = b * 1000 + j;
        return { key: `app/k${String(i).padStart(7, "0")}`, value: { id: i, enabled: i % 2 === 0, owner: "team" }, deleted: false, author: "bench", message: "", kind: "set" as const, cause: "api" as const };
      }),
    );
  }
  ctx.log(`${keys} keys written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  await store.close();
  const mine = resolve("dist/src/main.js");
  const baseline = process.env["BENCH_BASELINE"];
  const base = { empty: [] as number[], mine: [] as Start[], other: [] as Start[], emptyOther: [] as number[], emptyMine: [] as number[] };
  for (let round = 0; round < settings.rounds; round++) {
    // With a baseline, each build goes first in every other round: a pair's first start ran quicker here.
    const first = round % 2 === 0 || !baseline ? "mine" : "other";
    for (const side of first === "mine" ? (["mine", "other"] as const) : (["other", "mine"] as const)) {
      if (side === "mine") {
        const e = await startOnce(ctx, mine, empty);
        base.empty.push(e.rss);
        base.emptyMine.push(e.seconds);
        base.mine.push(await startOnce(ctx, mine, dir));
      } else if (baseline) {
        base.emptyOther.push((await startOnce(ctx, resolve(baseline), empty)).seconds);
        base.other.push(await startOnce(ctx, resolve(baseline), dir));
      }
    }
    const a = base.mine[round]!;
    ctx.log(`round ${round + 1}: ready in ${a.seconds.toFixed(2)} s, RSS ${a.rss.toFixed(0)} MiB (empty: ${base.emptyMine[round]!.toFixed(2)} s, ${base.empty[round]!.toFixed(0)} MiB)${baseline ? `; baseline ${base.other[round]!.seconds.toFixed(2)} s, ${base.other[round]!.rss.toFixed(0)} MiB (empty: ${base.emptyOther[round]!.toFixed(2)} s)` : ""}`);
  }
  const med = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const perKey = (rss: number): number => ((rss - med(base.empty)) * 1024) / keys;
  const s = med(base.mine.map((r) => r.seconds));
  const kib = perKey(med(base.mine.map((r) => r.rss)));
  const ratios = (xs: number[], ys: number[]): number[] => xs.map((x, i) => x / ys[i]!);
  const startRatios = ratios(base.mine.map((r) => r.seconds), base.other.map((r) => r.seconds));
  const emptyRatios = ratios(base.emptyMine, base.emptyOther);
  const shown = (rs: number[]): string => (rs.length ? `; rounds ${rs.map((r) => r.toFixed(2)).join(", ")}` : "");
  report.row(`ctmd ready with ${keys.toLocaleString("en-US")} keys (s)${baseline ? ` vs the baseline build${shown(startRatios)}` : ""}`, s.toFixed(2), baseline ? med(base.other.map((r) => r.seconds)).toFixed(2) : "-", baseline ? formatRatio(s, 1, med(startRatios)) : "-");
  report.row(`ctmd ready on an empty store (s)${baseline ? ` vs the baseline build${shown(emptyRatios)}` : ""}`, med(base.emptyMine).toFixed(2), baseline ? med(base.emptyOther).toFixed(2) : "-", baseline ? formatRatio(1, 1, med(emptyRatios)) : "-");
  report.row(`ctmd resident memory per key beyond an empty daemon (KiB)${baseline ? " vs the baseline build" : ""}`, kib.toFixed(2), baseline ? perKey(med(base.other.map((r) => r.rss))).toFixed(2) : "-", baseline ? formatRatio(kib, perKey(med(base.other.map((r) => r.rss)))) : "-");
  const holds = (xs: Start[]): string => xs.map((r) => `${r.holdMs.toFixed(0)}${r.indexSaid ? "" : "*"}`).join(", ");
  const hold = med(base.mine.map((r) => r.holdMs));
  const holdOther = baseline ? med(base.other.map((r) => r.holdMs)) : undefined;
  report.row(
    `ctmd with ${keys.toLocaleString("en-US")} keys: longest event-loop delay from listening until its revision index was built in the background (ms, ctm_event_loop_delay_max_seconds)${baseline ? `; rounds ${holds(base.mine)}, baseline ${holds(base.other)}` : `; rounds ${holds(base.mine)}`}`,
    hold.toFixed(0),
    holdOther === undefined ? "-" : holdOther.toFixed(0),
    holdOther === undefined ? "-" : formatRatio(hold, holdOther),
  );
  if ([...base.mine, ...base.other].some((r) => !r.indexSaid)) report.note(`* the build did not say when its revision index was ready: the delay is the longest over the first ${INDEX_WAIT_MS / 1000} s after listening.`);
  report.note(`Start-up with ${keys} keys, per round: ${base.mine.map((r) => `${r.seconds.toFixed(2)} s / ${r.rss.toFixed(0)} MiB`).join(", ")}${baseline ? `; baseline ${base.other.map((r) => `${r.seconds.toFixed(2)} s / ${r.rss.toFixed(0)} MiB`).join(", ")}` : ""}; an empty daemon ${base.emptyMine.map((t, i) => `${t.toFixed(2)} s / ${base.empty[i]!.toFixed(0)} MiB`).join(", ")}${baseline ? ` (baseline ${base.emptyOther.map((t) => `${t.toFixed(2)} s`).join(", ")})` : ""}.`);
}
