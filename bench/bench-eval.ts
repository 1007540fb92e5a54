// In-process evaluation throughput of one rolling key (5 rules, 50%, 3 weighted variants):
// ctm's evaluate() against @openfeature/flagd-core's fractional and unleash-client's
// flexibleRollout, measured in this process, interleaved, for the same wall time each.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { EvalContext, Reason } from "@ctm/core/rollout/plan";
import type { LogRecord } from "@ctm/core/record";
import {
  FLAGD_KEY,
  FLAGD_KEY_ONE_FRACTIONAL,
  flagdContext,
  newFlagd,
  newUnleash,
  UNLEASH_KEY,
  unleashContext,
} from "./eval-competitors.js";
import { formatRate, formatRatio } from "./format.js";
import type { Report } from "./report.js";
import { matchesRule, rollout, unitContexts, type UnitContext } from "./rollout-fixture.js";

export const evalSettings = {
  /** Measured per evaluator (BENCH_EVAL_SECONDS), split into interleaved rounds. */
  seconds: Number(process.env["BENCH_EVAL_SECONDS"] ?? 2),
  warmupSeconds: 0.5,
  rounds: 4,
  /** Evaluations between two clock reads. */
  batch: 1000,
} as const;

/** Evaluates `n` contexts (cycling through the units) and returns something derived from the answers. */
type Batch = (n: number) => number;

interface Evaluator {
  label: string;
  /** The variant every unit gets ("stable" for units left out), or an error text. */
  assign(u: UnitContext, i: number): string;
  batch: Batch;
  evals: number;
  ms: number;
  rounds: number[];
}

export interface EvalResult {
  ctm: number;
  fastestCompetitor: { label: string; rate: number };
}

/**
 * ctm's evaluator as ctmd runs it: tsc's output (npm run bench builds first), @ctm/core's dist for
 * evaluate() and dist/ for buildRollout. Not the TypeScript sources through tsx: its transform
 * (esbuild, keepNames) wraps every closure ctm's evaluate() creates in a naming helper, which
 * costs ctm ~2.5× here and the competitors nothing.
 */
async function loadCtm(): Promise<{
  buildRollout: typeof import("../src/domain/rollout/build-rollout.js").buildRollout;
  evaluate: typeof import("@ctm/core/rollout/evaluate").evaluate;
}> {
  // From bench/ (tsx) the build is ../dist/src/; from dist/bench/ (a built bench) it is ../src/.
  const distSrc = new URL(import.meta.url.includes("/dist/bench/") ? "../src/" : "../dist/src/", import.meta.url);
  const file = new URL("domain/rollout/build-rollout.js", distSrc);
  if (!existsSync(file)) throw new Error(`${fileURLToPath(file)} is missing: run \`npm run build\` first (npm run bench does).`);
  const [{ buildRollout }, { evaluate }] = await Promise.all([
    import(file.href) as Promise<typeof import("../src/domain/rollout/build-rollout.js")>,
    import("@ctm/core/rollout/evaluate"),
  ]);
  return { buildRollout, evaluate };
}

