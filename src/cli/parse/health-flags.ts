import { InvalidArgumentError, Option, type Command } from "commander";
import { HealthAction, HealthCheck } from "../../gen/ctm/v1/health_check_service.js";
import { invalidArgument } from "../cli-error.js";
import { parseDurationMs, toPbDuration } from "./parse-duration.js";
import { parsePositive } from "./parse-numbers.js";

export interface HealthFlags {
  keys?: string[];
  pushed?: boolean;
  http?: string;
  expectStatus?: number;
  maxLatency?: number;
  prometheus?: string;
  query?: string;
  stableQuery?: string;
  maxErrorRate?: number;
  maxIncrease?: number;
  window?: number;
  minSamples?: number;
  failuresToAct?: number;
  action?: "rollback" | "pause";
  bake?: number;
  file?: string;
}

const list = (s: string): string[] => s.split(",").map((x) => x.trim()).filter((x) => x !== "");

/** A rate from 0 to 1: 0.05, or 5%. */
export function parseRate(text: string): number {
  const t = text.trim();
  const pct = t.endsWith("%");
  const n = Number(pct ? t.slice(0, -1) : t);
  const rate = pct ? n / 100 : n;
  if (t === "" || t === "%" || !Number.isFinite(rate) || rate < 0 || rate > 1) throw new InvalidArgumentError(`"${text}" is not a rate from 0 to 1 (0.05 or 5%)`);
  return rate;
}

const SOURCE_FLAGS = ["pushed", "http", "prometheus"];
const HTTP_FLAGS = ["expectStatus", "maxLatency"];
const PROMETHEUS_FLAGS = ["query", "stableQuery"];
/** Every flag of the definition that --file replaces (not the name or --keys). */
export const CHECK_FLAGS = [...SOURCE_FLAGS, ...HTTP_FLAGS, ...PROMETHEUS_FLAGS, "maxErrorRate", "maxIncrease", "window", "minSamples", "failuresToAct", "action", "bake"];

export function addHealthOptions(cmd: Command): Command {
  const source = "Source (one of):";
  const judge = "Judgement:";
  const opts: [Option, string][] = [
    [new Option("--keys <globs>", "comma-separated key globs the check watches: * within a segment, ** across").argParser(list), "Options:"],
    [new Option("--pushed", "services push request and error counts (ctm health report, ReportMetrics)").conflicts(["http", "prometheus"]), source],
    [new Option("--http <url>", "GET this URL every tick; a wrong status or a slow answer is an error").conflicts("prometheus"), source],
    [new Option("--expect-status <n>", "with --http: the status expected (default 200)").argParser(parsePositive), source],
    [new Option("--max-latency <duration>", "with --http: slower answers are errors (500ms, 2s)").argParser(parseDurationMs), source],
    [new Option("--prometheus <url>", "base URL of a Prometheus HTTP API, with --query"), source],
    [new Option("--query <promql>", "with --prometheus: the canary's error rate ({{key}} is replaced by the key)"), source],
    [new Option("--stable-query <promql>", "with --prometheus: the stable population's error rate, to compare"), source],
    [new Option("--max-error-rate <rate>", "fail when the canary's error rate is above this (0.05 or 5%)").argParser(parseRate), judge],
    [new Option("--max-increase <rate>", "fail when the canary's rate is above stable's by more than this").argParser(parseRate), judge],
    [new Option("--window <duration>", "samples older than this are forgotten (default 60s)").argParser(parseDurationMs), judge],
    [new Option("--min-samples <n>", "fewer canary samples in the window: inconclusive (default 20)").argParser(parsePositive), judge],
    [new Option("--failures-to-act <n>", "consecutive failing ticks before acting (default 3)").argParser(parsePositive), judge],
    [new Option("--action <action>", "what a breach does (default rollback)").choices(["rollback", "pause"]), judge],
    [new Option("--bake <duration>", "keep checking this long after a rollout finishes (10m)").argParser(parseDurationMs), judge],
    [new Option("--file <check.json>", "the whole HealthCheck as proto JSON (- for stdin); <name> and --keys override it").conflicts(CHECK_FLAGS), "Options:"],
  ];
  for (const [o, group] of opts) cmd.addOption(o.helpGroup(group));
  return cmd;
}

