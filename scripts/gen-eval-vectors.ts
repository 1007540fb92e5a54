#!/usr/bin/env node
// Writes test/vectors/evaluation.json: (entry, context, time) -> (value, variant, reason) cases
// that pin what a unit is served, for every SDK that evaluates locally.
//
//   npx tsx scripts/gen-eval-vectors.ts            # rewrite the file
//   npx tsx scripts/gen-eval-vectors.ts --check    # fail if the file would change
//
// Every answer comes from the daemon's own domain code: plans are checked and built by
// buildRollout (as SetRollout builds them), entries are what the daemon sends (toEntry, in
// protobuf's canonical JSON), and answers are what evaluate() serves. The output is
// deterministic: fixed plans, units and moments. A port that disagrees is wrong; the file is
// never regenerated to make one pass.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { JsonValue } from "@ctm/core/json";
import type { LogRecord, RecordKind } from "@ctm/core/record";
import { buildRollout, type RolloutInput } from "../src/domain/rollout/build-rollout.js";
import { evaluate } from "@ctm/core/rollout/evaluate";
import type { EvalContext, Rollout } from "@ctm/core/rollout/plan";
import { Entry } from "../src/gen/ctm/v1/record.js";
import { toEntry } from "../src/transport/grpc/entry-mapper.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "test/vectors/evaluation.json");
// The Go package's tests read their own copy, so that they pass wherever the package is copied.
const goCopy = join(root, "clients/go/ctm/testdata/evaluation.json");

/** 2026-03-01T00:00:00Z: every plan's clock starts here unless it says otherwise. */
const T0 = Date.UTC(2026, 2, 1);
const MIN = 60_000;
const HOUR = 60 * MIN;

interface Spec {
  name: string;
  value: JsonValue;
  stable?: JsonValue;
  kind?: RecordKind;
  plan?: RolloutInput;
  /** What control actions did to the state since (pause, shift, promote, kill). */
  state?: Partial<Rollout["state"]>;
  /** Moments to evaluate at, as offsets from T0. */
  at: number[];
  /** Contexts beyond the shared ones. */
  contexts?: EvalContext[];
}

const ctx = (unitId: string, environment = "", attributes: Record<string, string> = {}): EvalContext => ({ unitId, environment, attributes });

// Units every record is evaluated for: ASCII, accented, CJK, emoji (astral), empty, long, a lone
// surrogate (bucketed as U+FFFD, as TextEncoder encodes it), and ids that rules below match.
const UNITS = ["user-1", "user-2", "alice", "Zoë", "用户-42", "🚀-rocket", "", "x".repeat(200), "qa-tester", "prod-canary", "u-7", "u-8", "u-9", "u-10", "\ud800-lone"];
const SHARED: EvalContext[] = UNITS.map((u, i) => ctx(u, ["prod", "staging", "dev", ""][i % 4]!, i % 3 === 0 ? { country: "NZ", plan: "enterprise", app_version: "9.1.0" } : { country: "US", app_version: "8.9.9-beta.1" }));

