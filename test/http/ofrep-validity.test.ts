/** The pure parts of OFREP: how long a bulk answer holds, its ETag, the context, and when a unit is needed. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { JsonValue } from "@ctm/core/json";
import type { LogRecord } from "@ctm/core/record";
import { evaluate } from "@ctm/core/rollout/evaluate";
import type { Rollout, RolloutPlan, RolloutState } from "@ctm/core/rollout/plan";
import { OfrepAnswers } from "../../src/transport/http/ofrep-answers.js";
import { ofrepContext } from "../../src/transport/http/ofrep-context.js";
import { OfrepError } from "../../src/transport/http/ofrep-error.js";
import { bulkTag, matchesTag } from "../../src/transport/http/ofrep-etag.js";
import { neededUnit } from "../../src/transport/http/ofrep-evaluation.js";
import { changesAt } from "../../src/transport/http/ofrep-validity.js";

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const HOUR = 60 * MIN;

function record(plan: Partial<RolloutPlan> | undefined, state: Partial<RolloutState> = {}, value: JsonValue = "new"): LogRecord {
  const rollout: Rollout | undefined = plan && {
    plan: { stable: "old", salt: "k", earlyAdopters: [], pinned: [], rules: [], variants: [], interpolate: false, ...plan },
    state: { startedAt: T0, shiftMs: 0, promotedRings: 0, killed: false, milestones: 0, ...state },
  };
  return { revision: 9, key: "k", version: 2, value, deleted: false, time: T0, author: "a", message: "", kind: "set", cause: "api", ...(rollout ? { rollout } : {}) };
}
const ctx = (unitId: string, environment = "") => ({ unitId, environment, attributes: {} });

describe("changesAt: how long an evaluation holds without a new record", () => {
  it("is forever for static values, killed rollouts and paused ones", () => {
    expect(changesAt(record(undefined), T0)).toBe(Infinity);
    const steps = { kind: "steps" as const, start: 10, increment: 10, intervalMs: HOUR, target: 100 };
    expect(changesAt(record({ percentage: steps }, { killed: true }), T0)).toBe(Infinity);
    expect(changesAt(record({ percentage: steps }, { pausedAt: T0 }), T0 + 5 * HOUR)).toBe(Infinity);
    expect(changesAt(record({ percentage: steps }), T0 + 10 * HOUR)).toBe(Infinity);
  });

  it("ends at the next activation, step or ring, in real time when the plan's clock is shifted", () => {
    const steps = { kind: "steps" as const, start: 10, increment: 10, intervalMs: HOUR, target: 100 };
    expect(changesAt(record({ percentage: steps }), T0 + 90 * MIN)).toBe(T0 + 2 * HOUR);
    expect(changesAt(record({ percentage: steps, activateAt: T0 + 30 * MIN }), T0)).toBe(T0 + 30 * MIN);
    const rings = { order: ["dev", "staging", "prod"], intervalMs: 3 * HOUR };
    expect(changesAt(record({ rings }), T0 + HOUR)).toBe(T0 + 3 * HOUR);
    expect(changesAt(record({ rings }, { promotedRings: 1 }), T0 + 4 * HOUR)).toBe(Infinity);
    // A plan clock 10 minutes ahead (a promotion) reaches the step 10 minutes earlier.
    expect(changesAt(record({ percentage: steps }, { shiftMs: 10 * MIN }), T0 + 90 * MIN)).toBe(T0 + 110 * MIN);
  });

  it("never outlasts what a moving ramp serves any unit, and ends close to its next threshold", () => {
    const ramp = { kind: "ramp" as const, from: 0, to: 100, startAt: T0, endAt: T0 + HOUR };
    const r = record({ percentage: ramp });
    fc.assert(
      fc.property(fc.integer({ min: T0 - MIN, max: T0 + HOUR }), fc.array(fc.string(), { minLength: 5, maxLength: 20 }), (t, units) => {
        const until = changesAt(r, t);
        expect(until).toBeGreaterThan(t);
        for (const u of units) expect(evaluate(r, ctx(u), until - 1)).toEqual(evaluate(r, ctx(u), t));
        return t < T0 || t >= T0 + HOUR || until - t <= 40;
      }),
    );
    const down = record({ percentage: { ...ramp, from: 80, to: 20 } });
    fc.assert(
      fc.property(fc.integer({ min: T0, max: T0 + HOUR - 1 }), fc.array(fc.string(), { minLength: 5, maxLength: 20 }), (t, units) => {
        const until = changesAt(down, t);
        for (const u of units) expect(evaluate(down, ctx(u), until - 1)).toEqual(evaluate(down, ctx(u), t));
      }),
    );
    // An interpolated number moves every millisecond.
    expect(changesAt(record({ percentage: ramp, stable: 10, interpolate: true }, {}, 50), T0 + MIN)).toBe(T0 + MIN + 1);
  });
});

describe("neededUnit: when an answer without a targeting key would be arbitrary", () => {
  const at = (r: LogRecord, unit = "", env = "") => neededUnit(r, evaluate(r, ctx(unit, env), T0), T0);
  it("holds for a split by percentage or between variants, not for everyone-alike answers", () => {
    const half = { kind: "steps" as const, start: 50, increment: 10, intervalMs: HOUR, target: 100 };
    expect(at(record({ percentage: half }))).toBe(true);
    expect(at(record({ percentage: { ...half, start: 0 } }))).toBe(false);
    expect(at(record({}))).toBe(false);
    const variants = [
      { name: "a", weight: 1, value: "a" },
      { name: "b", weight: 1, value: "b" },
    ];
    expect(at(record({ variants }))).toBe(true);
    expect(at(record({ variants: variants.slice(0, 1) }))).toBe(false);
    expect(at(record({ rings: { order: ["dev", "prod"], intervalMs: 0 } }), "", "dev")).toBe(false);
    expect(at(record({ rules: [{ attribute: "x", op: "equals", values: [""] }], variants }))).toBe(true);
    expect(at(record({ percentage: half, stable: 1, interpolate: true }, {}, 9))).toBe(false);
    expect(at(record(undefined))).toBe(false);
  });
});

describe("bulk ETags", () => {
  const inputs = { revision: 12, principal: "token:web", prefix: "web/", body: Buffer.from('{"context":{"targetingKey":"u"}}') };
  it("match their own answer only, while it holds", () => {
    const forever = bulkTag(inputs, Infinity);
    expect(forever).toMatch(/^"12\.0\.[\w-]{22}"$/);
    expect(matchesTag(forever, inputs, T0)).toBe(forever);
    expect(matchesTag(`W/${forever}`, inputs, T0)).toBe(forever);
    expect(matchesTag(`"x", ${forever}`, inputs, T0)).toBe(forever);
    for (const other of [{ revision: 13 }, { principal: "token:other" }, { prefix: "" }, { body: Buffer.from("{}") }]) {
      expect(matchesTag(forever, { ...inputs, ...other }, T0)).toBeUndefined();
    }
    const until = bulkTag(inputs, T0 + 1000);
    expect(matchesTag(until, inputs, T0 + 999)).toBe(until);
    expect(matchesTag(until, inputs, T0 + 1000)).toBeUndefined();
    // The time limit is part of the hash: a tag made to last longer matches nothing.
    expect(matchesTag(until.replace(/\.([0-9a-z]+)\./, ".0."), inputs, T0)).toBeUndefined();
    expect(matchesTag("*", inputs, T0)).toBeUndefined();
  });
});

describe("ofrepContext", () => {
  const parse = (json: string) => ofrepContext(Buffer.from(json));
  it("maps targetingKey to the unit, environment to the ring environment, and other scalars to attributes", () => {
    const c = parse('{"context":{"targetingKey":"u-1","environment":"prod","country":"NZ","age":42,"beta":true,"tags":["a"],"x":null,"__proto__":"p"}}');
    expect(c.unitId).toBe("u-1");
    expect(c.environment).toBe("prod");
    expect({ ...c.attributes }).toEqual({ country: "NZ", age: "42", beta: "true", ["__proto__"]: "p" });
    expect(parse("")).toEqual({ unitId: "", environment: "", attributes: {} });
    expect(parse('{"context":null}').unitId).toBe("");
  });

  it("refuses what is not JSON as PARSE_ERROR and a context it cannot take as INVALID_CONTEXT", () => {
    const code = (json: string) => {
      try {
        parse(json);
        return "ok";
      } catch (e) {
        return (e as OfrepError).errorCode;
      }
    };
    expect(code("{")).toBe("PARSE_ERROR");
    expect(code("[]")).toBe("PARSE_ERROR");
    expect(code('{"context":"u"}')).toBe("INVALID_CONTEXT");
    expect(code('{"context":{"targetingKey":1}}')).toBe("INVALID_CONTEXT");
    expect(code(`{"context":{"${"n".repeat(257)}":"v"}}`)).toBe("INVALID_CONTEXT");
    expect(code(`{"context":{"v":"${"v".repeat(4097)}"}}`)).toBe("INVALID_CONTEXT");
    expect(code(`{"context":{"v":"${"v".repeat(4096)}"}}`)).toBe("ok");
  });
});

describe("OfrepAnswers", () => {
  it("keeps each distinct answer of a record, tells interpolated numbers apart by value, and says DISABLED for a kill switch", () => {
    const answers = new OfrepAnswers();
    const r = record({ stable: 10, interpolate: true }, {}, 50);
    const at = (value: number) => JSON.parse(answers.bytes(r, { value, variant: "new", reason: "in_rollout" }).toString()) as { value: number };
    expect(at(20)).toEqual({ key: "k", value: 20, reason: "SPLIT", variant: "new", metadata: { ctmReason: "in_rollout", version: 2, revision: 9 } });
    // Past the 16 kept, answers are still right, only not kept.
    for (let v = 0; v < 40; v++) expect(at(v).value).toBe(v);
    const killed = record({}, { killed: true });
    const off = { value: "old", variant: "stable", reason: "rolled_back" as const };
    expect(answers.bytes(killed, off)).toBe(answers.bytes(killed, off));
    expect(JSON.parse(answers.bytes(killed, off).toString())).toMatchObject({ value: "old", reason: "DISABLED", variant: "stable" });
    expect(JSON.parse(answers.bytes(record(undefined), { value: "new", variant: "", reason: "rolled_back" }).toString())).toEqual({ key: "k", value: "new", reason: "STATIC", metadata: { ctmReason: "rolled_back", version: 2, revision: 9 } });
  });
});
