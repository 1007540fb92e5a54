import type { JsonValue } from "../json.js";

/** Attribute comparisons; the semver ones compare versions like "2.3.1". */
export type AttributeOp =
  | "equals"
  | "not_equals"
  | "in"
  | "not_in"
  | "semver_eq"
  | "semver_gt"
  | "semver_gte"
  | "semver_lt"
  | "semver_lte";

export type Rule = { unitIdRegex: string } | { attribute: string; op: AttributeOp; values: string[] };

/**
 * How the share of units moves over time. Steps count from the rollout's
 * origin; a ramp runs between absolute times. Either may go down.
 */
export type Percentage =
  | { kind: "steps"; start: number; increment: number; intervalMs: number; target: number }
  | { kind: "ramp"; from: number; to: number; startAt: number; endAt: number };

export interface Variant {
  name: string;
  weight: number;
  value: JsonValue;
}

export interface RolloutPlan {
  /** Served to units outside the rollout. */
  stable: JsonValue;
  /** Bucketing salt: the key unless set; fixed for the rollout's life so assignments stick. */
  salt: string;
  earlyAdopters: string[];
  /** `serve` is "stable", "new" or a variant name. */
  pinned: { unitId: string; serve: string }[];
  rules: Rule[];
  /** Environments in order; `intervalMs` 0 means promoted by hand. */
  rings?: { order: string[]; intervalMs: number };
  percentage?: Percentage;
  activateAt?: number;
  variants: Variant[];
  interpolate: boolean;
}

/** What control actions and the scheduler change; the plan itself never changes. */
export interface RolloutState {
  /** The plan's clock origin: activation, or when the rollout was written. */
  startedAt: number;
  /** Real time the clock was frozen at. */
  pausedAt?: number;
  /** Plan clock = real clock + shiftMs (pauses subtract, promotions add). */
  shiftMs: number;
  promotedRings: number;
  killed: boolean;
  /** Milestones already written to the log. */
  milestones: number;
}

export interface Rollout {
  plan: RolloutPlan;
  state: RolloutState;
}

export interface EvalContext {
  unitId: string;
  environment: string;
  attributes: Readonly<Record<string, string>>;
  requestId?: string;
}

export const EMPTY_CONTEXT: EvalContext = { unitId: "", environment: "", attributes: {} };

export type Reason =
  | "static"
  | "early_adopter"
  | "pinned"
  | "rule_match"
  | "in_rollout"
  | "out_of_rollout"
  | "scheduled_not_yet"
  | "ring_not_reached"
  | "variant"
  | "rolled_back";

export interface Resolution {
  value: JsonValue | undefined;
  /** "stable", "new", a variant's name, or "" for a static value. */
  variant: string;
  reason: Reason;
}

export const STABLE = "stable";
export const NEW = "new";