const steps = { kind: "steps" as const, start: 10, increment: 20, intervalMs: HOUR, target: 90 };
const specs: Spec[] = [
  { name: "static value", value: { theme: "dark", limit: 10 }, at: [0] },
  { name: "static after a rollback", value: "old", kind: "rollback", at: [0] },
  { name: "static after an auto rollback", value: 3, kind: "auto_rollback", at: [0] },
  { name: "static after an aborted rollout", value: true, kind: "rollout_aborted", at: [0] },
  { name: "fixed 50%", value: true, stable: false, plan: { percentage: { kind: "steps", start: 50, increment: 50, intervalMs: 1000 * HOUR, target: 100 } }, at: [0, 5 * HOUR] },
  { name: "steps 10 -> 90 by 20 an hour", value: "new", stable: "old", plan: { percentage: steps }, at: [0, HOUR - 1, HOUR, HOUR + 1, 2 * HOUR, 4 * HOUR - 1, 4 * HOUR, 10 * HOUR] },
  { name: "steps down 80 -> 5", value: 2, stable: 1, plan: { percentage: { kind: "steps", start: 80, increment: -25, intervalMs: 30 * MIN, target: 5 } }, at: [0, 30 * MIN, 60 * MIN, 90 * MIN, 120 * MIN, 200 * MIN] },
  { name: "fractional steps 0.001 -> 0.005", value: "on", stable: "off", plan: { percentage: { kind: "steps", start: 0.001, increment: 0.001, intervalMs: MIN, target: 0.005 } }, at: [0, 2 * MIN, 10 * MIN] },
  { name: "ramp 0 -> 100 over 10 hours", value: "b", stable: "a", plan: { percentage: { kind: "ramp", from: 0, to: 100, startAt: T0 + HOUR, endAt: T0 + 11 * HOUR }, allowPastStart: true }, at: [0, HOUR, HOUR + 1, 3 * HOUR + 17_777, 6 * HOUR, 11 * HOUR - 1, 11 * HOUR, 20 * HOUR] },
  { name: "ramp down 100 -> 0", value: "b", stable: "a", plan: { percentage: { kind: "ramp", from: 100, to: 0, startAt: T0, endAt: T0 + 4 * HOUR }, allowPastStart: true }, at: [0, HOUR, 2 * HOUR + 333, 4 * HOUR] },
  { name: "interpolated integers", value: 100, stable: 10, plan: { percentage: { kind: "ramp", from: 0, to: 100, startAt: T0, endAt: T0 + 3 * HOUR }, interpolate: true, allowPastStart: true }, at: [0, HOUR, 90 * MIN + 1, 3 * HOUR] },
  { name: "interpolated decimals", value: 0.9, stable: 0.1, plan: { percentage: { kind: "ramp", from: 0, to: 100, startAt: T0, endAt: T0 + 3 * HOUR }, interpolate: true, allowPastStart: true }, at: [0, HOUR, 2 * HOUR + 7, 3 * HOUR] },
  { name: "scheduled activation", value: "v2", stable: "v1", plan: { activateAt: T0 + 2 * HOUR, percentage: steps, allowPastStart: true }, at: [0, 2 * HOUR - 1, 2 * HOUR, 3 * HOUR] },
  { name: "rings by time", value: "next", stable: "prev", plan: { rings: { order: ["dev", "staging", "prod"], intervalMs: HOUR } }, at: [0, HOUR, 2 * HOUR, 5 * HOUR] },
  { name: "rings by hand, promoted once", value: "next", stable: "prev", plan: { rings: { order: ["dev", "staging", "prod"] }, percentage: { kind: "steps", start: 50, increment: 50, intervalMs: HOUR, target: 100 } }, state: { promotedRings: 1 }, at: [0, HOUR] },
  { name: "early adopters and pins", value: "new-ui", stable: "old-ui", plan: { earlyAdopters: ["alice", "Zoë"], pinned: [{ unitId: "user-1", serve: "stable" }, { unitId: "用户-42", serve: "new" }, { unitId: "u-7", serve: "blue" }], variants: [{ name: "blue", weight: 1, value: "blue-ui" }, { name: "green", weight: 3, value: "green-ui" }], percentage: { kind: "steps", start: 0, increment: 10, intervalMs: HOUR, target: 30 } }, at: [0, 2 * HOUR] },
  {
    name: "unit id rules (RE2)",
    value: 1,
    stable: 0,
    plan: { rules: [{ unitIdRegex: "^qa-" }, { unitIdRegex: "-canary$" }, { unitIdRegex: "^用户-\\d+$" }, { unitIdRegex: "^[[:alpha:]]+$" }, { unitIdRegex: "(?i)^U-1\\d$" }], percentage: { kind: "steps", start: 0, increment: 10, intervalMs: 1000 * HOUR, target: 10 } },
    at: [0],
    contexts: ["QA-x", "u-1", "u-19", "abc", "abc1", "用户-", "用户-7", "x-canary", "x-canary-2", "Ünïcode"].map((u) => ctx(u)),
  },
  {
    name: "attribute rules",
    value: "on",
    stable: "off",
    plan: {
      rules: [
        { attribute: "country", op: "in", values: ["NZ", "AU"] },
        { attribute: "plan", op: "equals", values: ["enterprise"] },
        { attribute: "tier", op: "not_equals", values: ["free"] },
        { attribute: "region", op: "not_in", values: ["eu", "us"] },
      ],
      percentage: { kind: "steps", start: 0, increment: 10, intervalMs: 1000 * HOUR, target: 10 },
    },
    at: [0],
    contexts: [
      ctx("a", "", { country: "AU" }),
      ctx("b", "", { country: "nz" }),
      ctx("c", "", { plan: "enterprise", tier: "free", region: "eu" }),
      ctx("d", "", { tier: "free", region: "us" }),
      ctx("e", "", { tier: "pro", region: "eu" }),
      ctx("f", "", { tier: "free", region: "apac" }),
      ctx("g", "", { tier: "free" }),
    ],
  },
  {
    name: "semver rules",
    value: "new-sdk",
    stable: "old-sdk",
    plan: {
      rules: [
        { attribute: "app_version", op: "semver_gte", values: ["9.0.0"] },
        { attribute: "os_version", op: "semver_lt", values: ["2.0.0-rc.1"] },
        { attribute: "build", op: "semver_eq", values: ["1.2.3"] },
        { attribute: "agent", op: "semver_gt", values: ["3.4.5"] },
        { attribute: "kernel", op: "semver_lte", values: ["5.10.0"] },
      ],
      percentage: { kind: "steps", start: 0, increment: 10, intervalMs: 1000 * HOUR, target: 10 },
    },
    at: [0],
    contexts: [
      ctx("s1", "", { app_version: "9.0.0" }),
      ctx("s2", "", { app_version: "9.0.0-beta.2" }),
      ctx("s3", "", { app_version: "v10.1.0" }),
      ctx("s4", "", { app_version: "8.99.99" }),
      ctx("s5", "", { app_version: "9.0" }),
      ctx("s6", "", { app_version: "09.0.0" }),
      ctx("s7", "", { os_version: "2.0.0-beta.11" }),
      ctx("s8", "", { os_version: "2.0.0-rc.1" }),
      ctx("s9", "", { os_version: "2.0.0-rc.1.1" }),
      ctx("s10", "", { os_version: "1.99.0" }),
      ctx("s11", "", { build: "1.2.3+build.7" }),
      ctx("s12", "", { build: " 1.2.3 " }),
      ctx("s13", "", { agent: "3.4.5" }),
      ctx("s14", "", { agent: "3.4.6-alpha" }),
      ctx("s15", "", { kernel: "5.10.0" }),
      ctx("s16", "", { kernel: "5.10.0-1" }),
      ctx("s17", "", { kernel: "not-a-version" }),
      ctx("s18", "", { kernel: "5.10.1" }),
    ],
  },
  { name: "variants by weight", value: "control", stable: "off", plan: { variants: [{ name: "a", weight: 50, value: { color: "red" } }, { name: "b", weight: 30, value: { color: "green" } }, { name: "c", weight: 20, value: { color: "blue" } }, { name: "never", weight: 0, value: null }], percentage: { kind: "steps", start: 50, increment: 50, intervalMs: HOUR, target: 100 } }, at: [0, HOUR] },
  { name: "variants for everyone", value: 0, stable: -1, plan: { variants: [{ name: "x", weight: 1, value: 1 }, { name: "y", weight: 1, value: 2 }], rules: [{ unitIdRegex: "^u-" }] }, at: [0] },
  { name: "paused at 30%", value: "new", stable: "old", plan: { percentage: steps }, state: { pausedAt: T0 + HOUR + 5 * MIN }, at: [0, HOUR + 5 * MIN, 5 * HOUR] },
  { name: "resumed after a pause of 2 hours", value: "new", stable: "old", plan: { percentage: steps }, state: { shiftMs: -2 * HOUR }, at: [HOUR, 3 * HOUR - 1, 3 * HOUR, 4 * HOUR] },
  { name: "killed", value: "new", stable: "old", plan: { percentage: steps, earlyAdopters: ["alice"] }, state: { killed: true }, at: [0, 10 * HOUR] },
  { name: "object and list values", value: { limits: [1, 2, 3], nested: { on: true, name: "ü" } }, stable: { limits: [], nested: null }, plan: { percentage: { kind: "steps", start: 33.333, increment: 33.333, intervalMs: HOUR, target: 99.999 } }, at: [0, HOUR, 2 * HOUR, 3 * HOUR] },
  { name: "custom salt shared by two keys", value: "b", stable: "a", plan: { salt: "experiment-7", percentage: { kind: "steps", start: 25, increment: 25, intervalMs: HOUR, target: 75 } }, at: [0, HOUR] },
];

