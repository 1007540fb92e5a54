// `ctm` is a new process for every command: what it loads before it runs is paid on each one
// (a script that calls it in a loop, an operator at a terminal). This times whole commands, from
// spawn to exit, this build's CLI against another build's (BENCH_BASELINE), in alternating rounds.
import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import type { BenchContext } from "./bench-context.js";
import { fixture } from "./fixture.js";
import { formatRatio } from "./format.js";
import { balancedRounds, median, pairedRounds } from "./paired-rounds.js";

const run = promisify(execFile);
const RUNS_PER_ROUND = 10;

/** Median wall time (ms) of RUNS_PER_ROUND runs of `node cli ...args`; every run must exit 0 and print `expect`. */
async function timeCommand(cli: string, args: string[], expect: string, failures: string[]): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS_PER_ROUND; i++) {
    const t = performance.now();
    try {
      const r = await run(process.execPath, [cli, ...args], { env: { ...process.env, NO_COLOR: "1" } });
      if (!r.stdout.includes(expect)) failures.push(`${cli} ${args.join(" ")}: no "${expect}" in its output`);
    } catch (e) {
      failures.push(`${cli} ${args.join(" ")}: ${(e as Error).message.split("\n")[0]}`);
    }
    times.push(performance.now() - t);
  }
  return median(times);
}

/** BENCH_ONLY=cli: `ctm --help` and `ctm get` against the bench's ctmd, this build and (with BENCH_BASELINE) another. */
export async function benchCliStartup(ctx: BenchContext, address: string): Promise<void> {
  const mine = resolve("dist/src/cli/main.js");
  const baselineEntry = process.env["BENCH_BASELINE"];
  const other = baselineEntry ? join(dirname(resolve(baselineEntry)), "cli/main.js") : undefined;
  const failures: string[] = [];
  const floor: number[] = [];
  for (let i = 0; i < RUNS_PER_ROUND; i++) {
    const t = performance.now();
    await run(process.execPath, ["-e", "0"]);
    floor.push(performance.now() - t);
  }
  const commands: [string, string[], string][] = [
    ["ctm --help", ["--help"], "Usage: ctm"],
    ["ctm get (one call to ctmd)", ["--address", address, "get", fixture.key], fixture.key],
  ];
  for (const [label, args, expect] of commands) {
    const r = await pairedRounds(
      async () => (other ? timeCommand(other, args, expect, failures) : Number.NaN),
      async () => timeCommand(mine, args, expect, failures),
      other ? balancedRounds() : 1,
    );
    const ratios = r.mine.map((m, i) => m / r.base[i]!);
    const m = median(r.mine);
    const b = median(r.base);
    ctx.report.row(`${label}: median wall time from spawn to exit (ms)${other ? " vs the baseline build" : ""}`, m.toFixed(0), other ? b.toFixed(0) : "-", other ? formatRatio(m, b, median(ratios)) : "-");
    ctx.log(`${label}: this build ${r.mine.map((x) => x.toFixed(0)).join(", ")} ms${other ? `; baseline ${r.base.map((x) => x.toFixed(0)).join(", ")} ms; ratios ${ratios.map((x) => x.toFixed(2)).join(", ")}` : ""}`);
    if (other) ctx.report.note(`${label}, per round (median of ${RUNS_PER_ROUND} runs each): this build ${r.mine.map((x) => x.toFixed(0)).join(", ")} ms, the baseline ${r.base.map((x) => x.toFixed(0)).join(", ")} ms; ratios ${ratios.map((x) => x.toFixed(2)).join(", ")}.`);
  }
  ctx.report.note(`A bare \`node -e 0\` takes ${median(floor).toFixed(0)} ms here (median of ${RUNS_PER_ROUND}): the floor of any command.`);
  ctx.report.check(failures.length === 0, `every timed ctm command exited 0 and printed what it should${failures.length ? `: ${failures.slice(0, 3).join("; ")}` : ""}`);
}
