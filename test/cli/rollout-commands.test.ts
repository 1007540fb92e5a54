import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../helpers/daemon.js";
import { ctm, ctmJson } from "./run-ctm.js";

let daemon: Daemon;
let A: string;
let dir: string;
beforeAll(async () => {
  daemon = await Daemon.start();
  A = daemon.address;
  dir = await mkdtemp(join(tmpdir(), "ctm-cli-plan-"));
});
afterAll(async () => {
  await daemon?.dispose();
  await rm(dir, { recursive: true, force: true });
});

const cells = (line: string): string[] => line.split("│").map((c) => c.trim()).filter(Boolean);

describe("ctm set with a rollout, and ctm rollout", () => {
  it("--steps, --early-adopters and --rule-regex build the plan; status shows percentage, next milestone and the milestone table", async () => {
    await ctm(A, ["set", "checkout.v2", "false"]);
    const set = await ctm(A, ["set", "checkout.v2", "true", "--steps", "10,10,5m,100", "--early-adopters", "alice,bob", "--rule-regex", "^staff-[0-9]+$", "-m", "new checkout"]);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain("rolling out: steps 10% -> 100%, +10% every 5m; early adopters alice, bob; 1 rule; stable false");
    const e = (await ctmJson(A, ["get", "checkout.v2"])).entry;
    expect(e.rollout.plan).toMatchObject({
      stable: false,
      earlyAdopters: ["alice", "bob"],
      rules: [{ unitIdRegex: "^staff-[0-9]+$" }],
      steps: { start: 10, increment: 10, interval: { seconds: 300 }, target: 100 },
    });

    const s = await ctm(A, ["rollout", "status", "checkout.v2"]);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/^state\s+rolling out$/m);
    expect(s.stdout).toMatch(/^percentage\s+10%$/m);
    expect(s.stdout).toMatch(/^next\s+#1 step 1 of 9: 20% at \S+ \(in [45]m\)$/m);
    const rows = s.stdout.split("\n").filter((l) => /^│ \d/.test(l)).map(cells);
    expect(rows).toHaveLength(10);
    expect(rows[0]!.slice(0, 4)).toEqual(["1", "step 1 of 9: 20%", "20%", "-"]);
    expect(rows[0]![5]).toBe("no");
    const j = await ctmJson(A, ["rollout", "status", "checkout.v2"]);
    expect(j).toMatchObject({ active: true, percentage: 10, activated: true, nextMilestone: { index: 1, percentage: 20 } });
    expect(j.milestones).toHaveLength(10);
  });

  it("get and explain resolve per unit", async () => {
    const alice = await ctmJson(A, ["get", "checkout.v2", "--unit", "alice"]);
    expect(alice).toMatchObject({ value: true, variant: "new", reason: "REASON_EARLY_ADOPTER" });
    const staff = await ctm(A, ["get", "checkout.v2", "--unit", "staff-7", "--env", "prod", "--attr", "country=NZ"]);
    expect(staff.stdout).toMatch(/^served\s+true\s+new \(RULE_MATCH\)$/m);
    const ex = await ctmJson(A, ["rollout", "explain", "checkout.v2", "--unit", "user-42"]);
    expect(ex.trace.length).toBeGreaterThan(0);
    expect(typeof ex.bucket).toBe("number");
    const human = await ctm(A, ["rollout", "explain", "checkout.v2", "--unit", "alice"]);
    expect(human.stdout).toMatch(/^reason\s+EARLY_ADOPTER$/m);
    expect(human.stdout).toMatch(/^trace\n {2}1\. /m);
  });

  it("pause, resume, promote, kill, promote --finish, abort: records with the author, and their errors", async () => {
    const pause = await ctmJson(A, ["rollout", "pause", "checkout.v2", "-m", "errors up", "--author", "oncall"]);
    expect(pause.entry).toMatchObject({ kind: "RECORD_KIND_ROLLOUT_PAUSED", author: "oncall", message: "errors up" });
    const again = await ctm(A, ["rollout", "pause", "checkout.v2"]);
    expect(again.code).toBe(9);
    expect(again.stderr).toMatch(/^ctm: FAILED_PRECONDITION: /);
    expect((await ctm(A, ["rollout", "status", "checkout.v2"])).stdout).toMatch(/^state\s+paused$/m);
    expect((await ctm(A, ["rollout", "resume", "checkout.v2"])).stdout).toMatch(/resumed checkout\.v2 v\d+/);
    await ctm(A, ["rollout", "promote", "checkout.v2"]);
    expect((await ctmJson(A, ["rollout", "status", "checkout.v2"])).percentage).toBe(20);
    expect((await ctm(A, ["rollout", "promote", "checkout.v2", "--expect-version", "1"])).code).toBe(10);
    await ctm(A, ["rollout", "kill", "checkout.v2"]);
    expect(await ctmJson(A, ["get", "checkout.v2", "--unit", "alice"])).toMatchObject({ value: false, reason: "REASON_ROLLED_BACK" });
    expect((await ctm(A, ["rollout", "status", "checkout.v2"])).stdout).toMatch(/^state\s+KILLED$/m);
    await ctm(A, ["rollout", "resume", "checkout.v2"]);
    const fin = await ctmJson(A, ["rollout", "promote", "checkout.v2", "--finish"]);
    expect(fin.entry.kind).toBe("RECORD_KIND_ROLLOUT_FINALIZED");
    expect((await ctmJson(A, ["rollout", "status", "checkout.v2"])).active ?? false).toBe(false);
    const abort = await ctm(A, ["rollout", "abort", "checkout.v2"]);
    expect(abort.code).toBe(9);
    const kinds = (await ctmJson(A, ["history", "checkout.v2"])).entries.map((e: { kind: string }) => e.kind.replace("RECORD_KIND_", ""));
    expect(kinds).toEqual(["ROLLOUT_FINALIZED", "ROLLOUT_RESUMED", "ROLLOUT_KILLED", "ROLLOUT_PROMOTED", "ROLLOUT_RESUMED", "ROLLOUT_PAUSED", "SET", "SET"]);
  });

  it("abort makes the stable value static", async () => {
    await ctm(A, ["set", "abort.me", "1"]);
    await ctm(A, ["set", "abort.me", "2", "--ramp", "0,100,1h"]);
    const r = await ctmJson(A, ["rollout", "abort", "abort.me"]);
    expect(r.entry).toMatchObject({ kind: "RECORD_KIND_ROLLOUT_ABORTED", value: 1 });
    expect(r.entry.rollout).toBeUndefined();
  });

  it("status after an abort says aborted, by whom, and at what percentage and ring it stopped", async () => {
    await ctm(A, ["set", "stop.me", "1"]);
    await ctm(A, ["set", "stop.me", "2", "--steps", "30,10,1h,100", "--rings", "dev,prod"]);
    expect((await ctm(A, ["rollout", "abort", "stop.me", "-m", "errors up", "--author", "oncall"])).code).toBe(0);
    const s = await ctm(A, ["rollout", "status", "stop.me"]);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/^state\s+aborted by oncall at \S+ \(\d+s ago\)$/m);
    expect(s.stdout).toMatch(/^reason\s+errors up$/m);
    expect(s.stdout).toMatch(/^percentage\s+stopped at 30% \(ring dev\); the restored value is static for everyone now$/m);
    expect(s.stdout).not.toMatch(/finished|100%/);
    const j = await ctmJson(A, ["rollout", "status", "stop.me"]);
    expect(j.stopped).toMatchObject({ how: "aborted", by: "oncall", message: "errors up", percentage: 30, ring: "dev" });
    // A key that never rolled out is static, not "finished".
    await ctm(A, ["set", "never.rolled", "1"]);
    expect((await ctm(A, ["rollout", "status", "never.rolled"])).stdout).toMatch(/^state\s+static \(no rollout\)$/m);
  });

  it("a start in the past is refused with the milestones it would fire; --dry-run shows them; --allow-past-start writes it", async () => {
    await ctm(A, ["set", "past.ranker", "v1", "--string"]);
    const args = ["set", "past.ranker", "v2", "--string", "--ramp", "0,100,72h", "--rings", "dev,staging,prod:24h", "--activate-at", "9d ago"];
    const refused = await ctm(A, args);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^ctm: INVALID_ARGUMENT: rollout\.activate_at: starts at \S+, 9 days in the past: 5 milestones would fire at once \(activated; /m);
    const dueRows = refused.stderr.split("\n").filter((l) => /^│ \d/.test(l)).map(cells);
    expect(dueRows.map((r) => [r[1], r[5]!.startsWith("due now")])).toEqual([
      ["activated", true],
      ["ring staging reached", true],
      ["ring prod reached", true],
      ["ramp complete at 100%", true],
      ["finalized: new value for everyone", true],
    ]);
    expect(refused.stderr).toContain("--allow-past-start writes it anyway");

    const dry = await ctm(A, [...args, "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^starts \S+ \(9d ago\): 5 milestones are already due and written at once; 100% of units right away \(ctmd refuses this start without --allow-past-start\)$/m);
    const future = await ctmJson(A, ["set", "past.ranker", "v2", "--string", "--ramp", "0,100,72h", "--activate-at", "in 1h", "--dry-run"]);
    expect(future).toMatchObject({ percentNow: 0, needsAllowPastStart: false });
    expect(future.milestones.map((m: { kind: string; dueNow: boolean }) => [m.kind, m.dueNow])).toEqual([
      ["activated", false],
      ["ramp_complete", false],
      ["finalized", false],
    ]);
    // Neither the refusal nor the dry runs wrote anything.
    expect((await ctmJson(A, ["get", "past.ranker"])).entry.version).toBe(1);

    const written = await ctm(A, [...args, "--allow-past-start"]);
    expect(written.code).toBe(0);
    expect(written.stdout).toContain("already due, written at the scheduler's next tick:");
    expect(written.stdout.split("\n").filter((l) => /^│ \d/.test(l))).toHaveLength(5);
    expect((await ctm(A, ["set", "x.static", "1", "--dry-run"])).code).toBe(2);
  });

  it("--ramp, --rings with an interval, --activate-at, --stable, --string and --interpolate", async () => {
    const at = new Date(Date.now() + 3_600_000);
    at.setUTCSeconds(0, 0);
    const r = await ctmJson(A, ["set", "search.ranker", "v2", "--string", "--stable", "v1", "--ramp", "0,100,72h", "--rings", "dev,staging,prod:24h", "--activate-at", at.toISOString().replace(":00.000Z", "Z")]);
    expect(r.entry.value).toBe("v2");
    expect(r.entry.rollout.plan).toMatchObject({
      stable: "v1",
      ramp: { to: 100, duration: { seconds: 259_200 } },
      rings: { order: ["dev", "staging", "prod"], interval: { seconds: 86_400 } },
      activateAt: at.toISOString(),
    });
    expect((await ctmJson(A, ["rollout", "status", "search.ranker"])).activated ?? false).toBe(false);
    expect((await ctmJson(A, ["get", "search.ranker", "--unit", "u1", "--env", "dev"])).reason).toBe("REASON_SCHEDULED_NOT_YET");
    const n = await ctmJson(A, ["set", "pool", "50", "--stable", "20", "--interpolate", "--ramp", "0,100,1h"]);
    expect(n.entry.rollout.plan.interpolate).toBe(true);
    const bad = await ctm(A, ["set", "pool2", "\"x\"", "--stable", "20", "--interpolate", "--ramp", "0,100,1h"]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/^ctm: INVALID_ARGUMENT: rollout\.interpolate: /);
  });

  it("--variant and --pin", async () => {
    const r = await ctmJson(A, ["set", "layout", '"grid"', "--stable", '"list"', "--variant", 'grid=50:"grid"', "--variant", 'cards=50:"cards"', "--pin", "ceo=stable"]);
    expect(r.entry.rollout.plan.variants).toEqual([
      { name: "grid", weight: 50, value: "grid" },
      { name: "cards", weight: 50, value: "cards" },
    ]);
    expect(await ctmJson(A, ["get", "layout", "--unit", "ceo"])).toMatchObject({ value: "list", reason: "REASON_PINNED" });
    expect((await ctm(A, ["set", "layout", '"x"', "--variant", "oops"])).code).toBe(3);
  });

  it("--plan takes a whole RolloutPlan as proto JSON (durations as \"300s\")", async () => {
    const plan = join(dir, "plan.json");
    await writeFile(plan, JSON.stringify({ stable: false, early_adopters: ["zoe"], rules: [{ attribute: { attribute: "app_version", operator: "ATTRIBUTE_OPERATOR_SEMVER_GTE", values: ["3.0.0"] } }], steps: { start: 5, increment: 5, interval: "300s", target: 100 } }));
    const r = await ctmJson(A, ["set", "planned", "true", "--plan", plan]);
    expect(r.entry.rollout.plan).toMatchObject({ earlyAdopters: ["zoe"], steps: { start: 5, interval: { seconds: 300 } } });
    expect((await ctmJson(A, ["get", "planned", "--unit", "x", "--attr", "app_version=3.1.0"])).reason).toBe("REASON_RULE_MATCH");
    await writeFile(plan, JSON.stringify({ steps: { start: 5, increment: 5, interval: "soon", target: 100 } }));
    const bad = await ctm(A, ["set", "planned", "true", "--plan", plan]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/steps\.interval/);
  });

  it("control calls on a key without a rollout exit 9; on a missing key 5", async () => {
    await ctm(A, ["set", "static.key", "1"]);
    expect((await ctm(A, ["rollout", "pause", "static.key"])).code).toBe(9);
    expect((await ctm(A, ["rollout", "status", "no.such"])).code).toBe(5);
  });
});
