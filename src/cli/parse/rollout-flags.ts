import { readFile } from "node:fs/promises";
import { InvalidArgumentError, Option, type Command } from "commander";
import type { RolloutPlan } from "../../gen/ctm/v1/rollout.js";
import { invalidArgument } from "../cli-error.js";
import { parseDurationMs, toPbDuration } from "./parse-duration.js";
import { parseJsonValue } from "./parse-json-value.js";
import { collect, parseNumber } from "./parse-numbers.js";
import { planFromJson } from "./plan-json.js";
import { parseTime } from "./parse-time.js";

export interface RolloutFlags {
  steps?: RolloutPlan["percentage"];
  ramp?: RolloutPlan["percentage"];
  earlyAdopters?: string[];
  ruleRegex?: string[];
  rings?: RolloutPlan["rings"];
  activateAt?: Date;
  variant?: string[];
  stable?: string;
  interpolate?: boolean;
  salt?: string;
  pin?: string[];
  plan?: string;
  allowPastStart?: boolean;
}

const list = (s: string): string[] => s.split(",").map((x) => x.trim()).filter((x) => x !== "");

function parseSteps(s: string): RolloutPlan["percentage"] {
  const [start, increment, interval, target, ...rest] = s.split(",");
  if (target === undefined || rest.length) throw new InvalidArgumentError("expected start,increment,interval,target (e.g. 10,10,5m,100)");
  return {
    $case: "steps",
    value: { start: parseNumber(start!, "start"), increment: parseNumber(increment!, "increment"), interval: toPbDuration(parseDurationMs(interval!)), target: parseNumber(target, "target") },
  };
}

function parseRamp(s: string): RolloutPlan["percentage"] {
  const [from, to, duration, ...rest] = s.split(",");
  if (duration === undefined || rest.length) throw new InvalidArgumentError("expected from,to,duration (e.g. 0,100,72h)");
  return { $case: "ramp", value: { from: parseNumber(from!, "from"), to: parseNumber(to!, "to"), duration: toPbDuration(parseDurationMs(duration)) } };
}

function parseRings(s: string): RolloutPlan["rings"] {
  const i = s.lastIndexOf(":");
  const order = list(i < 0 ? s : s.slice(0, i));
  if (order.length === 0) throw new InvalidArgumentError("expected ring names, e.g. dev,staging,prod:24h");
  return { order, interval: i < 0 ? undefined : toPbDuration(parseDurationMs(s.slice(i + 1))) };
}

const FLAGS = ["steps", "ramp", "earlyAdopters", "ruleRegex", "rings", "activateAt", "variant", "stable", "interpolate", "salt", "pin"];

/** The rollout flags of `set`; --plan (a whole RolloutPlan as JSON) excludes the others. */
export function addRolloutOptions(cmd: Command): Command {
  const opts = [
    new Option("--steps <start,increment,interval,target>", "percentage in steps, e.g. 10,10,5m,100 (negative increment ramps down)").argParser(parseSteps),
    new Option("--ramp <from,to,duration>", "a linear percentage ramp, e.g. 0,100,72h").argParser(parseRamp).conflicts("steps"),
    new Option("--early-adopters <a,b>", "units that get the new value first").argParser(list),
    new Option("--rule-regex <re2>", "units whose id matches get the new value (repeatable)").argParser(collect),
    new Option("--rings <dev,staging,prod[:interval]>", "environments in order; promoted every interval, or by hand").argParser(parseRings),
    new Option("--activate-at <time>", "nothing changes before this time").argParser((t) => parseTime(t)),
    new Option("--variant <name=weight:json>", "A/B/n variant, e.g. grid=50:'\"grid\"' (repeatable)").argParser(collect),
    new Option("--stable <json>", "what everyone else keeps getting (default: the current value)"),
    new Option("--interpolate", "numbers: everyone gets stable + (new - stable) * percentage"),
    new Option("--salt <salt>", "bucketing salt (default: the key)"),
    new Option("--pin <unit=serve>", 'lock a unit to "stable", "new" or a variant (repeatable)').argParser(collect),
    new Option("--plan <file.json>", "the whole RolloutPlan as proto JSON (instead of the flags above)").conflicts(FLAGS),
    new Option("--allow-past-start", "accept an --activate-at (or ramp start) in the past: milestones already due are written at once"),
  ];
  for (const o of opts) cmd.addOption(o.helpGroup("Rollout options:"));
  return cmd;
}

function parseVariant(text: string, asString: boolean): RolloutPlan["variants"][number] {
  const m = /^([^=]+)=(\d+):([\s\S]*)$/.exec(text);
  if (!m) throw invalidArgument("--variant", `"${text}" is not name=weight:json`);
  return { name: m[1]!, weight: Number(m[2]), value: parseJsonValue(m[3]!, `--variant ${m[1]}`, asString) };
}

function parsePin(text: string): RolloutPlan["pinned"][number] {
  const i = text.indexOf("=");
  if (i <= 0) throw invalidArgument("--pin", `"${text}" is not unit=serve`);
  return { unitId: text.slice(0, i), serve: text.slice(i + 1) };
}

/** The plan the flags describe, or undefined when none was given. `asString`: --stable and variant values are plain strings. */
export async function planFromFlags(o: RolloutFlags, asString: boolean): Promise<RolloutPlan | undefined> {
  if (o.plan !== undefined) {
    const text = await readFile(o.plan, "utf8");
    try {
      const plan = planFromJson(JSON.parse(text), o.plan);
      return o.allowPastStart ? { ...plan, allowPastStart: true } : plan;
    } catch (e) {
      if (e instanceof SyntaxError) throw invalidArgument(o.plan, `not JSON: ${e.message}`);
      throw e;
    }
  }
  if (!FLAGS.some((f) => o[f as keyof RolloutFlags] !== undefined)) return undefined;
  return {
    stable: o.stable === undefined ? undefined : parseJsonValue(o.stable, "--stable", asString),
    salt: o.salt ?? "",
    earlyAdopters: o.earlyAdopters ?? [],
    pinned: (o.pin ?? []).map(parsePin),
    rules: (o.ruleRegex ?? []).map((re) => ({ rule: { $case: "unitIdRegex", value: re } })),
    rings: o.rings,
    percentage: o.steps ?? o.ramp,
    activateAt: o.activateAt,
    variants: (o.variant ?? []).map((v) => parseVariant(v, asString)),
    interpolate: o.interpolate ?? false,
    allowPastStart: o.allowPastStart ?? false,
  };
}
