import { invalidArgument } from "../errors.js";
import type { JsonValue } from "@ctm/core/json";
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
  const endAt = parseRfc3339(f.end_time);
  if (endAt === undefined) throw invalidArgument(`${field}.end_time`, `"${f.end_time}" is not an RFC 3339 time`);
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

/** A plan part slowroll cannot express: present and non-empty. */
const uses = (x: unknown): boolean => x !== undefined && x !== false && !(Array.isArray(x) && x.length === 0);

/**
 * The slowroll form of a plan, or undefined when slowroll cannot express it: only a
 * 0 -> 100% ramp with early adopters maps back, so fromSlowroll(toSlowroll(x)) is x.
 */
export function toSlowroll(
  value: JsonValue,
  r: {
    stable: JsonValue;
    earlyAdopters: string[];
    percentage?: { kind: string; from?: number; to?: number; startAt?: number; endAt?: number };
    pinned?: unknown[];
    rules?: unknown[];
    rings?: unknown;
    variants?: unknown[];
    activateAt?: number;
    interpolate?: boolean;
  },
): SlowrollFeature | undefined {
  const p = r.percentage;
  if (p?.kind !== "ramp" || p.startAt === undefined || p.endAt === undefined) return undefined;
  if (p.from !== 0 || p.to !== 100) return undefined;
  if ([r.pinned, r.rules, r.rings, r.variants, r.activateAt, r.interpolate].some(uses)) return undefined;
  return { stable: r.stable, new: value, early_adopters: r.earlyAdopters, end_time: new Date(p.endAt).toISOString(), duration: (p.endAt - p.startAt) / 1000 };
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

// RFC 3339 section 5.6: a full date, a time and an offset. Date.parse alone also takes
// "March 1, 2024", and reads a time without an offset in the machine's local zone.
// It also rolls "2024-02-30" over into March: the fields are range-checked first.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

export function parseRfc3339(s: string): number | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth || h > 23 || mi > 59 || sec > 59) return undefined;
  if (m[8] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59)) return undefined;
  const ms = Date.parse(s.toUpperCase().replace(" ", "T"));
  return Number.isNaN(ms) ? undefined : ms;
}

export function parseDurationMs(d: number | string, field: string): number {
  if (typeof d === "number") {
    if (!(d > 0) || !Number.isFinite(d)) throw invalidArgument(field, "must be a positive, finite number of seconds");
    return d * 1000;
  }
  const parts = [...d.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((m) => m[0]).join("") !== d) throw invalidArgument(field, `"${d}" is not a duration like "72h" or "1h30m"`);
  const ms = parts.reduce((sum, m) => sum + Number(m[1]) * UNIT_MS[m[2]!]!, 0);
  if (!(ms > 0) || !Number.isFinite(ms)) throw invalidArgument(field, "must be positive and finite");
  return ms;
}
