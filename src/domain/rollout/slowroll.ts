import { invalidArgument } from "../errors.js";
import type { JsonValue } from "../json.js";
import type { RolloutInput } from "./build-rollout.js";

/** One feature of the slowroll config format. */
export interface SlowrollFeature {
  stable: JsonValue;
  new: JsonValue;
  early_adopters?: string[];
  /** RFC 3339 time at which everyone has the new value. */
  end_time: string;
  /** Seconds, or a duration such as "72h", "90m", "1h30m", "45s". */
  duration: number | string;
}

/** Slowroll maps 1:1 onto a linear ramp 0 -> 100% ending at end_time, with early adopters first. */
export function fromSlowroll(f: SlowrollFeature, field = "feature"): { value: JsonValue; rollout: RolloutInput } {
  const endAt = Date.parse(f.end_time);
  if (Number.isNaN(endAt)) throw invalidArgument(`${field}.end_time`, `"${f.end_time}" is not an RFC 3339 time`);
  const durationMs = parseDurationMs(f.duration, `${field}.duration`);
  return {
    value: f.new,
    rollout: {
      stable: f.stable,
      earlyAdopters: f.early_adopters ?? [],
      percentage: { kind: "ramp", from: 0, to: 100, endAt, durationMs },
    },
  };
}

export function toSlowroll(value: JsonValue, r: { stable: JsonValue; earlyAdopters: string[]; percentage?: { kind: string; startAt?: number; endAt?: number } }): SlowrollFeature | undefined {
  const p = r.percentage;
  if (p?.kind !== "ramp" || p.startAt === undefined || p.endAt === undefined) return undefined;
  return { stable: r.stable, new: value, early_adopters: r.earlyAdopters, end_time: new Date(p.endAt).toISOString(), duration: (p.endAt - p.startAt) / 1000 };
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

export function parseDurationMs(d: number | string, field: string): number {
  if (typeof d === "number") {
    if (!(d > 0)) throw invalidArgument(field, "must be positive");
    return d * 1000;
  }
  const parts = [...d.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((m) => m[0]).join("") !== d) throw invalidArgument(field, `"${d}" is not a duration like "72h" or "1h30m"`);
  const ms = parts.reduce((sum, m) => sum + Number(m[1]) * UNIT_MS[m[2]!]!, 0);
  if (!(ms > 0)) throw invalidArgument(field, "must be positive");
  return ms;
}
