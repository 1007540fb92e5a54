/**
 * One resume rule for every client: the codes after which a Watch is reopened from the last
 * revision seen + 1, and the backoff between attempts, read from each implementation itself
 * (the TypeScript SDK, the CLI, the Python client, the Go client) and compared with the rule
 * the README documents.
 */
import * as grpc from "@grpc/grpc-js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CtmClient } from "../../clients/ts/src/index.js";
import { DEFAULT_RETRY, DEFAULT_WATCH_BACKOFF, isRetrySafe } from "../../clients/ts/src/retry.js";
import { ApplyRequest, GetRequest, RollbackPrefixRequest, SetRequest, DeleteRequest } from "../../src/gen/ctm/v1/config_service.js";
import { PauseRequest, StatusRequest } from "../../src/gen/ctm/v1/rollout_service.js";
import { ReportMetricsRequest } from "../../src/gen/ctm/v1/health_check_service.js";
import { DeleteValidatorRequest, ListValidatorsRequest, SetValidatorRequest } from "../../src/gen/ctm/v1/validator_service.js";
import { RESUMABLE } from "../../clients/ts/src/watch.js";
import { RESUMABLE as CLI_RESUMABLE, WATCH_BACKOFF as CLI_BACKOFF } from "../../src/cli/commands/watch.js";
import { isRetrySafe as cliIsRetrySafe, RETRY as CLI_RETRY } from "../../src/cli/retry-rule.js";
import { freePort, GO_BUILD_MS, GoPath, ROOT, runPython } from "./helpers.js";

const run = promisify(execFile);
const RULE = {
  codes: ["ABORTED", "CANCELLED", "DEADLINE_EXCEEDED", "INTERNAL", "RESOURCE_EXHAUSTED", "UNAVAILABLE", "UNKNOWN"],
  initialMs: 100,
  maxMs: 5000,
  multiplier: 2,
  jitter: 0.5,
};
const names = (codes: Iterable<number>) => [...codes].map((c) => grpc.status[c]!).sort();

let gopath: GoPath;
let bin: string;
beforeAll(async () => {
  gopath = await GoPath.create();
  bin = await gopath.build("ctm.dev/clients/go/cmd/interop");
}, GO_BUILD_MS);
afterAll(async () => {
  await gopath?.dispose();
});

describe("the Watch resume rule", () => {
  it("is the same in the TypeScript SDK and the CLI", () => {
    const sdk = DEFAULT_WATCH_BACKOFF;
    expect({ codes: names(RESUMABLE), initialMs: sdk.initialBackoffMs, maxMs: sdk.maxBackoffMs, multiplier: sdk.multiplier, jitter: sdk.jitter }).toEqual(RULE);
    expect({ codes: names(CLI_RESUMABLE), initialMs: CLI_BACKOFF.initialBackoffMs, maxMs: CLI_BACKOFF.maxBackoffMs, multiplier: CLI_BACKOFF.multiplier, jitter: CLI_BACKOFF.jitter }).toEqual(RULE);
  });

  it("is the same in the Python client", async () => {
    const code = `import json; from ctm import client as c; print(json.dumps({"codes": sorted(x.name for x in c.WATCH_RESUME_CODES), "initialMs": round(c.WATCH_INITIAL_BACKOFF * 1000), "maxMs": round(c.WATCH_MAX_BACKOFF * 1000)}))`;
    const { stdout } = await run("/usr/bin/python3", ["-c", code], { cwd: ROOT, env: { ...process.env, PYTHONPATH: "clients/python" } });
    expect(JSON.parse(stdout)).toEqual({ codes: RULE.codes, initialMs: RULE.initialMs, maxMs: RULE.maxMs });
  });

  it("is the same in the Go client", async () => {
    const { stdout } = await run(bin, ["resume-rule"], { env: gopath.env });
    expect(JSON.parse(stdout)).toEqual(RULE);
  });
});

