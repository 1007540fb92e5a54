import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { RecordKind } from "../../src/gen/ctm/v1/record.js";
import { ValueType, type Violation } from "../../src/gen/ctm/v1/validator_service.js";
import { api, connect, headRevision, rejects } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { plan, rule, validatorApi } from "../helpers/safety-clients.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function setup() {
  const daemon = await Daemon.start();
  const client = connect(daemon.address);
  const v = validatorApi(daemon.address);
  cleanups.push(() => daemon.dispose(), () => client.close(), () => v.client.close());
  return { daemon, client, c: api(client), v };
}

/** The `ctm-violations` trailer of a refused call, parsed. */
function trailerViolations(e: grpc.ServiceError): Violation[] {
  const raw = e.metadata.get("ctm-violations")[0];
  if (typeof raw !== "string") throw new Error(`no ctm-violations trailer on: ${e.code} ${e.details}`);
  return JSON.parse(raw) as Violation[];
}

const byOrder = (a: { validator: string; field: string; path: string }, b: typeof a) =>
  `${a.field}|${a.validator}|${a.path}`.localeCompare(`${b.field}|${b.validator}|${b.path}`);

/** Five validators of five kinds, all applying to `svc/payments/config`. */
async function addPaymentValidators(v: ReturnType<typeof validatorApi>) {
  await v.setValidator({ validator: { name: "types", keys: ["svc/**"], rules: [rule.type(ValueType.VALUE_TYPE_OBJECT), rule.type(ValueType.VALUE_TYPE_INTEGER, "/retries")] } });
  await v.setValidator({ validator: { name: "limits", keys: ["svc/*/config"], rules: [rule.range(0, 10, "/retries")] } });
  await v.setValidator({ validator: { name: "modes", keys: ["svc/payments/config"], rules: [rule.oneOf(["fast", "safe"], "/mode")] } });
  await v.setValidator({ validator: { name: "owner", keys: ["svc/*/config"], rules: [rule.regex("^team-[a-z]+$", "/owner")] } });
  await v.setValidator({
    validator: {
      name: "schema",
      keys: ["svc/payments/*"],
      rules: [
        rule.schema({
          $schema: "https://json-schema.org/draft/2020-12/schema",
          type: "object",
          required: ["mode", "retries", "owner"],
          properties: { timeout_ms: { type: "number", maximum: 5000 }, tags: { type: "array", prefixItems: [{ const: "payments" }] } },
        }),
      ],
    },
  });
}

const GOOD = { mode: "safe", retries: 3, owner: "team-pay", timeout_ms: 2000, tags: ["payments", "eu"] };
// Breaks one rule of every validator: /retries is not an integer and above 10,
// /mode is not listed, /owner does not match, /timeout_ms above the schema's maximum.
const BAD = { mode: "turbo", retries: 11.5, owner: "bob", timeout_ms: 9000, tags: ["payments"] };
const BAD_VIOLATIONS = [
  { validator: "limits", path: "/retries", rule: 0, message: "must be <= 10, not 11.5" },
  { validator: "modes", path: "/mode", rule: 0, message: 'must be one of ["fast","safe"]' },
  { validator: "owner", path: "/owner", rule: 0, message: "must match /^team-[a-z]+$/" },
  { validator: "schema", path: "/timeout_ms", rule: 0, message: "must be <= 5000" },
  { validator: "types", path: "/retries", rule: 1, message: "must be of type integer, not number" },
];

