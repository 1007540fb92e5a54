import * as grpc from "@grpc/grpc-js";
import * as apb from "../../src/gen/ctm/v1/access_log_service.js";
import * as hpb from "../../src/gen/ctm/v1/health_check_service.js";
import * as vpb from "../../src/gen/ctm/v1/validator_service.js";
import type { RolloutPlan } from "../../src/gen/ctm/v1/rollout.js";
import { call, tokenMetadata } from "./client.js";
import type { Daemon } from "./daemon.js";

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (e: grpc.ServiceError | null, r: Res) => void) => grpc.ClientUnaryCall;
type Msg<T> = { fromPartial(o: object): T };
type Builtin = Date | ((...args: unknown[]) => unknown) | undefined;
/** Like the generated DeepPartial: nested messages may omit fields too (they take proto defaults). */
export type DeepPartial<T> = T extends Builtin
  ? T
  : T extends Array<infer U>
    ? Array<DeepPartial<U>>
    : T extends { $case: string; value: unknown }
      ? { $case: T["$case"]; value?: DeepPartial<T["value"]> }
      : T extends object
        ? { [K in keyof T]?: DeepPartial<T[K]> }
        : T;
const partial =
  <Req, Res>(fn: Unary<Req, Res>, type: Msg<Req>, token?: string) =>
  (r: DeepPartial<Req>): Promise<Res> =>
    call(fn, type.fromPartial(r as object), tokenMetadata(token));

/** ValidatorService facade: omitted fields take proto defaults. */
export function validatorApi(address: string, token?: string) {
  const c = new vpb.ValidatorServiceClient(address, grpc.credentials.createInsecure());
  return {
    client: c,
    setValidator: partial(c.setValidator.bind(c), vpb.SetValidatorRequest, token),
    deleteValidator: partial(c.deleteValidator.bind(c), vpb.DeleteValidatorRequest, token),
    listValidators: partial(c.listValidators.bind(c), vpb.ListValidatorsRequest, token),
    validate: partial(c.validate.bind(c), vpb.ValidateRequest, token),
  };
}

/** HealthCheckService facade. */
export function healthApi(address: string, token?: string) {
  const c = new hpb.HealthCheckServiceClient(address, grpc.credentials.createInsecure());
  return {
    client: c,
    setHealthCheck: partial(c.setHealthCheck.bind(c), hpb.SetHealthCheckRequest, token),
    deleteHealthCheck: partial(c.deleteHealthCheck.bind(c), hpb.DeleteHealthCheckRequest, token),
    listHealthChecks: partial(c.listHealthChecks.bind(c), hpb.ListHealthChecksRequest, token),
    reportMetrics: partial(c.reportMetrics.bind(c), hpb.ReportMetricsRequest, token),
    getHealthHistory: partial(c.getHealthHistory.bind(c), hpb.GetHealthHistoryRequest, token),
  };
}

/** AccessLogService facade. */
export function accessLogApi(address: string) {
  const c = new apb.AccessLogServiceClient(address, grpc.credentials.createInsecure());
  return {
    client: c,
    query: partial(c.queryAccessLog.bind(c), apb.QueryAccessLogRequest),
    upload: partial(c.uploadAccessLog.bind(c), apb.UploadAccessLogRequest),
    summarize: partial(c.summarizeAccessLog.bind(c), apb.SummarizeAccessLogRequest),
  };
}

/** A RolloutPlan with every repeated field present, so `fromPartial` callers may give only what they mean. */
export const plan = (p: Partial<RolloutPlan>): RolloutPlan =>
  ({ salt: "", earlyAdopters: [], pinned: [], rules: [], variants: [], interpolate: false, ...p }) as RolloutPlan;

export const seconds = (s: number) => ({ seconds: Math.trunc(s), nanos: Math.round((s % 1) * 1e9) });

/** Rule builders for validators. */
export const rule = {
  type: (value: vpb.ValueType, path = ""): vpb.ValidationRule => ({ path, rule: { $case: "type", value } }),
  range: (min: number | undefined, max: number | undefined, path = ""): vpb.ValidationRule => ({ path, rule: { $case: "range", value: { min, max } } }),
  oneOf: (values: unknown[], path = ""): vpb.ValidationRule => ({ path, rule: { $case: "oneOf", value: { values } } }),
  regex: (value: string, path = ""): vpb.ValidationRule => ({ path, rule: { $case: "regex", value } }),
  schema: (value: Record<string, unknown>, path = ""): vpb.ValidationRule => ({ path, rule: { $case: "jsonSchema", value } }),
};

/**
 * Polls `probe` until it returns something other than undefined; throws after
 * `ms` with the last value seen. A liveness bound, never a speed assertion.
 */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${ms} ms${last ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The daemon's /metrics address, from its "listening" log line. */
export function metricsAddress(d: Daemon): string {
  const line = d.logs.find((l) => l.msg === "listening");
  if (!line || typeof line.metrics !== "string" || line.metrics === "off") throw new Error("the daemon logged no metrics address");
  return line.metrics;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (what prom-client writes). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === "n" ? "\n" : c));
    const v = m[3]!;
    out.push({ name: m[1]!, labels, value: v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : Number(v) });
  }
  return out;
}

/** One scrape of GET /metrics: the body parsed, with a lookup that sums matching series. */
export async function scrape(metricsAddr: string) {
  const res = await fetch(`http://${metricsAddr}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const contentType = res.headers.get("content-type") ?? "";
  const text = await res.text();
  const samples = parseExposition(text);
  const series = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return {
    text,
    contentType,
    samples,
    series,
    /** Sum of every series of `name` whose labels include `labels`; 0 when there is none. */
    value: (name: string, labels: Record<string, string> = {}) => series(name, labels).reduce((a, s) => a + s.value, 0),
    has: (name: string) => samples.some((s) => s.name === name),
  };
}