/** A usage problem of the health flags (exit 2), or undefined. */
export function healthFlagsProblem(o: HealthFlags): string | undefined {
  if (o.file !== undefined) return undefined;
  const sources = SOURCE_FLAGS.filter((f) => o[f as keyof HealthFlags] !== undefined);
  if (sources.length === 0) return "error: give a source: --pushed, --http <url> or --prometheus <url> --query <promql> (or --file)";
  if (o.http === undefined && HTTP_FLAGS.some((f) => o[f as keyof HealthFlags] !== undefined)) return "error: --expect-status and --max-latency need --http";
  if (o.prometheus === undefined && PROMETHEUS_FLAGS.some((f) => o[f as keyof HealthFlags] !== undefined)) return "error: --query and --stable-query need --prometheus";
  if (o.prometheus !== undefined && o.query === undefined) return "error: --prometheus needs --query <promql>";
  if (o.maxErrorRate === undefined) return "error: required option '--max-error-rate <rate>' not specified (or --file)";
  return undefined;
}

export function checkFromFlags(name: string, o: HealthFlags): HealthCheck {
  const d = (ms: number | undefined) => (ms === undefined ? undefined : toPbDuration(ms));
  const source: HealthCheck["source"] =
    o.http !== undefined
      ? { $case: "http", value: { url: o.http, expectStatus: o.expectStatus ?? 0, maxLatency: d(o.maxLatency) } }
      : o.prometheus !== undefined
        ? { $case: "prometheus", value: { url: o.prometheus, query: o.query ?? "", stableQuery: o.stableQuery ?? "" } }
        : { $case: "pushed", value: {} };
  return {
    name,
    keys: o.keys ?? [],
    source,
    maxErrorRate: o.maxErrorRate ?? 0,
    maxIncrease: o.maxIncrease ?? 0,
    window: d(o.window),
    minSamples: o.minSamples ?? 0,
    failuresToAct: o.failuresToAct ?? 0,
    action: o.action === "pause" ? HealthAction.HEALTH_ACTION_PAUSE : HealthAction.HEALTH_ACTION_ROLLBACK,
    bakeTime: d(o.bake),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Canonical proto JSON writes durations as "60s"; ts-proto's fromJSON wants {seconds, nanos}. Both are accepted. */
function duration(o: Record<string, unknown>, key: string, field: string): void {
  const v = o[key];
  if (typeof v !== "string") return;
  try {
    o[key] = toPbDuration(v.trim() === "0s" || v.trim() === "0" ? 0 : parseDurationMs(v));
  } catch (e) {
    throw invalidArgument(`${field}.${key}`, (e as Error).message);
  }
}

/**
 * A HealthCheck from its proto JSON (camelCase or snake_case), or a SetHealthCheckRequest-shaped
 * {"check": {...}}; "action" may be "rollback"/"pause" or HEALTH_ACTION_*.
 */
export function checkFromJson(json: unknown, field: string): HealthCheck {
  const doc = isObject(json) && isObject(json.check) ? json.check : json;
  if (!isObject(doc)) throw invalidArgument(field, "must be a JSON object (a HealthCheck)");
  const c = structuredClone(doc);
  for (const k of ["window", "bake_time", "bakeTime"]) duration(c, k, field);
  if (isObject(c.http)) for (const k of ["max_latency", "maxLatency"]) duration(c.http, k, `${field}.http`);
  if (c.action === "rollback" || c.action === "pause") c.action = c.action === "pause" ? "HEALTH_ACTION_PAUSE" : "HEALTH_ACTION_ROLLBACK";
  const check = HealthCheck.fromJSON(c);
  if (check.action === HealthAction.UNRECOGNIZED) throw invalidArgument(`${field}.action`, `${JSON.stringify(doc.action)} is not rollback or pause`);
  return check;
}