describe("validators on the real daemon", () => {
  it("type, range, one_of, regex and JSON Schema rules on one key: Set lists every failed rule and writes nothing", async () => {
    const { client, c, v } = await setup();
    await addPaymentValidators(v);
    expect((await v.listValidators({ key: "svc/payments/config" })).validators.map((x) => x.name).sort()).toEqual(["limits", "modes", "owner", "schema", "types"]);
    // `*` stays within a segment; `**` crosses segments.
    expect((await v.listValidators({ key: "svc/a/b/config" })).validators.map((x) => x.name)).toEqual(["types"]);
    expect((await v.listValidators({ key: "other/config" })).validators).toEqual([]);

    const first = await c.set({ key: "svc/payments/config", value: GOOD, author: "ana" });
    expect(first.entry).toMatchObject({ version: 1, value: GOOD });
    const before = await headRevision(client);

    const err = await rejects(c.set({ key: "svc/payments/config", value: BAD, author: "ana" }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^value: violates 5 rules: /);
    for (const x of BAD_VIOLATIONS) expect(err.details).toContain(`[${x.validator}] value${x.path}: ${x.message}`);
    expect(err.metadata.get("ctm-field")).toEqual(["value"]);
    expect(trailerViolations(err).sort(byOrder)).toEqual(BAD_VIOLATIONS.map((x) => ({ ...x, field: "value" })));
    expect(err.metadata.get("ctm-violations-total")).toEqual(["5"]);

    // Nothing was written: the head did not move and Get serves the previous value.
    expect(await headRevision(client)).toBe(before);
    expect((await c.get({ key: "svc/payments/config" })).entry).toMatchObject({ version: 1, value: GOOD });

    // A missing property: the regex rule says so, the schema names the property; a wrong tuple item has its JSON Pointer.
    const missing = await rejects(c.set({ key: "svc/payments/config", value: { mode: "fast", retries: 1, tags: ["billing"] } }));
    expect(trailerViolations(missing).sort(byOrder)).toEqual([
      { validator: "owner", field: "value", path: "/owner", rule: 0, message: "is missing" },
      { validator: "schema", field: "value", path: "", rule: 0, message: "must have required property 'owner'" },
      { validator: "schema", field: "value", path: "/tags/0", rule: 0, message: "must be equal to constant" },
    ]);
    expect(await headRevision(client)).toBe(before);

    // A key no pattern covers takes anything; a matching key with a good value is written.
    await c.set({ key: "other/config", value: BAD });
    const ok = await c.set({ key: "svc/payments/config", value: { ...GOOD, retries: 10 } });
    expect(ok.entry).toMatchObject({ version: 2, kind: RecordKind.RECORD_KIND_SET });
  });

  it("Apply and every candidate value of a rollout are checked; the whole batch is refused", async () => {
    const { client, c, v } = await setup();
    await v.setValidator({ validator: { name: "pool", keys: ["db/*.pool_size"], rules: [rule.type(ValueType.VALUE_TYPE_INTEGER), rule.range(1, 100)] } });
    await c.set({ key: "db/main.pool_size", value: 20 });
    const before = await headRevision(client);

    const applyErr = await rejects(
      c.apply({
        operations: [
          { operation: { $case: "set", value: { key: "db/replica.pool_size", value: 30 } } },
          { operation: { $case: "set", value: { key: "db/main.pool_size", value: 0.5 } } },
        ],
        author: "ana",
      }),
    );
    expect(applyErr.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(applyErr.metadata.get("ctm-field")).toEqual(["operations[1].set.value"]);
    expect(trailerViolations(applyErr).sort(byOrder)).toEqual([
      { validator: "pool", field: "operations[1].set.value", path: "", rule: 0, message: "must be of type integer, not number" },
      { validator: "pool", field: "operations[1].set.value", path: "", rule: 1, message: "must be >= 1, not 0.5" },
    ]);
    expect(await headRevision(client)).toBe(before);
    expect((await rejects(c.get({ key: "db/replica.pool_size" }))).code).toBe(grpc.status.NOT_FOUND);

    // A rollout: the new value is fine, but its stable value and one variant are not.
    const rolloutErr = await rejects(
      c.set({
        key: "db/main.pool_size",
        value: 50,
        rollout: plan({
          stable: 500,
          variants: [
            { name: "a", weight: 1, value: 40 },
            { name: "b", weight: 1, value: "forty" },
          ],
        }),
      }),
    );
    expect(rolloutErr.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(trailerViolations(rolloutErr).sort(byOrder)).toEqual([
      { validator: "pool", field: "rollout.stable", path: "", rule: 1, message: "must be <= 100, not 500" },
      { validator: "pool", field: "rollout.variants[1].value", path: "", rule: 0, message: "must be of type integer, not string" },
      { validator: "pool", field: "rollout.variants[1].value", path: "", rule: 1, message: "must be a number to check its range, not string" },
    ]);
    expect(rolloutErr.details).toContain("[pool] rollout.stable: must be <= 100, not 500");
    expect(rolloutErr.details).toContain("[pool] rollout.variants[1].value: must be of type integer, not string");
    expect(await headRevision(client)).toBe(before);
    expect((await c.get({ key: "db/main.pool_size" })).entry).toMatchObject({ version: 1, value: 20 });
    expect((await c.get({ key: "db/main.pool_size" })).entry!.rollout).toBeUndefined();

    // The same rollout with good candidates is written.
    const good = await c.set({ key: "db/main.pool_size", value: 50, rollout: plan({ variants: [{ name: "a", weight: 1, value: 40 }] }) });
    expect(good.entry!.rollout!.plan!.stable).toBe(20);
  });

  it("Validate is a dry run: it answers the violations and writes nothing", async () => {
    const { client, c, v } = await setup();
    await addPaymentValidators(v);
    await c.set({ key: "svc/payments/config", value: GOOD });
    const before = await headRevision(client);

    const bad = await v.validate({ key: "svc/payments/config", value: BAD });
    expect(bad.valid).toBe(false);
    expect(bad.violations.map((x) => ({ ...x })).sort(byOrder)).toEqual(BAD_VIOLATIONS.map((x) => ({ ...x, field: "value" })));
    expect(bad.header!.revision).toBe(before);

    const good = await v.validate({ key: "svc/payments/config", value: { ...GOOD, mode: "fast" } });
    expect(good).toMatchObject({ valid: true, violations: [] });

    // With a rollout: every candidate, and the default stable is the current value (valid here).
    const ro = await v.validate({ key: "svc/payments/config", value: GOOD, rollout: plan({ variants: [{ name: "x", weight: 1, value: { ...GOOD, owner: "nobody" } }] }) });
    expect(ro.violations).toEqual([{ validator: "owner", field: "rollout.variants[0].value", path: "/owner", rule: 0, message: "must match /^team-[a-z]+$/" }]);

    expect(await headRevision(client)).toBe(before);
    expect((await c.history({ key: "svc/payments/config" })).entries).toHaveLength(1);
  });

  it("Validate defaults a rollout's stable to the key's current stable value, as Set does", async () => {
    const { c, v } = await setup();
    await c.set({ key: "cache.ttl", value: 1 });
    // Rolling out 7 over the stable 1; then a validator that 1 violates, forced in.
    await c.set({ key: "cache.ttl", value: 7, rollout: plan({ percentage: { $case: "steps", value: { start: 10, increment: 10, interval: { seconds: 3600, nanos: 0 }, target: 100 } } }) });
    const forced = await v.setValidator({ validator: { name: "ttl", keys: ["cache.ttl"], rules: [rule.range(5, 60)] }, force: true });
    expect(forced.existingViolations).toEqual([{ validator: "ttl", field: "cache.ttl: rollout.stable", path: "", rule: 0, message: "must be >= 5, not 1" }]);

    const next = { key: "cache.ttl", value: 8, rollout: plan({ percentage: { $case: "steps", value: { start: 10, increment: 10, interval: { seconds: 3600, nanos: 0 }, target: 100 } } }) };
    const setErr = await rejects(c.set(next));
    expect(trailerViolations(setErr)).toEqual([{ validator: "ttl", field: "rollout.stable", path: "", rule: 0, message: "must be >= 5, not 1" }]);
    const dry = await v.validate(next);
    expect(dry.violations).toEqual([{ validator: "ttl", field: "rollout.stable", path: "", rule: 0, message: "must be >= 5, not 1" }]);
  });

  it("refuses patterns that are not linear-time RE2 and schemas that are not JSON Schema", async () => {
    const { client, v } = await setup();
    const before = await headRevision(client);
    for (const [pattern, why] of [
      ["^(a+)\\1$", "invalid escape sequence"],
      ["^(?=admin).*$", "unsupported Perl syntax"],
    ] as const) {
      const err = await rejects(v.setValidator({ validator: { name: "re", keys: ["k"], rules: [rule.type(ValueType.VALUE_TYPE_STRING), rule.regex(pattern)] } }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.metadata.get("ctm-field")).toEqual(["validator.rules[1].regex"]);
      expect(err.details).toContain("validator.rules[1].regex: is not a linear-time (RE2) regex");
      expect(err.details).toContain(why);
    }
    const schemaErr = await rejects(v.setValidator({ validator: { name: "s", keys: ["k"], rules: [rule.schema({ type: 12 })] } }));
    expect(schemaErr.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(schemaErr.details).toContain("validator.rules[0].json_schema: is not a valid JSON Schema (draft 2020-12)");
    expect(await headRevision(client)).toBe(before);
    expect((await v.listValidators({})).validators).toEqual([]);
  });

  it("validators are versioned keys: History, Diff and Rollback work on _ctm/validators/<name>", async () => {
    const { c, v } = await setup();
    const key = "_ctm/validators/pool";
    const v1 = await v.setValidator({ validator: { name: "pool", keys: ["db/*"], rules: [rule.range(1, 100)], description: "sane pools" }, author: "ana", message: "v1" });
    expect(v1.entry).toMatchObject({ key, version: 1, author: "ana", message: "v1" });
    const v2 = await v.setValidator({ validator: { name: "pool", keys: ["db/*"], rules: [rule.range(1, 10)], description: "sane pools" }, author: "bo", message: "tighter" });
    expect(v2.entry!.version).toBe(2);

    const refused = await rejects(c.set({ key: "db/size", value: 50 }));
    expect(trailerViolations(refused)).toEqual([{ validator: "pool", field: "value", path: "", rule: 0, message: "must be <= 10, not 50" }]);

    const h = await c.history({ key });
    expect(h.entries.map((e) => [e.version, e.author, e.message])).toEqual([
      [2, "bo", "tighter"],
      [1, "ana", "v1"],
    ]);
    const d = await c.diff({ key, fromVersion: 1, toVersion: 2 });
    expect(d.operations).toEqual([{ op: "replace", path: "/rules/0/max", from: "", value: 10 }]);

    const rb = await c.rollback({ key, author: "oncall", message: "too tight" });
    expect(rb.entry).toMatchObject({ version: 3, kind: RecordKind.RECORD_KIND_ROLLBACK, rolledBackTo: 1 });
    // The rolled-back definition is the one in force.
    expect((await v.listValidators({ key: "db/size" })).validators[0]!.rules[0]).toEqual({ path: "", rule: { $case: "range", value: { min: 1, max: 100 } } });
    expect((await c.set({ key: "db/size", value: 50 })).entry!.value).toBe(50);

    // Deleting it is a tombstone in the same history; writes are no longer checked.
    const del = await v.deleteValidator({ name: "pool", author: "ana" });
    expect(del.entry).toMatchObject({ key, version: 4, deleted: true });
    expect((await c.set({ key: "db/size", value: 5000 })).entry!.value).toBe(5000);
    expect((await v.listValidators({})).validators).toEqual([]);
    expect((await rejects(v.deleteValidator({ name: "pool" }))).code).toBe(grpc.status.NOT_FOUND);
  });

  it("a validator with a JSON Schema $id can be replaced by a new version", async () => {
    const { c, v } = await setup();
    const schema = (max: number) => ({ $id: "https://example.com/limits.json", type: "integer", maximum: max });
    await v.setValidator({ validator: { name: "limits", keys: ["lim"], rules: [rule.schema(schema(10))] } });
    const second = await v.setValidator({ validator: { name: "limits", keys: ["lim"], rules: [rule.schema(schema(20))] } });
    expect(second.entry!.version).toBe(2);
    await c.set({ key: "lim", value: 15 });
    const err = await rejects(c.set({ key: "lim", value: 25 }));
    expect(trailerViolations(err)).toEqual([{ validator: "limits", field: "value", path: "", rule: 0, message: "must be <= 20" }]);
  });

  it("a validator the current values violate is refused unless forced; forced, it lists them", async () => {
    const { client, c, v } = await setup();
    await c.set({ key: "flags/a", value: "on" });
    await c.set({ key: "flags/b", value: "maybe" });
    await c.set({ key: "flags/c", value: 3 });
    const def = { name: "onoff", keys: ["flags/*"], rules: [rule.oneOf(["on", "off"])] };
    const before = await headRevision(client);

    const err = await rejects(v.setValidator({ validator: def, author: "ana" }));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toContain('validator "onoff" is violated by current values (use force to add it anyway)');
    expect(err.details).toContain('[onoff] flags/b: value: must be one of ["on","off"]');
    expect(err.details).toContain('[onoff] flags/c: value: must be one of ["on","off"]');
    const expected = [
      { validator: "onoff", field: "flags/b: value", path: "", rule: 0, message: 'must be one of ["on","off"]' },
      { validator: "onoff", field: "flags/c: value", path: "", rule: 0, message: 'must be one of ["on","off"]' },
    ];
    expect(trailerViolations(err).sort(byOrder)).toEqual(expected);
    expect(await headRevision(client)).toBe(before);
    expect((await v.listValidators({})).validators).toEqual([]);
    // A plain Set of the definition key gets the same refusal.
    expect((await rejects(c.set({ key: "_ctm/validators/onoff", value: { keys: ["flags/*"], rules: [{ path: "", kind: "one_of", values: ["on", "off"] }] } }))).code).toBe(
      grpc.status.FAILED_PRECONDITION,
    );

    const forced = await v.setValidator({ validator: def, force: true, author: "ana", message: "fix those next" });
    expect(forced.entry).toMatchObject({ key: "_ctm/validators/onoff", version: 1, author: "ana" });
    expect(forced.existingViolations.map((x) => ({ ...x })).sort(byOrder)).toEqual(expected);
    expect(forced.header!.revision).toBe(before + 1);
    // In force from now on.
    expect((await rejects(c.set({ key: "flags/a", value: "maybe" }))).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await c.set({ key: "flags/b", value: "off" })).entry!.value).toBe("off");
  });

  it("thousands of violations still answer INVALID_ARGUMENT: the trailer holds what fits and the total, Validate lists all", async () => {
    const { client, c, v } = await setup();
    await v.setValidator({ validator: { name: "ints", keys: ["arr"], rules: [rule.schema({ type: "array", items: { type: "integer" } })] } });
    await v.setValidator({ validator: { name: "colors", keys: ["arr"], rules: [rule.oneOf(Array.from({ length: 500 }, (_, i) => `color-${i}`), "/0")] } });
    const before = await headRevision(client);
    const value = Array.from({ length: 3000 }, (_, i) => `s${i}`);

    const err = await rejects(c.set({ key: "arr", value }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^value: violates 3001 rules: /);
    expect(err.details).toContain("[ints] value/0: must be integer");
    expect(err.details).toMatch(/; and \d+ more \(Validate lists them all\)$/);
    expect(err.metadata.get("ctm-violations-total")).toEqual(["3001"]);
    const listed = trailerViolations(err);
    expect(listed.length).toBeGreaterThan(5);
    expect(listed.length).toBeLessThan(3001);
    expect(listed[0]).toEqual({ validator: "ints", field: "value", path: "/0", rule: 0, message: "must be integer" });
    expect(Buffer.byteLength(JSON.stringify(listed))).toBeLessThanOrEqual(4096);
    expect(await headRevision(client)).toBe(before);

    const dry = await v.validate({ key: "arr", value });
    expect(dry.violations).toHaveLength(3001);
    expect(dry.violations.find((x) => x.validator === "colors")).toEqual({ validator: "colors", field: "value", path: "/0", rule: 0, message: "must be one of the 500 allowed values" });
  });
});
