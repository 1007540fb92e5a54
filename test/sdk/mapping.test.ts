/**
 * The SDK's proto -> domain mapping is the exact inverse of the daemon's domain -> proto
 * mapping (src/transport/grpc/entry-mapper.ts, rollout-mapper.ts): any record the daemon
 * can hold comes back identical after the wire, so local evaluation equals the daemon's.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { JsonValue } from "@ctm/core/json";
import type { LogRecord, RecordKind as DomainKind } from "@ctm/core/record";
import { evaluate } from "@ctm/core/rollout/evaluate";
import type { AttributeOp, Rollout } from "@ctm/core/rollout/plan";
import { toEntry } from "../../src/transport/grpc/entry-mapper.js";
import { toPbReason as daemonToPbReason } from "../../src/transport/grpc/rollout-mapper.js";
import { Entry as DaemonEntry } from "../../src/gen/ctm/v1/record.js";
import { Reason as DaemonReason, reasonToJSON } from "../../src/gen/ctm/v1/rollout.js";
import { evaluateEntry, fromPbKind, fromPbReason, toPbReason, toRecord } from "../../clients/ts/src/index.js";
import { Entry, RecordKind } from "../../clients/ts/src/gen/ctm/v1/record.js";
import { Reason as PbReason } from "../../clients/ts/src/gen/ctm/v1/rollout.js";

// The SDK's enums are names ("REASON_IN_ROLLOUT"); every one but UNSPECIFIED.
const enumNames = <E extends Record<string, string>>(e: E): E[keyof E][] => Object.values(e).filter((v) => !v.endsWith("_UNSPECIFIED") && v !== "UNRECOGNIZED") as E[keyof E][];

const DOMAIN_KINDS = enumNames(RecordKind).map((k) => fromPbKind(k)!);
const OPS: AttributeOp[] = ["equals", "not_equals", "in", "not_in", "semver_eq", "semver_gt", "semver_gte", "semver_lt", "semver_lte"];

const json = fc.jsonValue({ maxDepth: 2 }).filter((v) => !JSON.stringify(v).includes("__proto__")) as fc.Arbitrary<JsonValue>;
const time = fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 });
const span = fc.integer({ min: 1, max: 30 * 86_400_000 });
const pct = fc.double({ min: 0, max: 100, noNaN: true });
const name = fc.constantFrom("a", "b", "grid", "cards", "ボタン");
const unit = fc.oneof(fc.constantFrom("alice", "bob", "staff-12", "ceo", ""), fc.string({ maxLength: 12 }), fc.nat().map((n) => `user-${n}`));
const env = fc.constantFrom("dev", "staging", "prod", "qa", "");

const rollout: fc.Arbitrary<Rollout> = fc
  .record({
    stable: json,
    salt: fc.string({ maxLength: 16 }),
    earlyAdopters: fc.array(unit, { maxLength: 3 }),
    pinned: fc.array(fc.record({ unitId: unit, serve: fc.oneof(fc.constantFrom("stable", "new"), name) }), { maxLength: 3 }),
    rules: fc.array(
      fc.oneof(
        fc.record({ unitIdRegex: fc.constantFrom("^staff-[0-9]+$", "a", "^user-1", "") }),
        // As the daemon validates them: semver operators compare with a valid version.
        fc.constantFrom(...OPS).chain((op) =>
          fc.record({
            attribute: fc.constantFrom("country", "app_version"),
            op: fc.constant(op),
            values: fc.array(fc.constantFrom(...(op.startsWith("semver") ? ["2.0.0", "3.1.0"] : ["NZ", "DE", "2.0.0"])), { minLength: 1, maxLength: 3 }),
          }),
        ),
      ),
      { maxLength: 3 },
    ),
    rings: fc.option(fc.record({ order: fc.uniqueArray(env, { minLength: 1, maxLength: 3 }), intervalMs: fc.oneof(fc.constant(0), span) }), { nil: undefined }),
    percentage: fc.option(
      fc.oneof(
        fc.record({ kind: fc.constant("steps" as const), start: pct, increment: fc.double({ min: -50, max: 50, noNaN: true }).filter((x) => Math.abs(x) > 1e-6), intervalMs: span, target: pct }),
        fc.tuple(time, span, pct, pct).map(([startAt, d, from, to]) => ({ kind: "ramp" as const, from, to, startAt, endAt: startAt + d })),
      ),
      { nil: undefined },
    ),
    activateAt: fc.option(time, { nil: undefined }),
    variants: fc.array(fc.record({ name, weight: fc.nat({ max: 1000 }), value: json }), { maxLength: 3 }),
    interpolate: fc.boolean(),
  })
  .chain((plan) =>
    fc.record({
      plan: fc.constant(plan),
      state: fc.record({
        startedAt: time,
        pausedAt: fc.option(time, { nil: undefined }),
        shiftMs: fc.integer({ min: -10 * 86_400_000, max: 10 * 86_400_000 }),
        promotedRings: fc.nat({ max: 4 }),
        killed: fc.boolean(),
        milestones: fc.nat({ max: 30 }),
      }),
    }),
  );

const record: fc.Arbitrary<LogRecord> = fc
  .record({
    revision: fc.integer({ min: 1, max: 2 ** 40 }),
    key: fc.constantFrom("checkout.v2", "db.pool_size", "a/b:c"),
    version: fc.integer({ min: 1, max: 2 ** 31 }),
    deleted: fc.boolean(),
    value: json,
    time,
    author: fc.string({ maxLength: 8 }),
    message: fc.string({ maxLength: 8 }),
    kind: fc.constantFrom<DomainKind>(...DOMAIN_KINDS),
    cause: fc.constantFrom("api", "scheduler"),
    rolledBackTo: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
    principal: fc.option(fc.constantFrom("token:ci", "cert:alice", "ctm-scheduler"), { nil: undefined }),
    rollout: fc.option(rollout, { nil: undefined }),
  })
  .map(({ deleted, value, ...r }) => (deleted ? { ...r, deleted, rollout: undefined } : { ...r, deleted, value }));

/** What the SDK receives for a record: the daemon's toEntry, protobuf-encoded and decoded by the SDK's stubs. */
const overTheWire = (r: LogRecord): Entry => Entry.decode(DaemonEntry.encode(toEntry(r)).finish());

