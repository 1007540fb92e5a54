import { RolloutPlan } from "../../gen/ctm/v1/rollout.js";
import { invalidArgument } from "../cli-error.js";
import { parseDurationMs, toPbDuration } from "./parse-duration.js";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Canonical proto JSON writes durations as "300s"; ts-proto's fromJSON wants {seconds, nanos}. Both are accepted. */
function duration(v: unknown, field: string): unknown {
  if (typeof v !== "string") return v;
  try {
    return toPbDuration(parseDurationMs(v));
  } catch (e) {
    throw invalidArgument(field, (e as Error).message);
  }
}

/** A RolloutPlan from its proto JSON (camelCase or snake_case field names). */
export function planFromJson(json: unknown, field = "rollout"): RolloutPlan {
  if (!isObject(json)) throw invalidArgument(field, "must be a JSON object (a RolloutPlan)");
  const p = structuredClone(json);
  for (const [part, key] of [["steps", "interval"], ["rings", "interval"], ["ramp", "duration"]] as const) {
    const o = p[part];
    if (isObject(o) && key in o) o[key] = duration(o[key], `${field}.${part}.${key}`);
  }
  return RolloutPlan.fromJSON(p);
}