export async function benchEval(report: Report, log: (text: string) => void): Promise<EvalResult> {
  const { buildRollout, evaluate } = await loadCtm();
  const units = unitContexts();
  const n = units.length;

  // ctm: a record as the store holds it, with the rollout buildRollout makes from the plan.
  const now = Date.now();
  const ro = buildRollout(rollout.input(), { key: rollout.key, value: rollout.value, currentStable: undefined, now });
  const record: LogRecord = {
    revision: 1,
    key: rollout.key,
    version: 1,
    value: rollout.value,
    deleted: false,
    time: now,
    author: "bench",
    message: "rolling seed",
    kind: "set",
    cause: "api",
    rollout: ro,
  };
  const ctmContexts: EvalContext[] = units.map((u) => ({
    unitId: u.unitId,
    environment: u.environment,
    attributes: { country: u.country, plan: u.plan, app_version: u.appVersion },
  }));
  const ctmReasons = new Map<Reason, number>();
  let j0 = 0;
  const ctm: Evaluator = {
    label: "ctm evaluate()",
    assign: (_u, i) => {
      const r = evaluate(record, ctmContexts[i]!, Date.now());
      ctmReasons.set(r.reason, (ctmReasons.get(r.reason) ?? 0) + 1);
      return r.variant;
    },
    // The clock is read per evaluation, as ctmd's Get does (flagd-core reads it too).
    batch: (count) => {
      let sink = 0;
      for (let k = 0; k < count; k++) {
        sink += evaluate(record, ctmContexts[j0]!, Date.now()).variant.length;
        if (++j0 === n) j0 = 0;
      }
      return sink;
    },
    evals: 0,
    ms: 0,
    rounds: [],
  };

  // Cold: 4 × the hash memo's size in distinct units, so nearly every evaluation hashes twice.
  const coldN = 4 * 65_536;
  const coldContexts: EvalContext[] = Array.from({ length: coldN }, (_, k) => {
    const c = ctmContexts[k % n]!;
    // After the first "-", so the unit still matches (or not) the ^qa- and -canary$ rules.
    const dash = c.unitId.indexOf("-") + 1;
    return { ...c, unitId: `${c.unitId.slice(0, dash)}c${k}.${c.unitId.slice(dash)}` };
  });
  let c0 = 0;
  const ctmCold: Evaluator = {
    label: "ctm evaluate(), every unit new",
    assign: (_u, i) => evaluate(record, coldContexts[i]!, Date.now()).variant,
    batch: (count) => {
      let sink = 0;
      for (let k = 0; k < count; k++) {
        sink += evaluate(record, coldContexts[c0]!, Date.now()).variant.length;
        if (++c0 === coldN) c0 = 0;
      }
      return sink;
    },
    evals: 0,
    ms: 0,
    rounds: [],
  };

  const flagd = newFlagd();
  const flagdContexts = units.map(flagdContext);
  const flagdAssign = (key: string) => (_u: UnitContext, i: number) => {
    const r = flagd.resolveObjectEvaluation(key, {}, flagdContexts[i]!);
    return r.errorCode !== undefined || r.reason === "ERROR" || r.variant === undefined ? `error ${r.errorCode ?? r.reason}: ${r.errorMessage ?? ""}` : r.variant;
  };
  let j1 = 0;
  const flagdTwo: Evaluator = {
    label: "flagd-core fractional",
    assign: flagdAssign(FLAGD_KEY),
    batch: (count) => {
      let sink = 0;
      for (let k = 0; k < count; k++) {
        sink += flagd.resolveObjectEvaluation(FLAGD_KEY, {}, flagdContexts[j1]!).variant!.length;
        if (++j1 === n) j1 = 0;
      }
      return sink;
    },
    evals: 0,
    ms: 0,
    rounds: [],
  };
  let j2 = 0;
  const flagdOne: Evaluator = {
    label: "flagd-core, one fractional",
    assign: flagdAssign(FLAGD_KEY_ONE_FRACTIONAL),
    batch: (count) => {
      let sink = 0;
      for (let k = 0; k < count; k++) {
        sink += flagd.resolveObjectEvaluation(FLAGD_KEY_ONE_FRACTIONAL, {}, flagdContexts[j2]!).variant!.length;
        if (++j2 === n) j2 = 0;
      }
      return sink;
    },
    evals: 0,
    ms: 0,
    rounds: [],
  };

  const unleash = await newUnleash();
  const unleashContexts = units.map(unleashContext);
  let j3 = 0;
  const unleashEval: Evaluator = {
    label: "unleash-client flexibleRollout",
    assign: (_u, i) => {
      const v = unleash.getVariant(UNLEASH_KEY, unleashContexts[i]!);
      return v.name === "disabled" && !v.feature_enabled ? "stable" : v.name;
    },
    batch: (count) => {
      let sink = 0;
      for (let k = 0; k < count; k++) {
        sink += unleash.getVariant(UNLEASH_KEY, unleashContexts[j3]!).name.length;
        if (++j3 === n) j3 = 0;
      }
      return sink;
    },
    evals: 0,
    ms: 0,
    rounds: [],
  };

  const evaluators = [ctm, ctmCold, flagdTwo, flagdOne, unleashEval];
  try {
    // Sanity first: each evaluator answers every unit once, and the answers must look like the plan.
    const matching = units.filter(matchesRule).length;
    for (const e of evaluators) {
      const text = sanity(e, units, matching);
      const reasons = e === ctm ? `; reasons ${[...ctmReasons].map(([r, c]) => `${r} ${c}`).join(", ")}` : "";
      const ok = text.ok && (e !== ctm || ctmReasons.get("rule_match") === matching);
      log(`eval sanity, ${e.label}: ${ok ? "ok" : "FAILED"}: ${text.text}${reasons}`);
      report.check(ok, `in-process eval, ${e.label}: ${text.text}${reasons}`);
    }

    // Warm-up, then interleaved rounds so that a noisy neighbour hurts every evaluator alike.
    let sink = 0;
    for (const e of evaluators) sink += run(e.batch, evalSettings.warmupSeconds * 1000).sink;
    const roundMs = (evalSettings.seconds * 1000) / evalSettings.rounds;
    for (let r = 0; r < evalSettings.rounds; r++) {
      for (const e of evaluators) {
        const t = run(e.batch, roundMs);
        sink += t.sink;
        e.evals += t.evals;
        e.ms += t.ms;
        e.rounds.push((t.evals / t.ms) * 1000);
      }
    }
    if (sink === 0) log("(no answers?)");
  } finally {
    unleash.destroy();
  }

  const rate = (e: Evaluator): number => (e.evals / e.ms) * 1000;
  const competitors = [flagdTwo, flagdOne, unleashEval];
  for (const e of evaluators) log(`eval ${e.label}: ${formatRate(rate(e))} evaluations/s (rounds ${e.rounds.map(formatRate).join(", ")})`);
  const fastest = competitors.reduce((a, b) => (rate(b) > rate(a) ? b : a));
  const label = `Rollout evaluations/s in-process (5 rules, ${rollout.percent}%, 3 variants, ${formatRate(n)} units)`;
  report.row(`${label} vs flagd-core fractional (same semantics: two hashes)`, formatRate(rate(ctm)), formatRate(rate(flagdTwo)), formatRatio(rate(ctm), rate(flagdTwo)));
  report.row(`${label} vs flagd-core, one fractional over stable + variants`, formatRate(rate(ctm)), formatRate(rate(flagdOne)), formatRatio(rate(ctm), rate(flagdOne)));
  report.row(`${label} vs unleash-client flexibleRollout + variants`, formatRate(rate(ctm)), formatRate(rate(unleashEval)), formatRatio(rate(ctm), rate(unleashEval)));
  report.row(`${label} vs the fastest of those (${fastest.label}; goal ≥ 5×)`, formatRate(rate(ctm)), formatRate(rate(fastest)), formatRatio(rate(ctm), rate(fastest)));
  report.row(
    `Same, cold: every unit new (${formatRate(coldN)} distinct units, no hash memo hits) vs ${fastest.label}`,
    formatRate(rate(ctmCold)),
    formatRate(rate(fastest)),
    formatRatio(rate(ctmCold), rate(fastest)),
  );
  report.note(
    `In-process evaluation: one key with 5 rules (unit id regexes ${rollout.regexes.map((r) => `\`${r}\``).join(" and ")}, country in ${rollout.countries.join("/")}, plan = ${rollout.plan}, app_version ≥ ${rollout.minAppVersion}; about ${((units.filter(matchesRule).length / n) * 100).toFixed(1)}% of units match one), else ${rollout.percent}% by hash, then variants a/b/c weighted ${rollout.variants.map((v) => v.weight).join("/")}; ${formatRate(n)} contexts with distinct unit ids, cycled. ctm remembers each unit's two hashes per salt (up to 65,536 units; pure functions, so a cache, not a shortcut): cycling 10,000 units is the warm case, as in a service whose users come back; the cold row gives every evaluation a new unit, so ctm hashes twice each time, as the competitors always do. ` +
      `ctm: evaluate(record, context, Date.now()) from dist/ (tsc's build, as ctmd runs it) on a LogRecord whose rollout comes from buildRollout (RE2 regexes via re2js, two murmur3 hashes for units in the rollout). ` +
      `flagd-core ${pkgVersion("@openfeature/flagd-core")}: FlagdCore.resolveObjectEvaluation with JSON Logic targeting (starts_with/ends_with for the regexes, in, ==, sem_ver >=, then fractional; compiled mode), once with the percentage and the variant drawn by two independent fractionals as ctm does, once as a single fractional over stable + variants. ` +
      `unleash-client ${pkgVersion("unleash-client")}: Unleash.getVariant on an SDK bootstrapped from memory (no server, no metrics): 5 default strategies with one constraint each (REGEX ×2 on userId, IN, IN, SEMVER_GTE; constraints within a strategy are ANDed, so the rules are separate strategies), then flexibleRollout 50% sticky on userId, then feature variants weighted 500/300/200 sticky on userId. ` +
      `Each evaluator: ${evalSettings.warmupSeconds} s warm-up, then ${evalSettings.seconds} s in ${evalSettings.rounds} rounds interleaved with the others (same process, one thread), clock read every ${evalSettings.batch} evaluations.`,
  );
  report.note(`Evaluations/s per round (the rows use each evaluator's total): ${evaluators.map((e) => `${e.label} ${e.rounds.map(formatRate).join(", ")}`).join("; ")}.`);
  return { ctm: rate(ctm), fastestCompetitor: { label: fastest.label, rate: rate(fastest) } };
}

