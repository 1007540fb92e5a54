import { describe, expect, it } from "vitest";
import { createServer } from "node:net";
import { ctm } from "./run-ctm.js";

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe("ctm usage, help and exit codes", () => {
  it("--help lists every command and documents the exit codes", async () => {
    const r = await ctm(undefined, ["--help"]);
    expect(r.code).toBe(0);
    for (const c of ["get", "set", "delete", "history", "diff", "blame", "rollback", "at", "snapshot", "watch", "apply", "import", "export", "rollout"]) {
      expect(r.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
    }
    expect(r.stdout).toContain("Exit status");
    expect(r.stdout).toMatch(/^\s+5 NOT_FOUND/m);
    expect(r.stdout).toMatch(/^\s+3 INVALID_ARGUMENT/m);
    expect(r.stdout).toMatch(/^\s+10 ABORTED/m);
    expect(r.stdout).toMatch(/^\s+2 +usage error/m);
  });

  it("rollout --help lists its subcommands; set --help its rollout options", async () => {
    const r = await ctm(undefined, ["rollout", "--help"]);
    for (const c of ["status", "pause", "resume", "promote", "abort", "kill", "explain"]) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
    const s = await ctm(undefined, ["set", "--help"]);
    expect(s.stdout).toContain("Rollout options:");
    expect(s.stdout).toContain("--steps <start,increment,interval,target>");
  });

  it("usage errors exit 2: no command, unknown option, missing argument, malformed option value", async () => {
    for (const args of [[], ["get"], ["get", "k", "--bogus"], ["set", "k", "1", "--expect-version", "x"], ["at", "yesterday", "k"], ["--timeout", "soon", "get", "k"]]) {
      const r = await ctm("127.0.0.1:1", args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).not.toBe("");
    }
  });

  it("conflicting rollout options are usage errors", async () => {
    expect((await ctm("127.0.0.1:1", ["set", "k", "1", "--steps", "10,10,5m,100", "--ramp", "0,100,1h"])).code).toBe(2);
    expect((await ctm("127.0.0.1:1", ["set", "k", "1", "--plan", "p.json", "--early-adopters", "a"])).code).toBe(2);
    expect((await ctm("127.0.0.1:1", ["set", "k", "1", "--steps", "10,10,100"])).code).toBe(2);
  });

  it("an unreachable daemon exits 14 (UNAVAILABLE) naming the address; CTM_ADDRESS sets it", async () => {
    const port = await deadPort();
    const r = await ctm(undefined, ["get", "k"], { CTM_ADDRESS: `127.0.0.1:${port}` });
    expect(r.code).toBe(14);
    expect(r.stderr).toMatch(/^ctm: UNAVAILABLE: .*\(ctmd at 127\.0\.0\.1:\d+\)\n$/);
    expect(r.stderr).toContain(String(port));
  });

  it("a missing input file exits 5 (NOT_FOUND); a file that is not JSON exits 3", async () => {
    const r = await ctm("127.0.0.1:1", ["import", "/nonexistent/config.json"]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^ctm: NOT_FOUND: .*\/nonexistent\/config\.json/);
    const bad = await ctm("127.0.0.1:1", ["apply", "/etc/hostname"]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/^ctm: INVALID_ARGUMENT: \/etc\/hostname: not JSON/);
  });
});