function recordOf(s: Spec, revision: number): LogRecord {
  const key = `vectors/${s.name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}`;
  const rollout = s.plan === undefined ? undefined : buildRollout(s.plan, { key, value: s.value, currentStable: s.stable, now: T0 });
  if (rollout && s.state) Object.assign(rollout.state, s.state);
  return {
    revision,
    key,
    version: 2,
    value: s.value,
    deleted: false,
    time: T0,
    author: "vectors",
    message: s.name,
    kind: s.kind ?? (rollout ? "set" : "set"),
    cause: "api",
    ...(rollout ? { rollout } : {}),
  };
}

const records = specs.map((s, i) => ({ name: s.name, record: recordOf(s, 100 + i) }));
const cases = specs.flatMap((s, i) =>
  [...SHARED, ...(s.contexts ?? [])].flatMap((c) =>
    s.at.map((offset) => {
      const now = T0 + offset;
      const r = evaluate(records[i]!.record, c, now);
      return { record: i, context: c, now, want: { value: r.value ?? null, variant: r.variant, reason: r.reason } };
    }),
  ),
);

const reasons = new Set(cases.map((c) => c.want.reason));
const ALL_REASONS = ["static", "early_adopter", "pinned", "rule_match", "in_rollout", "out_of_rollout", "scheduled_not_yet", "ring_not_reached", "variant", "rolled_back"];
const missing = ALL_REASONS.filter((r) => !reasons.has(r as never));
if (missing.length > 0) throw new Error(`the vectors cover no case of: ${missing.join(", ")}`);

