export type CheckSource =
  | { kind: "pushed" }
  | { kind: "http"; url: string; expectStatus: number; maxLatencyMs?: number }
  | { kind: "prometheus"; url: string; query: string; stableQuery?: string };

export type HealthAction = "rollback" | "pause";

export interface HealthCheck {
  name: string;
  keys: string[];
  source: CheckSource;
  /** Canary error rate (0..1) above which a tick fails. */
  maxErrorRate: number;
  /** Allowed excess of canary over stable error rate when both have data; 0 disables. */
  maxIncrease: number;
  windowMs: number;
  minSamples: number;
  failuresToAct: number;
  action: HealthAction;
  /** Keep checking this long after a rollout finished. */
  bakeMs: number;
}

export const HEALTH_DEFAULTS = { windowMs: 60_000, minSamples: 20, failuresToAct: 3, expectStatus: 200 } as const;

/** Request and error counts of one population over the window. */
export interface Counts {
  requests: number;
  errors: number;
}

/** What a source saw: counts for pushed and probes, rates for Prometheus (samples unknown). */
export interface Observation {
  canary: Counts | { rate: number };
  stable?: Counts | { rate: number };
  /** Set when the source could not answer (probe error, query failure). */
  unavailable?: string;
}

export type Verdict = "healthy" | "failing" | "inconclusive";

export interface Judgement {
  verdict: Verdict;
  canaryRate: number;
  stableRate: number;
  canarySamples: number;
  stableSamples: number;
  detail: string;
}
