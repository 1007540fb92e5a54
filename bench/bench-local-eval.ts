import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { CtmClient } from "../clients/ts/src/index.js";
import { GoPath, PY_ENV, PY_INTEROP, PYTHON } from "../test/interop/helpers.js";
import type { BenchContext } from "./bench-context.js";
import { formatRatio } from "./format.js";
import type { RawClient } from "./raw-client.js";
import { rollout, unitContexts } from "./rollout-fixture.js";
import { paths, settings } from "./settings.js";
import type { CtmdHandle } from "./start-ctmd.js";

const SECONDS = 2;
const PREFIX = "bench/flags/";

interface Contexts {
  unitId: string;
  environment: string;
  attributes: Record<string, string>;
}

/** Calls ctmd has finished, by /metrics (counted as each ends, unlike the log, which is written in batches); Watch streams aside. */
async function callsSoFar(ctmd: CtmdHandle): Promise<number> {
  const text = await (await fetch(`http://${ctmd.metrics}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^ctm_rpc_requests_total\{([^}]*)\} (\d+)/gm)) if (!m[1]!.includes('method="Watch"')) n += Number(m[2]);
  return n;
}

/** A Go or Python bench child: ready once its cache holds the key, then one run when told. */
class EvalChild {
  private readonly lines: Record<string, unknown>[] = [];
  private waiters: (() => void)[] = [];
  readonly proc: ChildProcess;
  private stderr = "";

  constructor(file: string, args: string[], env: NodeJS.ProcessEnv) {
    this.proc = spawn(file, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stderr!.on("data", (b: Buffer) => (this.stderr += b.toString()));
    createInterface({ input: this.proc.stdout! }).on("line", (l) => {
      this.lines.push(JSON.parse(l) as Record<string, unknown>);
      for (const w of this.waiters.splice(0)) w();
    });
    this.proc.once("exit", () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  async line(type: string): Promise<Record<string, unknown>> {
    for (;;) {
      const l = this.lines.find((x) => x.type === type);
      if (l) return l;
      if (this.proc.exitCode !== null) throw new Error(`the bench child exited (${this.proc.exitCode}): ${this.stderr}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async run(): Promise<number> {
    await this.line("ready");
    this.proc.stdin!.write("go\n");
    const done = await this.line("done");
    return Number(done.evaluations) / Number(done.seconds);
  }
}

/**
 * BENCH_ONLY=local-eval (and the full run): each SDK's cache (TypeScript in this process, Go and
 * Python in their own) follows the rolling key of the evaluation benches on a real ctmd, then
 * evaluates it locally for 10,000 contexts for 2 s per round, in alternating rounds; ctmd's
 * per-RPC log shows that the evaluations made no call at all.
 */
export async function benchLocalEval(ctx: BenchContext, ctmd: CtmdHandle, ctm: RawClient): Promise<void> {
  const { report } = ctx;
  const seeded = await ctm.unary(paths.set, rollout.seedRequest());
  report.check(seeded.code === 0, `local evaluation: the rolling key was written (${seeded.code})`);
  const contexts: Contexts[] = unitContexts().map((u) => ({ unitId: u.unitId, environment: u.environment, attributes: { country: u.country, plan: u.plan, app_version: u.appVersion } }));
  const file = join(ctx.work, "contexts.json");
  writeFileSync(file, JSON.stringify(contexts));
  const gopath = await GoPath.create();
  try {
    const bin = await gopath.build("ctm.dev/clients/go/cmd/interop");
    const client = new CtmClient({ address: ctmd.address, cache: { prefix: PREFIX } });
    await client.ready();
    const rates: Record<"ts" | "go" | "py", number[]> = { ts: [], go: [], py: [] };
    const rpcs: Record<"ts" | "go" | "py", number> = { ts: 0, go: 0, py: 0 };
    let evaluations = 0;
    try {
      for (let round = 0; round < settings.rounds; round++) {
        // TypeScript, in this process.
        const before = await callsSoFar(ctmd);
        let n = 0;
        const start = performance.now();
        while (performance.now() - start < SECONDS * 1000) {
          for (let i = 0; i < 1000; i++) client.cache!.get(rollout.key, contexts[n++ % contexts.length]);
        }
        rates.ts.push(n / ((performance.now() - start) / 1000));
        // The scrape itself is not an RPC.
        rpcs.ts += (await callsSoFar(ctmd)) - before;
        evaluations += n;
        // Go and Python: the cache is filled before the RPC log is marked.
        for (const [lang, child] of [
          ["go", () => new EvalChild(bin, ["eval-bench", "-addr", ctmd.address, "-prefix", PREFIX, "-key", rollout.key, "-contexts", file, "-seconds", String(SECONDS)], gopath.env)],
          ["py", () => new EvalChild(PYTHON, [PY_INTEROP, "eval-bench", "--addr", ctmd.address, "--prefix", PREFIX, "--key", rollout.key, "--contexts", file, "--seconds", String(SECONDS)], PY_ENV)],
        ] as const) {
          const c = child();
          try {
            await c.line("ready");
            const before = await callsSoFar(ctmd);
            const rate = await c.run();
            rates[lang].push(rate);
            rpcs[lang] += (await callsSoFar(ctmd)) - before;
            evaluations += rate * SECONDS;
          } finally {
            c.proc.kill();
          }
        }
        ctx.log(`round ${round + 1}: local evaluations/s TypeScript ${Math.round(rates.ts[round]!)}, Go ${Math.round(rates.go[round]!)}, Python ${Math.round(rates.py[round]!)}`);
      }
    } finally {
      client.close();
    }
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const fmt = (x: number): string => Math.round(x).toLocaleString("en-US");
    const ratios = (a: number[], b: number[]): string => a.map((x, i) => (x / b[i]!).toFixed(2)).join(", ");
    report.row("Local evaluations/s through the TypeScript SDK's cache (rolling key: 5 rules, 50%, 3 variants; 10,000 contexts)", fmt(med(rates.ts)), "-", "-");
    report.row(`Local evaluations/s through the Go SDK's cache vs the TypeScript SDK's; rounds ${ratios(rates.go, rates.ts)}`, fmt(med(rates.go)), fmt(med(rates.ts)), formatRatio(med(rates.go), med(rates.ts)));
    report.row(`Local evaluations/s through the Python SDK's cache vs the TypeScript SDK's; rounds ${ratios(rates.py, rates.ts)}`, fmt(med(rates.py)), fmt(med(rates.ts)), formatRatio(med(rates.py), med(rates.ts)));
    report.check(rpcs.ts + rpcs.go + rpcs.py === 0, `local evaluation: ctmd logged ${rpcs.ts} / ${rpcs.go} / ${rpcs.py} RPCs (TypeScript / Go / Python) during ${fmt(evaluations)} evaluations: zero RPCs per evaluation`);
    report.note(`Local evaluation, per round (evaluations/s): TypeScript ${rates.ts.map(fmt).join(", ")}; Go ${rates.go.map(fmt).join(", ")}; Python ${rates.py.map(fmt).join(", ")}. Each SDK's cache read a Snapshot and opened a Watch before its run; ctmd's ctm_rpc_requests_total (every method but the caches' Watch streams) was read before and after each run.`);
  } finally {
    await gopath.dispose();
  }
}
