import { invalidArgument } from "../../domain/errors.js";
import type { HealthCheck } from "../../domain/health/health-check.js";
import type { CheckState } from "../../service/health-service.js";
import type { Duration } from "../../gen/google/protobuf/duration.js";
import {
  HealthAction,
  Verdict,
  type CheckState as PbCheckState,
  type HealthCheck as PbHealthCheck,
} from "../../gen/ctm/v1/health_check_service.js";

const ms = (d: Duration | undefined): number => (d === undefined ? 0 : d.seconds * 1000 + Math.floor(d.nanos / 1e6));
const duration = (m: number): Duration => ({ seconds: Math.trunc(m / 1000), nanos: (m % 1000) * 1e6 });

export function toHealthCheck(c: PbHealthCheck | undefined): HealthCheck {
  if (!c) throw invalidArgument("check", "is required");
  const s = c.source;
  const source: HealthCheck["source"] =
    s?.$case === "http"
      ? { kind: "http", url: s.value.url, expectStatus: s.value.expectStatus, ...(s.value.maxLatency && { maxLatencyMs: ms(s.value.maxLatency) }) }
      : s?.$case === "prometheus"
        ? { kind: "prometheus", url: s.value.url, query: s.value.query, ...(s.value.stableQuery && { stableQuery: s.value.stableQuery }) }
        : { kind: "pushed" };
  return {
    name: c.name,
    keys: c.keys,
    source,
    maxErrorRate: c.maxErrorRate,
    maxIncrease: c.maxIncrease,
    windowMs: ms(c.window),
    minSamples: c.minSamples,
    failuresToAct: c.failuresToAct,
    action: c.action === HealthAction.HEALTH_ACTION_PAUSE ? "pause" : "rollback",
    bakeMs: ms(c.bakeTime),
  };
}

export function toPbHealthCheck(c: HealthCheck): PbHealthCheck {
  const s = c.source;
  return {
    name: c.name,
    keys: c.keys,
    source:
      s.kind === "http"
        ? { $case: "http", value: { url: s.url, expectStatus: s.expectStatus, maxLatency: s.maxLatencyMs === undefined ? undefined : duration(s.maxLatencyMs) } }
        : s.kind === "prometheus"
          ? { $case: "prometheus", value: { url: s.url, query: s.query, stableQuery: s.stableQuery ?? "" } }
          : { $case: "pushed", value: {} },
    maxErrorRate: c.maxErrorRate,
    maxIncrease: c.maxIncrease,
    window: duration(c.windowMs),
    minSamples: c.minSamples,
    failuresToAct: c.failuresToAct,
    action: c.action === "pause" ? HealthAction.HEALTH_ACTION_PAUSE : HealthAction.HEALTH_ACTION_ROLLBACK,
    bakeTime: duration(c.bakeMs),
  };
}

const VERDICTS: Record<CheckState["verdict"], Verdict> = {
  healthy: Verdict.VERDICT_HEALTHY,
  failing: Verdict.VERDICT_FAILING,
  inconclusive: Verdict.VERDICT_INCONCLUSIVE,
  breached: Verdict.VERDICT_BREACHED,
};

export const toPbCheckState = (s: CheckState): PbCheckState => ({
  check: s.check,
  key: s.key,
  verdict: VERDICTS[s.verdict],
  canaryErrorRate: s.canaryRate,
  stableErrorRate: s.stableRate,
  canarySamples: s.canarySamples,
  stableSamples: s.stableSamples,
  consecutiveFailures: s.consecutive,
  checkedAt: new Date(s.checkedAt),
  detail: s.detail,
});
