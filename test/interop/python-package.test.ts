/**
 * The Python client as users get it: installed with pip from the directory and from a built
 * wheel (typed: py.typed ships), and a wrapper for every ctmd service, each tried on a daemon.
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../helpers/daemon.js";
import { PYTHON, ROOT, runPython } from "./helpers.js";

const run = promisify(execFile);
let work: string;
let daemon: Daemon;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "ctm-pypkg-"));
  daemon = await Daemon.start();
});
afterAll(async () => {
  await daemon?.dispose();
  await rm(work, { recursive: true, force: true });
});

describe("the Python package", () => {
  it("installs with pip from the directory and as a wheel, typed, and imports every module", async () => {
    await run(PYTHON, ["-m", "venv", "--system-site-packages", join(work, "venv")]);
    const pip = join(work, "venv/bin/pip");
    const py = join(work, "venv/bin/python");
    // A copy of the directory: setuptools writes build/ and *.egg-info beside the sources, which must not land in the checkout.
    const src = join(work, "python");
    await cp(join(ROOT, "clients/python"), src, { recursive: true, filter: (p) => !/__pycache__|\/build$|egg-info|\.venv/.test(p) });
    await run(pip, ["install", "--quiet", "--no-build-isolation", "--no-deps", "--no-index", src], { cwd: work, timeout: 120_000 });
    const code = "import ctm, ctm.client, ctm.cache, ctm.change_requests, ctm.evaluate, ctm.re2, ctm.services, ctm.timemachine, ctm.hanoi, ctm.slowroll, os; print(os.path.exists(os.path.join(os.path.dirname(ctm.__file__), 'py.typed')), ctm.__file__)";
    const { stdout } = await run(py, ["-c", code], { cwd: work });
    expect(stdout).toMatch(/^True .*venv\/lib\/python3[.\d]*\/site-packages\/ctm\/__init__\.py/);
    await run(pip, ["wheel", "--quiet", "--no-build-isolation", "--no-deps", "--no-index", "-w", join(work, "wheels"), src], { cwd: work, timeout: 120_000 });
    const wheels = await readdir(join(work, "wheels"));
    expect(wheels).toHaveLength(1);
    const { stdout: listing } = await run(PYTHON, ["-m", "zipfile", "-l", join(work, "wheels", wheels[0]!)]);
    for (const f of ["ctm/py.typed", "ctm/cache.py", "ctm/services.py", "ctm/v1/config_service_pb2.pyi"]) expect(listing).toContain(f);
  }, 240_000);

  it("wraps every ctmd service, and each wrapper reaches the daemon", async () => {
    const out = JSON.parse((await runPython(["services", "--addr", daemon.address])).stdout) as { services: Record<string, string[]>; checks: number };
    expect(out.services).toEqual({
      rollouts: ["abort", "explain", "kill", "pause", "promote", "resume", "status"],
      validators: ["delete_validator", "list_validators", "set_validator", "validate"],
      health_checks: ["delete_health_check", "get_health_history", "list_health_checks", "report_metrics", "set_health_check"],
      access_log: ["query_access_log", "summarize_access_log", "upload_access_log"],
      admin: ["compact", "get_retention", "get_verification", "list_stale_keys", "verify"],
      auth: ["check_access", "create_token", "delete_role", "list_roles", "list_tokens", "revoke_token", "set_role", "who_am_i"],
    });
    expect(out.checks).toBeGreaterThanOrEqual(13);
  });
});
