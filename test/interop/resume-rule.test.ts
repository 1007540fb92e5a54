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
import { DEFAULT_WATCH_BACKOFF } from "../../clients/ts/src/retry.js";
import { RESUMABLE } from "../../clients/ts/src/watch.js";
import { RESUMABLE as CLI_RESUMABLE, WATCH_BACKOFF as CLI_BACKOFF } from "../../src/cli/commands/watch.js";
import { GO_BUILD_MS, GoPath, ROOT } from "./helpers.js";

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