// [the TypeScript SDK's method name, the gRPC path, the message type, the request's bytes, its object]
const op = (o: object) => ({ operation: { $case: "set" as const, value: { key: "k", value: 1, ...o } } });
const CASES: [string, string, string, Uint8Array, unknown][] = [
  ["Get", "/ctm.v1.ConfigService/Get", "ctm.v1.GetRequest", GetRequest.encode(GetRequest.fromPartial({ key: "k" })).finish(), GetRequest.fromPartial({ key: "k" })],
  ["Set", "/ctm.v1.ConfigService/Set", "ctm.v1.SetRequest", SetRequest.encode(SetRequest.fromPartial({ key: "k" })).finish(), SetRequest.fromPartial({ key: "k" })],
  ["Set", "/ctm.v1.ConfigService/Set", "ctm.v1.SetRequest", SetRequest.encode(SetRequest.fromPartial({ key: "k", expectedVersion: 0 })).finish(), SetRequest.fromPartial({ key: "k", expectedVersion: 0 })],
  ["Delete", "/ctm.v1.ConfigService/Delete", "ctm.v1.DeleteRequest", DeleteRequest.encode(DeleteRequest.fromPartial({ key: "k", expectedVersion: 3 })).finish(), DeleteRequest.fromPartial({ key: "k", expectedVersion: 3 })],
  ["Apply", "/ctm.v1.ConfigService/Apply", "ctm.v1.ApplyRequest", ApplyRequest.encode(ApplyRequest.fromPartial({ operations: [op({ expectedVersion: 1 }), op({ expectedVersion: 0 })] })).finish(), ApplyRequest.fromPartial({ operations: [op({ expectedVersion: 1 }), op({ expectedVersion: 0 })] })],
  ["Apply", "/ctm.v1.ConfigService/Apply", "ctm.v1.ApplyRequest", ApplyRequest.encode(ApplyRequest.fromPartial({ operations: [op({ expectedVersion: 1 }), op({})] })).finish(), ApplyRequest.fromPartial({ operations: [op({ expectedVersion: 1 }), op({})] })],
  ["RollbackPrefix", "/ctm.v1.ConfigService/RollbackPrefix", "ctm.v1.RollbackPrefixRequest", RollbackPrefixRequest.encode(RollbackPrefixRequest.fromPartial({ prefix: "p/" })).finish(), RollbackPrefixRequest.fromPartial({ prefix: "p/" })],
  ["Rollout.Status", "/ctm.v1.RolloutService/Status", "ctm.v1.StatusRequest", StatusRequest.encode(StatusRequest.fromPartial({ key: "k" })).finish(), StatusRequest.fromPartial({ key: "k" })],
  ["Rollout.Pause", "/ctm.v1.RolloutService/Pause", "ctm.v1.PauseRequest", PauseRequest.encode(PauseRequest.fromPartial({ key: "k" })).finish(), PauseRequest.fromPartial({ key: "k" })],
  ["Rollout.Pause", "/ctm.v1.RolloutService/Pause", "ctm.v1.PauseRequest", PauseRequest.encode(PauseRequest.fromPartial({ key: "k", expectedVersion: 2 })).finish(), PauseRequest.fromPartial({ key: "k", expectedVersion: 2 })],
  ["Validator.List", "/ctm.v1.ValidatorService/ListValidators", "ctm.v1.ListValidatorsRequest", ListValidatorsRequest.encode(ListValidatorsRequest.fromPartial({})).finish(), ListValidatorsRequest.fromPartial({})],
  ["Validator.Set", "/ctm.v1.ValidatorService/SetValidator", "ctm.v1.SetValidatorRequest", SetValidatorRequest.encode(SetValidatorRequest.fromPartial({ expectedVersion: 0 })).finish(), SetValidatorRequest.fromPartial({ expectedVersion: 0 })],
  ["Validator.Delete", "/ctm.v1.ValidatorService/DeleteValidator", "ctm.v1.DeleteValidatorRequest", DeleteValidatorRequest.encode(DeleteValidatorRequest.fromPartial({ name: "v" })).finish(), DeleteValidatorRequest.fromPartial({ name: "v" })],
  ["HealthCheck.ReportMetrics", "/ctm.v1.HealthCheckService/ReportMetrics", "ctm.v1.ReportMetricsRequest", ReportMetricsRequest.encode(ReportMetricsRequest.fromPartial({})).finish(), ReportMetricsRequest.fromPartial({})],
];

describe("the unary retry rule", () => {
  it("decides alike in the TypeScript SDK, the CLI, Python and Go for reads, guarded and unguarded writes", async () => {
    const ts = CASES.map(([name, , , , req]) => isRetrySafe(name, req));
    expect(ts).toEqual([true, false, true, true, true, false, false, true, false, true, true, true, false, false]);
    expect(CASES.map(([, path, , , req]) => cliIsRetrySafe(path, req))).toEqual(ts);
    expect({ attempts: CLI_RETRY.attempts, initial: CLI_RETRY.initialBackoffMs, max: CLI_RETRY.maxBackoffMs }).toEqual({ attempts: DEFAULT_RETRY.maxAttempts, initial: DEFAULT_RETRY.initialBackoffMs, max: DEFAULT_RETRY.maxBackoffMs });
    const dir = await mkdtemp(join(tmpdir(), "ctm-retry-"));
    try {
      const file = join(dir, "cases.json");
      await writeFile(file, JSON.stringify(CASES.map(([, method, type, bytes]) => ({ method, type, request: Buffer.from(bytes).toString("base64") }))));
      expect(JSON.parse((await runPython(["retry-safe", "--in", file])).stdout)).toEqual(ts);
      expect(JSON.parse((await run(bin, ["retry-safe", "-in", file], { env: gopath.env })).stdout)).toEqual(ts);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("makes as many attempts in each client: 5 for a read and a guarded write, 1 for an unguarded write", async () => {
    expect(DEFAULT_RETRY.maxAttempts).toBe(5);
    const nowhere = `127.0.0.1:${await freePort()}`;
    const want = { get: { attempts: 5, code: "UNAVAILABLE" }, set: { attempts: 1, code: "UNAVAILABLE" }, "guarded-set": { attempts: 5, code: "UNAVAILABLE" } };
    expect(JSON.parse((await runPython(["retry-attempts", "--addr", nowhere], 60_000)).stdout)).toEqual(want);
    expect(JSON.parse((await run(bin, ["retry-attempts", "-addr", nowhere], { env: gopath.env, timeout: 60_000 })).stdout)).toEqual(want);
    let retries = 0;
    const client = new CtmClient({ address: nowhere, onRetry: () => retries++ });
    try {
      const attempts = async (f: () => Promise<unknown>) => {
        retries = 0;
        await f().catch(() => undefined);
        return retries + 1;
      };
      expect(await attempts(() => client.get("k"))).toBe(5);
      expect(await attempts(() => client.set("k", 1))).toBe(1);
      expect(await attempts(() => client.set("k", 1, { expectedVersion: 0 }))).toBe(5);
    } finally {
      client.close();
    }
  }, 120_000);
});