const file = {
  description:
    "Evaluation vectors: what the daemon serves a context from an entry at a time. `records[i].entry` is a ctm.v1.Entry's protobuf bytes in base64, exactly as Get returns it (`readable` shows the same entry for people; decode `entry`); each case names a record, an EvaluationContext (unitId, environment, attributes), `now` in ms since the epoch, and `want`: the value (null for none), the variant (\"stable\", \"new\", a variant name, or \"\" when static) and the reason as the domain names it (REASON_IN_ROLLOUT is \"in_rollout\"). Generated by scripts/gen-eval-vectors.ts from the daemon's own code; every SDK that evaluates locally must pass all of them.",
  records: records.map((r) => ({ name: r.name, entry: Buffer.from(Entry.encode(toEntry(r.record)).finish()).toString("base64"), readable: Entry.toJSON(toEntry(r.record)) })),
  cases,
};
const text = `${JSON.stringify(file, null, 1)}\n`;

if (process.argv.includes("--check")) {
  for (const file of [out, goCopy]) {
    if (readFileSync(file, "utf8") !== text) {
      console.error(`${file} is out of date: run \`npx tsx scripts/gen-eval-vectors.ts\``);
      process.exit(1);
    }
  }
  console.log(`test/vectors/evaluation.json is current: ${records.length} records, ${cases.length} cases`);
} else {
  writeFileSync(out, text);
  writeFileSync(goCopy, text);
  console.log(`wrote ${out} and ${goCopy}: ${records.length} records, ${cases.length} cases`);
}
