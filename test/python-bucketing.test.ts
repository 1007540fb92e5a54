import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "..");

describe("bucketing is identical across languages", () => {
  it("the pure-Python port passes every shared known-answer vector", async () => {
    const { stderr } = await run("python3", ["-m", "unittest", "discover", "-v", "-s", "clients/python/tests", "-t", "clients/python"], { cwd: ROOT });
    // unittest reports on stderr; it exits non-zero (and execFile rejects) on any failure.
    expect(stderr).toMatch(/^OK$/m);
    expect(stderr).toMatch(/Ran [1-9]\d* tests?/);
  });

  it("the committed vectors are what the generator produces", async () => {
    await run(process.execPath, ["--import", "tsx", "scripts/gen-bucketing-vectors.mjs", "--check"], { cwd: ROOT });
  });
});