/** Runs batches until `ms` have passed. */
function run(batch: Batch, ms: number): { evals: number; ms: number; sink: number } {
  const t0 = performance.now();
  let evals = 0;
  let sink = 0;
  let t = t0;
  while (t - t0 < ms) {
    sink += batch(evalSettings.batch);
    evals += evalSettings.batch;
    t = performance.now();
  }
  return { evals, ms: t - t0, sink };
}

/**
 * Every unit once: no errors, every rule-matching unit gets a variant, and the shares of
 * stable/a/b/c are within 2 points of what the plan says (10,000 units: ±0.5 point is 1 σ).
 */
function sanity(e: Evaluator, units: UnitContext[], matching: number): { ok: boolean; text: string } {
  const counts = new Map<string, number>();
  let errors = 0;
  let firstError = "";
  let ruleUnitsLeftOut = 0;
  units.forEach((u, i) => {
    const v = e.assign(u, i);
    if (v.startsWith("error")) {
      errors++;
      firstError ||= v;
      return;
    }
    counts.set(v, (counts.get(v) ?? 0) + 1);
    if (matchesRule(u) && v === "stable") ruleUnitsLeftOut++;
  });
  const n = units.length;
  const r = matching / n;
  const inShare = r + (1 - r) * (rollout.percent / 100);
  const total = rollout.variants.reduce((s, v) => s + v.weight, 0);
  const expected = new Map<string, number>([["stable", 1 - inShare], ...rollout.variants.map((v): [string, number] => [v.name, (inShare * v.weight) / total])]);
  const known = [...counts.keys()].every((k) => expected.has(k));
  const off = Math.max(...[...expected].map(([k, want]) => Math.abs((counts.get(k) ?? 0) / n - want)));
  const shares = [...expected.keys()].map((k) => `${k} ${(((counts.get(k) ?? 0) / n) * 100).toFixed(1)}% (plan ${((expected.get(k)! as number) * 100).toFixed(1)}%)`).join(", ");
  const ok = errors === 0 && known && ruleUnitsLeftOut === 0 && off < 0.02;
  return {
    ok,
    text:
      `${n} units: ${shares}; ${matching} rule-matching units, ${ruleUnitsLeftOut} of them left on stable; ${errors} errors${firstError ? ` (${firstError})` : ""}` +
      (known ? "" : `; unexpected answers: ${[...counts.keys()].filter((k) => !expected.has(k)).join(", ")}`),
  };
}

function pkgVersion(name: string): string {
  try {
    const file = createRequire(import.meta.url).resolve(`${name}/package.json`);
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
}
