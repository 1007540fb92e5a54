import type { SlowrollFeature } from "../../domain/rollout/slowroll.js";
import { invalidArgument } from "../cli-error.js";

/**
 * The import/export format: plain values under "keys", slowroll features under "features",
 * and any other rolling value under "rollouts" as its new value and RolloutPlan (proto JSON).
 */
export interface ConfigDoc {
  keys: Record<string, unknown>;
  features?: Record<string, SlowrollFeature>;
  rollouts?: Record<string, { value: unknown; rollout: unknown }>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function section(doc: Record<string, unknown>, name: string): Record<string, unknown> {
  const s = doc[name] ?? {};
  if (!isObject(s)) throw invalidArgument(name, "must be an object of key -> entry");
  return s;
}

function checkFeature(f: unknown, field: string): SlowrollFeature {
  if (!isObject(f)) throw invalidArgument(field, "must be an object with stable, new, end_time and duration");
  for (const k of ["stable", "new", "end_time", "duration"]) if (!(k in f)) throw invalidArgument(`${field}.${k}`, "is required");
  if (typeof f.end_time !== "string") throw invalidArgument(`${field}.end_time`, "must be an RFC 3339 time string");
  if (typeof f.duration !== "string" && typeof f.duration !== "number") throw invalidArgument(`${field}.duration`, 'must be seconds or a duration like "72h"');
  const ea = f.early_adopters;
  if (ea !== undefined && !(Array.isArray(ea) && ea.every((u) => typeof u === "string"))) throw invalidArgument(`${field}.early_adopters`, "must be a list of unit ids");
  const unknown = Object.keys(f).find((k) => !["stable", "new", "early_adopters", "end_time", "duration"].includes(k));
  if (unknown) throw invalidArgument(`${field}.${unknown}`, "is not a slowroll field");
  return f as unknown as SlowrollFeature;
}

/** Checks a parsed import file: known sections only, well-formed features, every key in one section. */
export function parseConfigDoc(json: unknown): Required<ConfigDoc> {
  if (!isObject(json)) throw invalidArgument("file", 'must be a JSON object like {"keys": {...}, "features": {...}}');
  const extra = Object.keys(json).find((k) => !["keys", "features", "rollouts"].includes(k));
  if (extra) throw invalidArgument(extra, 'is not a section (use "keys", "features" or "rollouts")');
  const keys = section(json, "keys");
  const features = Object.fromEntries(Object.entries(section(json, "features")).map(([k, f]) => [k, checkFeature(f, `features.${k}`)]));
  const rollouts = section(json, "rollouts") as Record<string, { value: unknown; rollout: unknown }>;
  for (const [k, r] of Object.entries(rollouts)) {
    if (!isObject(r) || !("value" in r) || !isObject(r.rollout)) throw invalidArgument(`rollouts.${k}`, "must be {value, rollout}");
  }
  const seen = new Set<string>();
  for (const k of [...Object.keys(keys), ...Object.keys(features), ...Object.keys(rollouts)]) {
    if (seen.has(k)) throw invalidArgument(k, "appears in more than one section");
    seen.add(k);
  }
  return { keys, features, rollouts };
}