describe("proto -> domain mapping", () => {
  it("every record kind and reason of the protocol maps back (nothing falls through)", () => {
    expect(DOMAIN_KINDS.every((k) => typeof k === "string")).toBe(true);
    expect(new Set(DOMAIN_KINDS).size).toBe(enumNames(RecordKind).length);
    for (const r of enumNames(PbReason)) {
      const d = fromPbReason(r);
      expect(d, r).toBeDefined();
      expect(toPbReason(d!)).toBe(r);
      // The daemon's number for that reason is the one whose name the SDK gives.
      expect(reasonToJSON(daemonToPbReason(d!))).toBe(r);
    }
    expect(Object.values(DaemonReason).filter((v) => typeof v === "number" && v > 0)).toHaveLength(enumNames(PbReason).length);
  });

  it("toRecord(wire(toEntry(record))) is the record: the SDK's mapping inverts the daemon's", () => {
    fc.assert(
      fc.property(record, (r) => {
        expect(toRecord(overTheWire(r))).toEqual(r);
      }),
      { numRuns: 500 },
    );
  });

  it("local evaluation of the wire entry equals the daemon's evaluation of the record, for any unit and time", () => {
    fc.assert(
      fc.property(
        record.filter((r) => !r.deleted),
        fc.array(fc.record({ unitId: unit, environment: env, attributes: fc.dictionary(fc.constantFrom("country", "app_version"), fc.constantFrom("NZ", "DE", "2.0.0", "3.1.0", "x")) }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: -86_400_000, max: 40 * 86_400_000 }),
        (r, ctxs, dt) => {
          const e = overTheWire(r);
          const now = (r.rollout?.state.startedAt ?? r.time) + dt;
          for (const ctx of ctxs) {
            const mine = evaluateEntry(e, ctx, now);
            expect({ value: mine.value, variant: mine.variant, reason: mine.reason }).toEqual(evaluate(r, ctx, now));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
