/**
 * The seeds' Python API, backed by ctmd: Config Time Machine (ctm.timemachine), hanoi and
 * slowroll, every call checked against what the daemon itself serves
 * (test/interop/python/seeds_check.py).
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../helpers/daemon.js";
import { PY_ENV, PYTHON, ROOT } from "./helpers.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
let daemon: Daemon;
beforeAll(async () => {
  // A quick health loop, so that the check the script adds acts within the test.
  daemon = await Daemon.start({ args: ["--health-interval-ms", "200"] });
});
afterAll(async () => {
  await daemon?.dispose();
});

describe("the seeds' Python API", () => {
  it("Config Time Machine, hanoi and slowroll calls all work against ctmd", async () => {
    const { stdout } = await run(PYTHON, [join(ROOT, "test/interop/python/seeds_check.py"), "--addr", daemon.address], { env: PY_ENV, timeout: 120_000 });
    const out = JSON.parse(stdout) as { calls: string[]; checks: number };
    expect(out.calls).toEqual(
      [
        "RolloutConfig", "add_health_check", "add_validator", "blame", "diff", "get", "get_at_time", "get_user_variant", "hanoi.check", "hanoi.is_enabled",
        "hanoi.set_current_id", "hanoi.variant", "history", "on_change", "rollback", "set", "set_ab_test", "slowroll.get_value", "snapshot", "stop", "watch", "what_was_live",
      ].sort(),
    );
    expect(out.checks).toBeGreaterThan(1500);
  }, 150_000);
});
