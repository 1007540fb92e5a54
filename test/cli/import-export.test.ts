import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../helpers/daemon.js";
import { ctm, ctmJson } from "./run-ctm.js";

let dir: string;
beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), "ctm-cli-"))));
afterAll(() => rm(dir, { recursive: true, force: true }));
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0)) await f();
});

async function daemon(): Promise<string> {
  const d = await Daemon.start();
  cleanups.push(() => d.dispose());
  return d.address;
}

let n = 0;
async function file(content: unknown): Promise<string> {
  const f = join(dir, `f${n++}.json`);
  await writeFile(f, typeof content === "string" ? content : JSON.stringify(content));
  return f;
}

const head = async (a: string): Promise<number> => (await ctmJson(a, ["snapshot"])).header?.revision ?? 0; // proto JSON omits a 0
const inTwoDays = () => new Date(Date.now() + 2 * 86_400_000).toISOString();

describe("ctm import", () => {
  it("writes plain keys in one Apply batch: consecutive revisions, one author and message", async () => {
    const a = await daemon();
    const r = await ctmJson(a, ["import", await file({ keys: { "svc/a": 1, "svc/b": { x: [1, 2] }, "svc/c": "s" } }), "-m", "bootstrap"]);
    expect(r.apply.entries.map((e: { revision: number }) => e.revision)).toEqual([1, 2, 3]);
    expect(r.apply.entries.every((e: { author: string; message: string }) => e.author === "tester" && e.message === "bootstrap")).toBe(true);
    expect((await ctmJson(a, ["get", "svc/b"])).entry.value).toEqual({ x: [1, 2] });
    const human = await ctm(a, ["import", await file({ keys: { "svc/a": 2 } })]);
    expect(human.stdout).toMatch(/imported 1 keys and 0 rollouts at revisions 4\.\.4/);
  });

  it("is atomic: one bad key writes nothing and the head revision stays", async () => {
    const a = await daemon();
    await ctm(a, ["set", "existing", "1"]);
    const before = await head(a);
    const r = await ctm(a, ["import", await file({ keys: { "good.one": 1, "bad key!": 2, "good.two": 3 } })]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^ctm: INVALID_ARGUMENT: operations\[1\]\.set\.key: .*\(key "bad key!"\)\n$/);
    expect(await head(a)).toBe(before);
    expect((await ctm(a, ["get", "good.one"])).code).toBe(5);
  });

  it("checks slowroll features before writing anything", async () => {
    const a = await daemon();
    await ctm(a, ["set", "existing", "1"]);
    const before = await head(a);
    const badTime = { keys: { k1: 1 }, features: { f1: { stable: false, new: true, end_time: "next week", duration: "72h" } } };
    const r = await ctm(a, ["import", await file(badTime)]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^ctm: INVALID_ARGUMENT: features\.f1\.end_time: /);
    const badKey = { keys: { k1: 1 }, features: { "bad key!": { stable: 1, new: 2, end_time: inTwoDays(), duration: "1h" } } };
    expect((await ctm(a, ["import", await file(badKey)])).code).toBe(3);
    const missing = { features: { f1: { stable: 1, end_time: inTwoDays(), duration: "1h" } } };
    const m = await ctm(a, ["import", await file(missing)]);
    expect(m.stderr).toMatch(/features\.f1\.new: is required/);
    expect((await ctm(a, ["import", await file({ keys: { a: 1 }, extra: {} })])).code).toBe(3);
    expect((await ctm(a, ["import", await file({ keys: { a: 1 }, features: { a: { stable: 1, new: 2, end_time: inTwoDays(), duration: 60 } } })])).code).toBe(3);
    expect(await head(a)).toBe(before);
  });

  it("rolling values are in the same atomic batch: a plan the daemon rejects writes nothing", async () => {
    const a = await daemon();
    const before = await head(a);
    const doc = { keys: { plain: 1 }, rollouts: { r1: { value: "x", rollout: { stable: 1, interpolate: true, ramp: { from: 0, to: 100, duration: "1h" } } } } };
    const r = await ctm(a, ["import", await file(doc)]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^ctm: INVALID_ARGUMENT: operations\[1\]\.set\.rollout\.interpolate: .*\(key "r1"\)\n$/);
    expect((await ctm(a, ["get", "plain"])).code).toBe(5);
    expect((await ctm(a, ["get", "r1"])).code).toBe(5);
    expect(await head(a)).toBe(before);
  });

  it("maps a slowroll feature to a 0 -> 100% ramp rollout with early adopters", async () => {
    const a = await daemon();
    const end = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2 * 86_400_000).toISOString();
    const doc = { keys: { plain: 5 }, features: { "ui.new_nav": { stable: false, new: true, early_adopters: ["alice", "bob"], end_time: end, duration: "72h" } } };
    // The 72-hour ramp ending in 48 hours began a day ago: resuming it mid-way is asked for explicitly.
    const refused = await ctm(a, ["import", await file(doc)]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^ctm: INVALID_ARGUMENT: operations\[1\]\.set\.rollout\.ramp\.end_time: starts at \S+, 24 h in the past: /m);
    expect(refused.stderr).toContain("--allow-past-start");
    expect((await ctm(a, ["get", "plain"])).code).toBe(5);
    const r = await ctmJson(a, ["import", "--allow-past-start", await file(doc)]);
    expect(r.apply.entries.map((e: { key: string }) => e.key)).toEqual(["plain", "ui.new_nav"]);
    const e = (await ctmJson(a, ["get", "ui.new_nav"])).entry;
    expect(e.value).toBe(true);
    expect(e.rollout.plan).toMatchObject({ stable: false, earlyAdopters: ["alice", "bob"], ramp: { to: 100, endTime: end, duration: { seconds: 259_200 } } });
    expect(e.rollout.plan.ramp.from ?? 0).toBe(0);
    expect(new Date(e.rollout.plan.ramp.startTime).getTime()).toBe(new Date(end).getTime() - 259_200_000);
    expect((await ctmJson(a, ["get", "ui.new_nav", "--unit", "alice"])).reason).toBe("REASON_EARLY_ADOPTER");
    const status = await ctmJson(a, ["rollout", "status", "ui.new_nav"]);
    expect(status.active).toBe(true);
    expect(status.percentage).toBeGreaterThan(30);
    expect(status.percentage).toBeLessThan(36);
  });
});

