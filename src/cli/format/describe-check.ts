import { healthActionToJSON, verdictToJSON, Verdict, type HealthCheck } from "../../gen/ctm/v1/health_check_service.js";
import { formatDuration } from "../parse/parse-duration.js";
import type { Colors } from "./colors.js";

/** 0.05 -> "5%". */
export const rate = (r: number): string => `${Number((r * 100).toFixed(2))}%`;

/** HEALTH_ACTION_PAUSE -> pause (unspecified is the default, rollback). */
export const actionName = (a: number): string => (a === 0 ? "rollback" : healthActionToJSON(a).replace(/^HEALTH_ACTION_/, "").toLowerCase());

/** VERDICT_BREACHED -> BREACHED, colored. */
export function verdictText(v: Verdict, c: Colors): string {
  const name = verdictToJSON(v).replace(/^VERDICT_/, "");
  return v === Verdict.VERDICT_HEALTHY ? c.green(name) : v === Verdict.VERDICT_FAILING ? c.yellow(name) : v === Verdict.VERDICT_BREACHED ? c.red(name) : c.dim(name);
}

/** "pushed", "http http://x/healthz (status 200, within 500ms)", "prometheus http://p:9090: <query>". */
export function describeSource(h: HealthCheck, max = 60): string {
  const s = h.source;
  const cut = (t: string) => (t.length > max ? `${t.slice(0, max - 1)}…` : t);
  switch (s?.$case) {
    case "http": {
      const cond = [`status ${s.value.expectStatus || 200}`, s.value.maxLatency ? `within ${formatDuration(s.value.maxLatency)}` : ""].filter(Boolean).join(", ");
      return `http ${s.value.url} (${cond})`;
    }
    case "prometheus":
      return [`prometheus ${s.value.url}`, `query ${cut(s.value.query)}`, s.value.stableQuery ? `stable ${cut(s.value.stableQuery)}` : ""].filter(Boolean).join("\n");
    default:
      return "pushed";
  }
}

/** "canary > 5%", "canary > 5% or > stable + 2%". */
export const describeThreshold = (h: HealthCheck): string =>
  `canary > ${rate(h.maxErrorRate)}${h.maxIncrease > 0 ? ` or > stable + ${rate(h.maxIncrease)}` : ""}`;

/** The whole check in one line, for `health set`. */
export const describeCheck = (h: HealthCheck): string =>
  [
    `keys ${h.keys.join(", ")}`,
    describeSource(h).replace(/\n/g, "; "),
    `fails when ${describeThreshold(h)}`,
    `window ${formatDuration(h.window)}, min ${h.minSamples} samples`,
    `${actionName(h.action)} after ${h.failuresToAct} failing tick${h.failuresToAct === 1 ? "" : "s"}`,
    h.bakeTime && h.bakeTime.seconds + h.bakeTime.nanos > 0 ? `bake ${formatDuration(h.bakeTime)}` : "",
  ]
    .filter(Boolean)
    .join("; ");
