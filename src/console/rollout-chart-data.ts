import type { Entry, HealthHistoryResponse, Milestone, StatusResponse, SummarizeAccessLogResponse } from "./api-types.js";
import { formatTime, kindLabel, whoText } from "./format.js";
import type { ChartData, ChartMark, HealthPoint, ShareBucket } from "./rollout-chart.js";

/** Records drawn as marks on the chart, with their label. */
const MARKS: Record<string, string> = {
  RECORD_KIND_ROLLOUT_PAUSED: "paused",
  RECORD_KIND_ROLLOUT_RESUMED: "resumed",
  RECORD_KIND_ROLLOUT_PROMOTED: "promoted",
  RECORD_KIND_ROLLOUT_KILLED: "killed",
  RECORD_KIND_ROLLOUT_ABORTED: "aborted",
  RECORD_KIND_ROLLOUT_FINALIZED: "finalized",
  RECORD_KIND_AUTO_ROLLBACK: "auto-rollback",
  RECORD_KIND_ROLLBACK: "rolled back",
};

export interface ChartInput {
  /** The entry that carries the plan: the current one while rolling, else the last that did. */
  withPlan: Entry;
  milestones: Milestone[];
  status: StatusResponse;
  /** The key's records, newest first. */
  history: Entry[];
  start: number;
  now: number;
  summary: SummarizeAccessLogResponse;
  health: HealthHistoryResponse;
}

/**
 * The chart's data from the API's answers: the plan's milestones (with the due times last seen),
 * the access log's buckets as each variant's share, the health loop's ticks, and the control
 * records of the key's history since the rollout started.
 */
export function rolloutChartData({ withPlan, milestones, status, history, start, now, summary, health }: ChartInput): ChartData {
  const lastDue = Math.max(now, ...milestones.filter((m) => m.dueTime).map((m) => Date.parse(m.dueTime!)));
  const buckets = summary.buckets ?? [];
  const width = buckets.length > 1 ? Date.parse(buckets[1]!.startTime) - Date.parse(buckets[0]!.startTime) : 60_000;
  const variants = new Set<string>();
  const shareBuckets: ShareBucket[] = buckets.map((b) => {
    const counts = Object.entries(b.variants ?? {}).map(([v, n]) => [v, Number(n)] as const);
    const total = counts.reduce((a, [, n]) => a + n, 0);
    const shares = counts.filter(([v, n]) => v !== "stable" && n > 0).map(([variant, count]) => ({ variant: variant || "value", count, pct: (count / total) * 100 }));
    for (const sh of shares) variants.add(sh.variant);
    return { t: Date.parse(b.startTime), width, total, shares };
  });
  // proto3 JSON leaves a rate of 0 out: the sample counts say whether there was one.
  const rate = (r: number | undefined, samples: string | undefined) => (Number(samples ?? 0) > 0 ? (r ?? 0) : undefined);
  const points: HealthPoint[] = (health.points ?? []).map((p) => ({ t: Date.parse(p.checkedAt ?? ""), check: p.check ?? "", verdict: p.verdict ?? "", canary: rate(p.canaryErrorRate, p.canarySamples), stable: rate(p.stableErrorRate, p.stableSamples) }));
  const marks: ChartMark[] = history
    .filter((e) => MARKS[e.kind ?? ""] !== undefined && Date.parse(e.time ?? "") >= start)
    .map((e) => ({ t: Date.parse(e.time!), label: `${MARKS[e.kind!]}${e.cause && e.cause !== "api" ? ` (${e.cause})` : ""}`, title: `v${e.version} ${kindLabel(e.kind)} by ${whoText(e)} at ${formatTime(e.time)}${e.message ? `: ${e.message}` : ""}` }))
    .reverse();
  const p = withPlan.rollout?.plan;
  return {
    start,
    end: Math.max(lastDue, start + 60_000),
    now,
    // With no due time known (a plan first seen paused), the line holds where ctmd says it is.
    initial: milestones.every((m) => m.dueTime === undefined) && status.active ? (status.percentage ?? 0) : p?.steps ? (p.steps.start ?? 0) : p?.ramp ? (p.ramp.from ?? 0) : 100,
    ramp: p?.ramp !== undefined,
    milestones,
    current: status.active ? (status.percentage ?? 0) : undefined,
    buckets: shareBuckets,
    variants: [...variants],
    health: points,
    marks,
  };
}