describe("ctm export", () => {
  it("round-trips through import: keys, slowroll features and other rollouts", async () => {
    const a = await daemon();
    const end = new Date(Math.ceil(Date.now() / 1000) * 1000 + 86_400_000).toISOString();
    await ctm(a, ["import", await file({ keys: { "app/a": 1, "app/b": { deep: [1, { x: null }] }, "other/c": true } })]);
    await ctm(a, ["import", await file({ features: { "app/flag": { stable: "old", new: "new", early_adopters: ["ceo"], end_time: end, duration: "24h" } } })]);
    await ctm(a, ["set", "app/steps", "50", "--stable", "10", "--steps", "10,10,5m,100", "--rings", "dev,prod"]);
    const out = join(dir, "export-a.json");
    const r = await ctm(a, ["export", "app/", "-o", out]);
    expect(r.stdout).toMatch(/exported 2 keys, 1 features, 1 rollouts at revision \d+/);
    const exported = JSON.parse(await readFile(out, "utf8"));
    expect(exported.keys).toEqual({ "app/a": 1, "app/b": { deep: [1, { x: null }] } });
    expect(exported.features).toEqual({ "app/flag": { stable: "old", new: "new", early_adopters: ["ceo"], end_time: end, duration: 86_400 } });
    expect(exported.rollouts["app/steps"]).toMatchObject({ value: 50, rollout: { stable: 10, steps: { start: 10, increment: 10, target: 100 }, rings: { order: ["dev", "prod"] } } });

    const b = await daemon();
    expect((await ctm(b, ["import", out])).code).toBe(0);
    const again = await ctm(b, ["export", "app/"]);
    expect(JSON.parse(again.stdout)).toEqual(exported);
    expect((await ctmJson(b, ["rollout", "status", "app/steps"])).ring).toBe("dev");
  });

  it("exports a past revision, and stdin import works", async () => {
    const a = await daemon();
    await ctm(a, ["set", "k", "1"]);
    await ctm(a, ["set", "k", "2"]);
    const past = JSON.parse((await ctm(a, ["export", "--revision", "1"])).stdout);
    expect(past).toEqual({ keys: { k: 1 } });
  });
});

describe("ctm apply", () => {
  it("applies sets and deletes atomically from a file", async () => {
    const a = await daemon();
    await ctm(a, ["set", "old", "1"]);
    const ops = { operations: [{ set: { key: "x", value: 1 } }, { set: { key: "y", value: [1], expected_version: 0 } }, { delete: { key: "old" } }], message: "batch" };
    const r = await ctmJson(a, ["apply", await file(ops)]);
    expect(r.entries.map((e: { key: string; kind: string }) => `${e.key}:${e.kind}`)).toEqual(["x:RECORD_KIND_SET", "y:RECORD_KIND_SET", "old:RECORD_KIND_DELETE"]);
    expect(r.entries[0].message).toBe("batch");
    const before = await head(a);
    const again = await ctm(a, ["apply", await file(ops.operations)]);
    expect(again.code).toBe(10);
    expect(again.stderr).toMatch(/^ctm: ABORTED: operations\[1\]/);
    expect(await head(a)).toBe(before);
    const table = await ctm(a, ["apply", await file([{ set: { key: "z", value: "s" } }])]);
    expect(table.stdout).toMatch(/│ z\s+│ SET\s+│ 1\s+│ \d+\s+│ "s"\s+│/);
    expect((await ctm(a, ["apply", await file([{ nope: {} }])])).code).toBe(3);
  });
});
