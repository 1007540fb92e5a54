import type { Counts, HealthCheck, Judgement, Observation } from "./health-check.js";

const rateOf = (x: Counts | { rate: number }): number => ("rate" in x ? x.rate : x.requests === 0 ? 0 : x.errors / x.requests);
/** Prometheus answers rates, not counts: a rate counts as enough samples. */
const samplesOf = (x: Counts | { rate: number }, min: number): number => ("rate" in x ? (Number.isFinite(x.rate) ? min : 0) : x.requests);
const pct = (r: number): string => `${(r * 100).toFixed(2)}%`;

/**
 * One tick's verdict: inconclusive without enough canary samples; failing when
 * the canary's error rate is above the threshold, or above stable's by more
 * than `maxIncrease` when stable has enough samples too.
 */
export function judge(check: HealthCheck, obs: Observation): Judgement {
  const canaryRate = rateOf(obs.canary);
  const canarySamples = samplesOf(obs.canary, check.minSamples);
  const stableRate = obs.stable ? rateOf(obs.stable) : 0;
  const stableSamples = obs.stable ? samplesOf(obs.stable, check.minSamples) : 0;
  const base = { canaryRate, stableRate, canarySamples, stableSamples };
  if (obs.unavailable) return { ...base, verdict: "inconclusive", detail: obs.unavailable };
  if (canarySamples < check.minSamples) {
    return { ...base, verdict: "inconclusive", detail: `${canarySamples} canary samples, fewer than ${check.minSamples}` };
  }
  if (canaryRate > check.maxErrorRate) {
    return { ...base, verdict: "failing", detail: `canary error rate ${pct(canaryRate)} > threshold ${pct(check.maxErrorRate)} (${canarySamples} samples)` };
  }
  if (check.maxIncrease > 0 && stableSamples >= check.minSamples && canaryRate - stableRate > check.maxIncrease) {
    return {
      ...base,
      verdict: "failing",
      detail: `canary error rate ${pct(canaryRate)} exceeds stable ${pct(stableRate)} by more than ${pct(check.maxIncrease)}`,
    };
  }
  return { ...base, verdict: "healthy", detail: `canary error rate ${pct(canaryRate)} within limits` };
}
