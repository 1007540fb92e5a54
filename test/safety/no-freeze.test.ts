import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigServiceClient } from "../../src/gen/ctm/v1/config_service.js";
import { ValueType } from "../../src/gen/ctm/v1/validator_service.js";
import { api, connect, headRevision, rejects, type Client } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { metricsAddress, rule, scrape, validatorApi } from "../helpers/safety-clients.js";

/**
 * Each input below held the event loop of the daemon for seconds to minutes
 * with a backtracking engine (25.6 s, 71 s, about 20 s; the glob never finished).
 * Each request is sent while a reader on ANOTHER connection keeps calling Get:
 * the reader's slowest answer bounds how long the daemon's loop was held. The
 * daemon's own account is read from /metrics: the CPU it spent on the request
 * (what the request itself holds the loop for, whatever else runs on this
 * machine) and its event-loop delay. Bounds are correctness bounds, far above
 * what the requests take (tens of ms; the tight 100 ms bound on the checks
 * themselves is in src/domain/validation/compiled-validator.test.ts) and far
 * below what they took; the CPU includes the reader's Gets and the scrapes.
 */
const CPU_BOUND_S = 0.25;
const WALL_BOUND_MS = 1000;

let daemon: Daemon;
let writer: Client;
let reader: Client;
let v: ReturnType<typeof validatorApi>;
let metrics: string;

beforeAll(async () => {
  daemon = await Daemon.start();
  writer = connect(daemon.address);
  // Its own channel and TCP connection: grpc-js shares one between clients of the same target otherwise.
  reader = new ConfigServiceClient(daemon.address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
  v = validatorApi(daemon.address);
  metrics = metricsAddress(daemon);
  await api(writer).set({ key: "probe", value: "ok" });
  // Decoding and storing a 20,000-item value once, before measuring: the first one pays for JIT compilation.
  await api(writer).set({ key: "warm-up", value: Array.from({ length: 20_000 }, (_, i) => i) });
  await v.setValidator({ validator: { name: "redos", keys: ["redos/*"], rules: [rule.schema({ type: "string", pattern: "^(a+)+$" })] } });
  await v.setValidator({ validator: { name: "props", keys: ["props/*"], rules: [rule.schema({ type: "object", patternProperties: { "^(a+)+$": { type: "integer" } } })] } });
  await v.setValidator({ validator: { name: "uniq", keys: ["uniq/*"], rules: [rule.schema({ type: "array", uniqueItems: true })] } });
  await v.setValidator({ validator: { name: "glob", keys: [`${"*a".repeat(12)}c`], rules: [rule.type(ValueType.VALUE_TYPE_STRING)] } });
});
afterAll(async () => {
  writer?.close();
  reader?.close();
  v?.client.close();
  await daemon?.dispose();
});

/** Runs `attack` while Gets on the reader's connection keep going; the slowest Get, and the daemon's CPU and loop delay. */
async function underAttack<T>(attack: () => Promise<T>): Promise<{ result: T; slowestGetMs: number; cpuSeconds: number; loopDelaySeconds: number }> {
  const before = await scrape(metrics);
  let done = false;
  let slowest = 0;
  const gets = (async () => {
    const c = api(reader);
    do {
      const t = performance.now();
      expect((await c.get({ key: "probe" })).entry!.value).toBe("ok");
      slowest = Math.max(slowest, performance.now() - t);
    } while (!done);
  })();
  const result = await attack().finally(() => (done = true));
  await gets;
  const after = await scrape(metrics);
  return {
    result,
    slowestGetMs: slowest,
    cpuSeconds: after.value("ctm_process_process_cpu_seconds_total") - before.value("ctm_process_process_cpu_seconds_total"),
    loopDelaySeconds: after.value("ctm_event_loop_delay_max_seconds"),
  };
}

function expectNoFreeze(m: { slowestGetMs: number; cpuSeconds: number; loopDelaySeconds: number }): void {
  expect(m.cpuSeconds).toBeLessThan(CPU_BOUND_S);
  expect(m.slowestGetMs).toBeLessThan(WALL_BOUND_MS);
  expect(m.loopDelaySeconds * 1000).toBeLessThan(WALL_BOUND_MS);
}

describe("no request freezes the daemon", () => {
  it("pattern ^(a+)+$ against a 29-byte value: answered INVALID_ARGUMENT at once", async () => {
    const head = await headRevision(writer);
    const m = await underAttack(() => rejects(api(writer).set({ key: "redos/x", value: `${"a".repeat(29)}!` })));
    expect(m.result.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(m.result.details).toContain('[redos] value: must match pattern "^(a+)+$"');
    expectNoFreeze(m);
    expect(await headRevision(writer)).toBe(head);
  });

  it("patternProperties ^(a+)+$ against a 29-byte member name: checked at once", async () => {
    const m = await underAttack(() => rejects(api(writer).set({ key: "props/x", value: { [`${"a".repeat(29)}!`]: "any", aaaa: "not a number" } })));
    expect(m.result.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(m.result.details).toContain("[props] value/aaaa: must be integer");
    expectNoFreeze(m);
  });

  // Numbers: Ajv compared untyped items pairwise whatever they were. (Objects are checked in linear
  // time too, see compiled-validator.test.ts, but decoding 20,000 of them costs the Set path 0.15-0.75 s
  // before any validator runs: not a validator's doing, and not measured here.)
  it("uniqueItems on 20,000 items: a distinct list is written, a duplicate is named", async () => {
    const items = Array.from({ length: 20_000 }, (_, i) => i * 3);
    const ok = await underAttack(() => api(writer).set({ key: "uniq/x", value: items }));
    expect(ok.result.entry!.version).toBe(1);
    expectNoFreeze(ok);
    const dup = await underAttack(() => rejects(api(writer).set({ key: "uniq/x", value: [...items, 12] })));
    expect(dup.result.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(dup.result.details).toContain("[uniq] value: must NOT have duplicate items (items ## 4 and 20000 are identical)");
    expectNoFreeze(dup);
  });

  it("a key glob that made picomatch backtrack (*a*a*...c) against a long key: matched at once", async () => {
    const m = await underAttack(() => api(writer).set({ key: "a".repeat(200), value: 1 }));
    expect(m.result.entry!.version).toBe(1);
    expectNoFreeze(m);
    // The glob still covers what it names.
    expect((await rejects(api(writer).set({ key: `${"a".repeat(30)}c`, value: 1 }))).details).toContain("[glob] value: must be of type string");
  });

  it("a value too costly to check against its validators is refused with INVALID_ARGUMENT naming the field, never held", async () => {
    await v.setValidator({ validator: { name: "heavy", keys: ["heavy/*"], rules: [rule.schema({ type: "array", items: { allOf: Array.from({ length: 140 }, (_, i) => ({ minimum: -i })) } })] } });
    const head = await headRevision(writer);
    const m = await underAttack(() => rejects(api(writer).set({ key: "heavy/x", value: Array.from({ length: 40_000 }, (_, i) => i) })));
    expect(m.result.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(m.result.metadata.get("ctm-field")).toEqual(["value"]);
    expect(m.result.details).toMatch(/^value: is too big to check against validator "heavy" \(rule 0\)/);
    expectNoFreeze(m);
    expect(await headRevision(writer)).toBe(head);
  });
});
