import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../helpers/daemon.js";
import { ctm, ctmJson, type CtmResult } from "./run-ctm.js";

let daemon: Daemon;
let A: string;
let dir: string;
beforeAll(async () => {
  // A fast health loop, so a breach is acted on within a second or so.
  daemon = await Daemon.start({ args: ["--health-interval-ms", "100"] });
  A = daemon.address;
  dir = await mkdtemp(join(tmpdir(), "ctm-cli-safety-"));
});
afterAll(async () => {
  await daemon?.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** The cells of a table row. */
const cells = (line: string): string[] =>
  line
    .split("│")
    .map((c) => c.trim())
    .filter(Boolean);
/** The rows of every table in `text` (header rows included), as cells. */
const rows = (text: string): string[][] =>
  text
    .split("\n")
    .filter((l) => l.startsWith("│"))
    .map(cells);
/** The one row holding a cell equal to `cell`. */
function rowWith(text: string, cell: string): string[] {
  const found = rows(text).filter((r) => r.includes(cell));
  if (found.length !== 1) throw new Error(`expected one row with "${cell}", got ${found.length}:\n${text}`);
  return found[0]!;
}

async function ok(args: string[]): Promise<CtmResult> {
  const r = await ctm(A, args);
  if (r.code !== 0) throw new Error(`ctm ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r;
}

/** Polls until `f` resolves a truthy value (a liveness bound, not a speed assertion). */
async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("ctm --help", () => {
  it("lists the safety commands under their own heading, and their subcommands", async () => {
    const r = await ctm(undefined, ["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("\nSafety:\n");
    for (const c of ["validator", "validate", "health", "access-log"]) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
    expect(r.stdout).toMatch(/validator that current values violate \(without --force\)/);
    const v = await ctm(undefined, ["validator", "--help"]);
    for (const c of ["set", "list", "delete"]) expect(v.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
    const h = await ctm(undefined, ["health", "--help"]);
    for (const c of ["set", "list", "delete", "report"]) expect(h.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
    const g = await ctm(undefined, ["get", "--help"]);
    expect(g.stdout).toContain("--request-id <id>");
  });
});

describe("ctm validator and ctm validate", () => {
  it("validator set, list (human and --json), validate (exit 0 valid, 3 invalid) and delete", async () => {
    const set = await ok(["validator", "set", "pool-limits", "--keys", "db.*", "--type", "integer", "--range", "1,500", "--description", "connection pools"]);
    expect(set.stdout).toMatch(/^✓ set validator pool-limits v1 \(revision \d+\)$/m);
    expect(set.stdout).toContain("keys db.*; 2 rules: type integer; range 1..500");

    const j = await ctmJson(A, ["validator", "list", "--key", "db.pool_size"]);
    expect(j.validators).toEqual([
      { name: "pool-limits", keys: ["db.*"], description: "connection pools", rules: [{ type: "VALUE_TYPE_INTEGER" }, { range: { min: 1, max: 500 } }] },
    ]);
    expect((await ctmJson(A, ["validator", "list", "--key", "other.key"])).validators ?? []).toEqual([]);

    const list = await ok(["validator", "list"]);
    expect(rows(list.stdout)[0]).toEqual(["name", "keys", "rules", "description"]);
    expect(rowWith(list.stdout, "pool-limits")).toEqual(["pool-limits", "db.*", "type integer", "connection pools"]);
    expect(list.stdout.split("\n").some((l) => cells(l).includes("range 1..500"))).toBe(true);

    const valid = await ctm(A, ["validate", "db.pool_size", "20"]);
    expect(valid).toMatchObject({ code: 0, stderr: "" });
    expect(valid.stdout).toContain("valid: no validator refuses this value for db.pool_size");

    const invalid = await ctm(A, ["validate", "db.pool_size", "900"]);
    expect(invalid.code).toBe(3);
    expect(rows(invalid.stdout)[0]).toEqual(["validator", "rule", "field", "path", "message"]);
    expect(rowWith(invalid.stdout, "pool-limits")).toEqual(["pool-limits", "[1] range 1..500", "value", "-", "must be <= 500, not 900"]);
    expect(invalid.stderr).toBe("ctm: INVALID_ARGUMENT: invalid: 1 violation for db.pool_size\n");

    const two = await ctm(A, ["--json", "validate", "db.pool_size", "900.5"]);
    expect(two.code).toBe(3);
    const body = JSON.parse(two.stdout);
    expect(body.valid ?? false).toBe(false); // proto JSON leaves out false
    expect(body.violations).toEqual([
      { validator: "pool-limits", field: "value", message: "must be of type integer, not number" },
      { validator: "pool-limits", field: "value", message: "must be <= 500, not 900.5", rule: 1 },
    ]);
    // Nothing was written by the dry runs.
    expect((await ctm(A, ["get", "db.pool_size"])).code).toBe(5);

    const del = await ok(["validator", "delete", "pool-limits", "-m", "retired"]);
    expect(del.stdout).toMatch(/^✓ deleted validator pool-limits v2 \(revision \d+\)$/m);
    expect((await ctm(A, ["validate", "db.pool_size", "900"])).code).toBe(0);
    const again = await ctm(A, ["validator", "delete", "pool-limits"]);
    expect(again).toEqual({ code: 5, stdout: "", stderr: 'ctm: NOT_FOUND: validator "pool-limits" does not exist\n' });
    // A validator is a versioned key: its history names the author and the message.
    const h = await ctmJson(A, ["history", "_ctm/validators/pool-limits"]);
    expect(h.entries.map((e: { kind: string; message?: string }) => [e.kind, e.message ?? ""])).toEqual([
      ["RECORD_KIND_DELETE", "retired"],
      ["RECORD_KIND_SET", ""],
    ]);
  });

  it("a violating ctm set exits 3, prints the rule it broke, and writes nothing", async () => {
    await ok(["validator", "set", "port-range", "--keys", "svc/**", "--path", "/port", "--type", "integer", "--range", "1024,65535"]);
    await ok(["set", "svc/api", '{"port":8080}']);
    const r = await ctm(A, ["set", "svc/api", '{"port":80}', "-m", "privileged"]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("");
    const lines = r.stderr.split("\n");
    expect(lines[0]).toBe("ctm: INVALID_ARGUMENT: value: violates 1 rule");
    expect(rowWith(r.stderr, "port-range")).toEqual(["port-range", "[1] /port: range 1024..65535", "value", "/port", "must be >= 1024, not 80"]);
    expect((await ctmJson(A, ["get", "svc/api"])).entry).toMatchObject({ value: { port: 8080 }, version: 1 });

    // --json: the daemon's whole message on the line, then the violations as JSON.
    const j = await ctm(A, ["--json", "set", "svc/api", '{"port":"http"}']);
    expect(j.code).toBe(3);
    const [line, json] = j.stderr.trimEnd().split("\n");
    expect(line).toMatch(/^ctm: INVALID_ARGUMENT: value: violates 2 rules: \[port-range\] value\/port: must be of type integer, not string; /);
    const detail = JSON.parse(json!);
    expect(detail.total).toBe(2);
    expect(detail.violations).toEqual([
      { validator: "port-range", field: "value", path: "/port", message: "must be of type integer, not string" },
      { validator: "port-range", field: "value", path: "/port", message: "must be a number to check its range, not string", rule: 1 },
    ]);

    // A rollout's candidates are checked too, and named.
    const roll = await ctm(A, ["set", "svc/api", '{"port":9090}', "--stable", '{"port":22}', "--steps", "10,10,5m,100"]);
    expect(roll.code).toBe(3);
    expect(rowWith(roll.stderr, "port-range")).toEqual(["port-range", "[1] /port: range 1024..65535", "rollout.stable", "/port", "must be >= 1024, not 22"]);

    // apply and import list the violations too, and import names the key.
    const ops = join(dir, "ops.json");
    await writeFile(ops, JSON.stringify({ operations: [{ set: { key: "svc/ok", value: { port: 2000 } } }, { set: { key: "svc/web", value: { port: 443 } } }] }));
    const applied = await ctm(A, ["apply", ops]);
    expect(applied.code).toBe(3);
    expect(applied.stderr.split("\n")[0]).toMatch(/^ctm: INVALID_ARGUMENT: operations\[1\]\.set\.value: violates 1 rule$/);
    expect(rowWith(applied.stderr, "port-range")).toEqual(["port-range", "[1] /port: range 1024..65535", "operations[1].set.value", "/port", "must be >= 1024, not 443"]);
    const doc = join(dir, "import.json");
    await writeFile(doc, JSON.stringify({ keys: { "svc/ok": { port: 2000 }, "svc/web": { port: 443 } } }));
    const imported = await ctm(A, ["import", doc]);
    expect(imported.code).toBe(3);
    expect(imported.stderr.split("\n")[0]).toMatch(/violates 1 rule \(key "svc\/web"\)$/);
    expect(rowWith(imported.stderr, "port-range")[4]).toBe("must be >= 1024, not 443");
    expect((await ctm(A, ["get", "svc/ok"])).code).toBe(5);
    await ok(["validator", "delete", "port-range"]);
  });

  it("a validator that current values violate is refused (exit 9) listing them; --force adds it and lists them", async () => {
    await ok(["set", "limits.a", "50"]);
    await ok(["set", "limits.b", "5"]);
    const r = await ctm(A, ["validator", "set", "small", "--keys", "limits.*", "--range", ",10"]);
    expect(r.code).toBe(9);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")[0]).toBe('ctm: FAILED_PRECONDITION: validator "small" is violated by current values (--force adds it anyway)');
    expect(rowWith(r.stderr, "small")).toEqual(["small", "[0] range <= 10", "limits.a: value", "-", "must be <= 10, not 50"]);
    expect((await ctmJson(A, ["validator", "list"])).validators ?? []).not.toContainEqual(expect.objectContaining({ name: "small" }));

    const forced = await ok(["validator", "set", "small", "--keys", "limits.*", "--range", ",10", "--force", "-m", "cap the limits"]);
    expect(forced.stdout).toMatch(/^✓ set validator small v1 \(revision \d+\)$/m);
    expect(forced.stdout).toContain("! forced: current values violate it (1):");
    expect(rowWith(forced.stdout, "small")).toEqual(["small", "[0] range <= 10", "limits.a: value", "-", "must be <= 10, not 50"]);
    // From now on the validator guards writes; --json lists what --force accepted.
    expect((await ctm(A, ["set", "limits.b", "11"])).code).toBe(3);
    const again = await ctmJson(A, ["validator", "set", "small", "--keys", "limits.*", "--range", ",10", "--force"]);
    expect(again.existingViolations).toEqual([{ validator: "small", field: "limits.a: value", message: "must be <= 10, not 50" }]);
    expect(again.entry).toMatchObject({ key: "_ctm/validators/small", version: 2 });
    await ok(["validator", "delete", "small"]);
  });

  it("rule flags apply at the --path before them; --schema reads a JSON Schema; --file takes a whole Validator", async () => {
    const schema = join(dir, "order.schema.json");
    await writeFile(schema, JSON.stringify({ type: "object", required: ["currency"] }));
    await ok([
      "validator", "set", "orders", "--keys", "orders/**",
      "--path", "/currency", "--one-of", '"EUR","USD"',
      "--path", "/amount", "--type", "number", "--range", "0,",
      "--path", "", "--schema", schema,
    ]);
    const [v] = (await ctmJson(A, ["validator", "list", "--key", "orders/eu/1"])).validators;
    expect(v.rules).toEqual([
      { path: "/currency", oneOf: { values: ["EUR", "USD"] } },
      { path: "/amount", type: "VALUE_TYPE_NUMBER" },
      { path: "/amount", range: { min: 0 } },
      { jsonSchema: { type: "object", required: ["currency"] } },
    ]);
    const bad = await ctm(A, ["set", "orders/eu/1", '{"amount":-1,"currency":"GBP"}']);
    expect(bad.code).toBe(3);
    expect(bad.stderr.split("\n")[0]).toBe("ctm: INVALID_ARGUMENT: value: violates 2 rules");
    expect(rowWith(bad.stderr, "/currency")).toEqual(["orders", '[0] /currency: one of ["EUR","USD"]', "value", "/currency", 'must be one of ["EUR","USD"]']);
    expect(rowWith(bad.stderr, "/amount")).toEqual(["orders", "[2] /amount: range >= 0", "value", "/amount", "must be >= 0, not -1"]);
    await ok(["set", "orders/eu/1", '{"amount":12.5,"currency":"EUR"}']);

    const file = join(dir, "validator.json");
    // snake_case, a lowercase type and a SetValidatorRequest wrapper are all accepted.
    await writeFile(file, JSON.stringify({ validator: { name: "from-file", keys: ["flags.*"], rules: [{ type: "boolean" }], description: "flags are booleans" } }));
    const f = await ok(["validator", "set", "--file", file]);
    expect(f.stdout).toMatch(/^✓ set validator from-file v1/m);
    expect((await ctm(A, ["set", "flags.dark_mode", '"yes"'])).code).toBe(3);
    // <name> and --keys override the file's.
    await ok(["validator", "set", "renamed", "--file", file, "--keys", "toggles.*"]);
    expect((await ctmJson(A, ["validator", "list", "--key", "toggles.x"])).validators).toEqual([
      { name: "renamed", keys: ["toggles.*"], rules: [{ type: "VALUE_TYPE_BOOLEAN" }], description: "flags are booleans" },
    ]);
    for (const n of ["orders", "from-file", "renamed"]) await ok(["validator", "delete", n]);
  });

  it("command-line mistakes are usage errors (2); a missing schema file is NOT_FOUND (5); a bad name is the daemon's INVALID_ARGUMENT (3)", async () => {
    const file = join(dir, "v.json");
    await writeFile(file, JSON.stringify({ name: "x", keys: ["a"], rules: [{ type: "string" }] }));
    for (const args of [
      ["validator", "set", "x", "--keys", "a"],
      ["validator", "set", "x", "--type", "string"],
      ["validator", "set", "--keys", "a", "--type", "string"],
      ["validator", "set", "x", "--keys", "a", "--type", "intger"],
      ["validator", "set", "x", "--keys", "a", "--range", "5,1"],
      ["validator", "set", "x", "--keys", "a", "--one-of", "red,green"],
      ["validator", "set", "x", "--keys", "a", "--type", "string", "--path", "/b"],
      ["validator", "set", "x", "--keys", "a", "--path", "b", "--type", "string"],
      ["validator", "set", "--file", file, "--type", "string"],
      ["validate", "k"],
    ]) {
      const r = await ctm(A, args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(/^error: /);
    }
    const missing = await ctm(A, ["validator", "set", "x", "--keys", "a", "--schema", join(dir, "nope.json")]);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toMatch(/^ctm: NOT_FOUND: .*nope\.json/);
    const name = await ctm(A, ["validator", "set", "bad name", "--keys", "a", "--type", "string"]);
    expect(name.code).toBe(3);
    expect(name.stderr).toMatch(/^ctm: INVALID_ARGUMENT: validator\.name: /);
  });
});

describe("ctm health", () => {
  it("health set (pushed, http, prometheus), list as tables and --json, delete", async () => {
    const set = await ok([
      "health", "set", "checkout-errors", "--keys", "checkout.*", "--pushed", "--max-error-rate", "0.05", "--max-increase", "2%",
      "--window", "60s", "--min-samples", "10", "--failures-to-act", "2", "--bake", "10m", "-m", "guard checkout",
    ]);
    expect(set.stdout).toMatch(/^✓ set health check checkout-errors v1 \(revision \d+\)$/m);
    expect(set.stdout).toContain("keys checkout.*; pushed; fails when canary > 5% or > stable + 2%; window 1m, min 10 samples; rollback after 2 failing ticks; bake 10m");
    await ok([
      "health", "set", "api-probe", "--keys", "search.*,probe/**", "--http", "http://127.0.0.1:9/healthz", "--expect-status", "204",
      "--max-latency", "500ms", "--max-error-rate", "20%", "--action", "pause",
    ]);
    await ok([
      "health", "set", "prom-5xx", "--keys", "payments/**", "--prometheus", "http://127.0.0.1:9/", "--query", 'errors{flag="{{key}}"}',
      "--stable-query", 'errors{flag="{{key}}",variant="stable"}', "--max-error-rate", "0.01",
    ]);

    const j = await ctmJson(A, ["health", "list"]);
    const byName = Object.fromEntries(j.checks.map((c: { name: string }) => [c.name, c]));
    expect(byName["checkout-errors"]).toEqual({
      name: "checkout-errors",
      keys: ["checkout.*"],
      pushed: {},
      maxErrorRate: 0.05,
      maxIncrease: 0.02,
      window: { seconds: 60 },
      minSamples: 10,
      failuresToAct: 2,
      action: "HEALTH_ACTION_ROLLBACK",
      bakeTime: { seconds: 600 },
    });
    expect(byName["api-probe"]).toMatchObject({
      keys: ["search.*", "probe/**"],
      http: { url: "http://127.0.0.1:9/healthz", expectStatus: 204, maxLatency: { nanos: 500_000_000 } },
      maxErrorRate: 0.2,
      action: "HEALTH_ACTION_PAUSE",
      // The daemon's defaults.
      minSamples: 20,
      failuresToAct: 3,
    });
    expect(byName["prom-5xx"]).toMatchObject({
      prometheus: { url: "http://127.0.0.1:9/", query: 'errors{flag="{{key}}"}', stableQuery: 'errors{flag="{{key}}",variant="stable"}' },
    });
    // --file: a whole HealthCheck as proto JSON; <name> overrides its name.
    const file = join(dir, "check.json");
    await writeFile(file, JSON.stringify({ check: { name: "ignored", keys: ["files.*"], pushed: {}, max_error_rate: 0.1, window: "30s", action: "pause" } }));
    await ok(["health", "set", "from-file", "--file", file]);
    expect((await ctmJson(A, ["health", "list", "--key", "files.x"])).checks).toEqual([
      expect.objectContaining({ name: "from-file", keys: ["files.*"], pushed: {}, maxErrorRate: 0.1, window: { seconds: 30 }, action: "HEALTH_ACTION_PAUSE" }),
    ]);
    await ok(["health", "delete", "from-file"]);
    expect((await ctmJson(A, ["health", "list", "--key", "payments/eu/fee"])).checks.map((c: { name: string }) => c.name)).toEqual(["prom-5xx"]);

    const list = await ok(["health", "list"]);
    expect(rows(list.stdout)[0]).toEqual(["name", "keys", "source", "fails when", "window", "min samples", "failures to act", "action", "bake"]);
    expect(rowWith(list.stdout, "checkout-errors")).toEqual(["checkout-errors", "checkout.*", "pushed", "canary > 5% or > stable + 2%", "1m", "10", "2", "rollback", "10m"]);
    expect(rowWith(list.stdout, "api-probe")).toEqual([
      "api-probe", "search.*", "http http://127.0.0.1:9/healthz (status 204, within 0.5s)", "canary > 20%", "1m", "20", "3", "pause", "-",
    ]);
    // No key matches rolls out yet: no verdicts.
    expect(list.stdout).toContain("no verdicts yet");

    for (const n of ["api-probe", "prom-5xx"]) expect((await ok(["health", "delete", n])).stdout).toMatch(new RegExp(`^✓ deleted health check ${n} v2`, "m"));
    expect(await ctm(A, ["health", "delete", "api-probe"])).toEqual({ code: 5, stdout: "", stderr: 'ctm: NOT_FOUND: health check "api-probe" does not exist\n' });
    expect((await ctmJson(A, ["health", "list"])).checks.map((c: { name: string }) => c.name)).toEqual(["checkout-errors"]);
  });

  it("bad metrics reported for a rolling key: the health loop rolls it back, and history shows AUTO_ROLLBACK by health:<name>", async () => {
    await ok(["set", "rollout.checkout", "false"]);
    await ok(["set", "rollout.checkout", "true", "--stable", "false", "--steps", "50,10,5m,100"]);
    await ok(["health", "set", "rollout-guard", "--keys", "rollout.*", "--pushed", "--max-error-rate", "0.05", "--min-samples", "10", "--failures-to-act", "2"]);

    // Stable first: until the canary has min-samples the verdict is inconclusive, so the
    // verdict that acts has both populations' numbers.
    const stable = await ctmJson(A, ["health", "report", "rollout.checkout", "--variant", "stable", "--requests", "100", "--errors", "1"]);
    expect(stable.accepted).toBe(1);
    const rep = await ok(["health", "report", "rollout.checkout", "--variant", "new", "--requests", "100", "--errors", "40"]);
    expect(rep.stdout).toBe("✓ reported 100 requests, 40 errors for rollout.checkout (new); accepted 1\n");

    const rolledBack = await until("an AUTO_ROLLBACK record", async () => {
      const h = await ctmJson(A, ["history", "rollout.checkout"]);
      return h.entries[0].kind === "RECORD_KIND_AUTO_ROLLBACK" && h.entries[0];
    });
    expect(rolledBack).toMatchObject({ author: "health:rollout-guard", cause: "health", value: false, version: 3 });
    expect(rolledBack.message).toMatch(/^auto-rollback by health check "rollout-guard": canary error rate 40\.00% > threshold 5\.00%/);

    // rollout status names the check, its numbers, and where the rollout stood: not "finished, 100%".
    const status = await ok(["rollout", "status", "rollout.checkout"]);
    expect(status.stdout).toMatch(/^state\s+rolled back by health check rollout-guard at \S+ \(\d+s ago\)$/m);
    expect(status.stdout).toMatch(/^reason\s+auto-rollback by health check "rollout-guard": canary error rate 40\.00% > threshold 5\.00%/m);
    expect(status.stdout).toMatch(/^percentage\s+stopped at 50%; the restored value is static for everyone now$/m);
    expect((await ctmJson(A, ["rollout", "status", "rollout.checkout"])).stopped).toMatchObject({ how: "auto_rollback", by: "health:rollout-guard", check: "rollout-guard", percentage: 50 });

    const human = await ok(["history", "rollout.checkout"]);
    const row = rowWith(human.stdout, "AUTO_ROLLBACK");
    expect(row.slice(0, 5)).toEqual(["3", String(rolledBack.revision), expect.stringMatching(/^\d{4}-\d\d-\d\dT/), "health:rollout-guard", "AUTO_ROLLBACK"]);
    expect((await ctmJson(A, ["get", "rollout.checkout", "--unit", "user-1"])).value).toBe(false);

    // The verdict that acted, in the verdicts table and as JSON.
    const j = await ctmJson(A, ["health", "list", "--key", "rollout.checkout"]);
    expect(j.checks.map((c: { name: string }) => c.name)).toEqual(["rollout-guard"]);
    expect(j.states).toEqual([
      expect.objectContaining({ check: "rollout-guard", key: "rollout.checkout", verdict: "VERDICT_BREACHED", canaryErrorRate: 0.4, stableErrorRate: 0.01, canarySamples: 100, stableSamples: 100, consecutiveFailures: 2 }),
    ]);
    const list = await ok(["health", "list", "--key", "rollout.checkout"]);
    const header = rows(list.stdout).find((r) => r[0] === "check");
    expect(header).toEqual(["check", "key", "verdict", "canary rate", "stable rate", "samples", "consecutive failures", "detail"]);
    const verdict = rowWith(list.stdout, "rollout.checkout");
    expect(verdict.slice(0, 7)).toEqual(["rollout-guard", "rollout.checkout", "BREACHED", "40%", "1%", "100 / 100", "2"]);
    expect(verdict[7]).toMatch(/^canary error rate 40\.00% > threshold 5\.00%/);
    await ok(["health", "delete", "rollout-guard"]);
  });

  it("health usage errors exit 2; more errors than requests is INVALID_ARGUMENT (3)", async () => {
    for (const args of [
      ["health", "set", "x", "--keys", "a", "--max-error-rate", "0.1"],
      ["health", "set", "x", "--keys", "a", "--pushed"],
      ["health", "set", "x", "--keys", "a", "--pushed", "--max-error-rate", "1.5"],
      ["health", "set", "x", "--keys", "a", "--pushed", "--http", "http://h", "--max-error-rate", "0.1"],
      ["health", "set", "x", "--keys", "a", "--prometheus", "http://p", "--max-error-rate", "0.1"],
      ["health", "set", "x", "--keys", "a", "--pushed", "--query", "q", "--max-error-rate", "0.1"],
      ["health", "set", "x", "--keys", "a", "--pushed", "--max-error-rate", "0.1", "--action", "explode"],
      ["health", "set", "x", "--pushed", "--max-error-rate", "0.1"],
      ["health", "report", "k", "--requests", "1", "--errors", "0"],
      ["health", "report", "k", "--variant", "new", "--requests", "many", "--errors", "0"],
    ]) {
      const r = await ctm(A, args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(/^error: /);
    }
    const r = await ctm(A, ["health", "report", "k", "--variant", "new", "--requests", "1", "--errors", "2"]);
    expect(r).toEqual({ code: 3, stdout: "", stderr: "ctm: INVALID_ARGUMENT: --errors: 2 is more than --requests 1\n" });
    const url = await ctm(A, ["health", "set", "x", "--keys", "a", "--http", "ftp://h", "--max-error-rate", "0.1"]);
    expect(url.code).toBe(3);
    expect(url.stderr).toMatch(/^ctm: INVALID_ARGUMENT: check\.http\.url: /);
  });
});

describe("ctm access-log", () => {
  it("ctm get --unit --request-id is recorded; access-log --request-id finds it (table and --json)", async () => {
    const set = await ctmJson(A, ["set", "al.greeting", '"hello"']);
    const got = await ok(["get", "al.greeting", "--unit", "user-7", "--request-id", "req-abc-123"]);
    expect(got.stdout).toMatch(/^request id\s+req-abc-123$/m);
    expect(got.stdout).toMatch(/^served\s+"hello"\s+\S* ?\(STATIC\)$/m);

    const j = await until("the access record", async () => {
      const r = await ctmJson(A, ["access-log", "--request-id", "req-abc-123"]);
      return r.records?.length ? r : undefined;
    });
    expect(j.records).toEqual([
      {
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
        requestId: "req-abc-123",
        unitId: "user-7",
        key: "al.greeting",
        version: 1,
        revision: set.entry.revision,
        reason: "REASON_STATIC",
        source: "ctmd",
      },
    ]);

    const human = await ok(["access-log", "--request-id", "req-abc-123"]);
    expect(rows(human.stdout)[0]).toEqual(["time", "request id", "unit", "key", "version", "revision", "variant", "reason"]);
    const row = rowWith(human.stdout, "req-abc-123");
    expect(row.slice(1)).toEqual(["req-abc-123", "user-7", "al.greeting", "1", String(set.entry.revision), "-", "STATIC"]);
    expect(Date.parse(row[0]!)).toBe(Date.parse(j.records[0].time)); // the table leaves out ".000"
    expect(human.stdout).toContain("1 record, newest first");
    // A rolling key records the variant served.
    await ok(["set", "al.flag", "true", "--stable", "false", "--early-adopters", "vip", "--steps", "0,10,1h,100"]);
    await ok(["get", "al.flag", "--unit", "vip", "--request-id", "req-vip"]);
    const vip = await ok(["access-log", "--request-id", "req-vip"]);
    expect(rowWith(vip.stdout, "req-vip").slice(2)).toEqual(["vip", "al.flag", "1", expect.stringMatching(/^\d+$/), "new", "EARLY_ADOPTER"]);
  });

  it("pages: --limit prints the command for the next page; --page-token continues; --all follows every page", async () => {
    await ok(["set", "al.paged", "1"]);
    for (const id of ["p-1", "p-2", "p-3"]) await ok(["get", "al.paged", "--unit", "pager", "--request-id", id]);

    const first = await ok(["access-log", "--unit", "pager", "--limit", "2"]);
    const ids = (out: string) => rows(out).slice(1).map((r) => r[1]);
    expect(ids(first.stdout)).toEqual(["p-3", "p-2"]);
    const more = first.stdout.trimEnd().split("\n").at(-1)!;
    const m = /^more: ctm access-log --unit pager --limit 2 --page-token (\S+) {3}\(or --all\)$/.exec(more);
    expect(m, more).not.toBeNull();
    const second = await ok(["access-log", "--unit", "pager", "--limit", "2", "--page-token", m![1]!]);
    expect(ids(second.stdout)).toEqual(["p-1"]);

    const all = await ctmJson(A, ["access-log", "--unit", "pager", "--limit", "1", "--all"]);
    expect(all.records.map((r: { requestId: string }) => r.requestId)).toEqual(["p-3", "p-2", "p-1"]);
    expect(all.nextPageToken ?? "").toBe("");
    const byKeyAndTime = await ctmJson(A, ["access-log", "--key", "al.paged", "--since", "10m ago", "--until", "now", "--all"]);
    expect(byKeyAndTime.records).toHaveLength(3);
    const future = await ctmJson(A, ["access-log", "--unit", "pager", "--since", "2099-01-01T00:00Z"]);
    expect(future.records ?? []).toEqual([]);
  });

  it("no filter is INVALID_ARGUMENT (3); --all with --page-token and a bad time are usage errors (2)", async () => {
    expect(await ctm(A, ["access-log"])).toEqual({ code: 3, stdout: "", stderr: "ctm: INVALID_ARGUMENT: access-log: give --request-id, --unit, --key, --since or --until\n" });
    for (const args of [["access-log", "--unit", "u", "--all", "--page-token", "x"], ["access-log", "--since", "yesterday"], ["access-log", "--unit", "u", "--limit", "0"]]) {
      const r = await ctm(A, args);
      expect(r.code, args.join(" ")).toBe(2);
    }
  });
});
