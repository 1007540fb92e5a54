import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const MAIN = resolve(import.meta.dirname, "../dist/src/main.js");
let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ctm-pretty-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Starts ctmd with pretty logs, sends SIGTERM once it listens, and resolves its exit code and stdout. */
function runOnce(i: number): Promise<{ code: number | null; stdout: string; stderr: string; signal: string | null }> {
  const proc = spawn(process.execPath, [MAIN, "--log-format", "pretty", "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--http-listen", "off", "--data-dir", join(dir, `d${i}`)], {
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  proc.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  const killer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  proc.stdout!.on("data", (b: Buffer) => {
    const before = stdout;
    stdout += b.toString();
    if (!before.includes("listening") && stdout.includes("listening")) proc.kill("SIGTERM");
  });
  return new Promise((res) =>
    proc.once("close", (code, signal) => {
      clearTimeout(killer);
      res({ code, stdout, stderr, signal });
    }),
  );
}

describe("--log-format pretty", () => {
  // SIGTERM goes out the moment "listening" is read: that also proves the handler is in place by then.
  it("writes its last lines before exiting, every time (10 runs)", async () => {
    const runs: { code: number | null; signal: string | null; stopped: boolean }[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await runOnce(i);
      runs.push({ code: r.code, signal: r.signal, stopped: /INFO.*stopped/.test(r.stdout) });
    }
    expect(runs).toEqual(Array.from({ length: 10 }, () => ({ code: 0, signal: null, stopped: true })));
  }, 240_000);
});
