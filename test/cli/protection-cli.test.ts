import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../helpers/daemon.js";
import { ctm } from "./run-ctm.js";

let daemon: Daemon;
let A: string;

beforeAll(async () => {
  daemon = await Daemon.start();
  A = daemon.address;
});
afterAll(() => daemon?.dispose());

const ok = async (args: string[]) => {
  const r = await ctm(A, args);
  expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r;
};

describe("ctm and protection policies", () => {
  it("refuses a protected write with exit 9 naming the policy; --break-glass writes it, and history marks it", async () => {
    await ok(["set", "pay/limit", "100"]);
    await ok(["set", "pay/limit", "150"]);
    await ok(["set", "_ctm/policies/payments", '{"keys":["pay/**"],"approvals":2}']);
    const refused = await ctm(A, ["set", "pay/limit", "200"]);
    expect(refused.code).toBe(9);
    expect(refused.stderr).toMatch(/^ctm: FAILED_PRECONDITION: "pay\/limit" is protected by policy "payments": changes to it go through a change request with 2 approvals/);
    // A rollback stays direct under the default policy.
    expect((await ok(["rollback", "pay/limit", "--to-version", "1"])).stdout).toMatch(/pay\/limit v3/);

    const written = await ok(["--break-glass", "incident 4711", "set", "pay/limit", "300"]);
    expect(written.stdout).toMatch(/set pay\/limit v4/);
    const history = await ok(["--json", "history", "pay/limit"]);
    const entries = (JSON.parse(history.stdout) as { entries: { version: number; breakGlass?: boolean }[] }).entries;
    expect(entries.map((e) => [e.version, e.breakGlass === true])).toEqual([
      [4, true],
      [3, false],
      [2, false],
      [1, false],
    ]);
    expect((await ok(["history", "pay/limit"])).stdout).toMatch(/SET \(break glass\)/);
    expect((await ok(["get", "pay/limit"])).stdout).toMatch(/300/);
  });
});
