import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../helpers/daemon.js";
import { ctm } from "./run-ctm.js";

let daemon: Daemon;
let A: string;
let admin: Record<string, string>;

beforeAll(async () => {
  daemon = await Daemon.start({ args: ["--auth", "on", "--auth-failure-delay-max-ms", "0"] });
  A = daemon.address;
  admin = { CTM_TOKEN: (await readFile(join(daemon.dataDir, "admin.token"), "utf8")).trim() };
});
afterAll(() => daemon?.dispose());

const ok = async (args: string[], env: Record<string, string>) => {
  const r = await ctm(A, args, env);
  expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r;
};

describe("ctm with auth on", () => {
  it("without a token: exit 16 (UNAUTHENTICATED) naming why", async () => {
    expect(await ctm(A, ["get", "k"])).toEqual({ code: 16, stdout: "", stderr: "ctm: UNAUTHENTICATED: no credentials: send `authorization: Bearer <token>`\n" });
  });

  it("role set|list|show, token create|list|revoke, whoami; the new token works, then stops working", async () => {
    await ok(["role", "set", "deployer", "--grant", "read,write:app/**@dev,staging", "--grant", "read:shared/**", "--description", "CI deploys"], admin);
    const list = await ok(["role", "list"], admin);
    expect(list.stdout).toMatch(/admin[\s│]+read,write,rollout,report,admin,approve,break_glass:\*\*/);
    expect(list.stdout).toMatch(/deployer[\s│]+read,write:app\/\*\*@dev,staging/);
    const show = await ok(["--json", "role", "show", "deployer"], admin);
    expect(JSON.parse(show.stdout)).toMatchObject({ name: "deployer", grants: [{ verbs: ["VERB_READ", "VERB_WRITE"], keys: ["app/**"], environments: ["dev", "staging"] }, { keys: ["shared/**"] }] });

    const created = await ok(["token", "create", "ci", "--role", "deployer", "--expires", "in 30d", "-m", "for CI"], admin);
    const secret = /^token\s+(ctm_\S+)$/m.exec(created.stdout)![1]!;
    expect(created.stderr).toMatch(/ctmd keeps only a hash of it/);
    const ci = { CTM_TOKEN: secret };
    expect((await ok(["whoami"], ci)).stdout).toMatch(/^principal\s+token:ci$/m);

    // The author is free text; the principal is who ctmd authenticated.
    await ok(["--author", "someone-else", "set", "app/x", "1", "--rings", "dev,staging", "--stable", "0", "-m", "by ci"], ci);
    const history = await ok(["history", "app/x"], ci);
    expect(history.stdout).toMatch(/someone-else \(token:ci\)/);
    const denied = await ctm(A, ["set", "other/x", "1"], ci);
    expect(denied).toMatchObject({ code: 7, stderr: 'ctm: PERMISSION_DENIED: token:ci may not write key "other/x"\n' });

    const tokens = await ok(["token", "list"], admin);
    expect(tokens.stdout).toMatch(/\bci[\s│]+deployer[\s│]/);
    expect(tokens.stdout).not.toContain(secret);
    await ok(["token", "revoke", "ci", "-m", "rotated"], admin);
    const revoked = await ctm(A, ["get", "app/x"], ci);
    expect(revoked.code).toBe(16);
    expect(revoked.stderr).toMatch(/^ctm: UNAUTHENTICATED: token [0-9a-f]{16} was revoked\n$/);
  });
});
