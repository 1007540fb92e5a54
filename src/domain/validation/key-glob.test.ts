import { describe, expect, it } from "vitest";
import { CtmError } from "../errors.js";
import { checkGlob, globMatcher } from "./key-glob.js";

describe("key globs", () => {
  it.each([
    ["svc/**", ["svc", "svc/a", "svc/a/b/c"], ["svcx", "other/svc/a"]],
    ["svc/*/config", ["svc/a/config", "svc/payments/config"], ["svc/a/b/config", "svc/config"]],
    ["db/*.pool_size", ["db/main.pool_size", "db/.pool_size"], ["db/a/b.pool_size", "dbXmain.pool_size"]],
    ["a/**/b", ["a/b", "a/x/b", "a/x/y/b"], ["a/xb", "ab"]],
    ["**/b", ["b", "x/b", "x/y/b"], ["xb"]],
    ["a/**/**/b", ["a/b", "a/x/y/b"], ["a/xb"]],
    ["a.*", ["a.x", "a."], ["ab", "a.x/y"]],
    ["**", ["x", "x/y/z"], []],
  ])("%s", (glob, yes, no) => {
    const m = globMatcher([checkGlob(glob, "keys[0]")]);
    for (const k of yes) expect(m(k), k).toBe(true);
    for (const k of no) expect(m(k), k).toBe(false);
  });

  it("any of several globs; dots and other key characters are literal", () => {
    const m = globMatcher(["x.y", "p:q/*"]);
    expect([m("x.y"), m("xzy"), m("p:q/r"), m("p:q")]).toEqual([true, false, true, false]);
  });

  it("refuses characters that no key holds, naming the field", () => {
    for (const g of ["a/{b,c}", "a/[bc]", "a?", "", "x".repeat(257)]) {
      const e = (() => {
        try {
          checkGlob(g, "validator.keys[3]");
        } catch (err) {
          return err as CtmError;
        }
        throw new Error(`accepted ${g}`);
      })();
      expect(e.code).toBe("invalid_argument");
      expect(e.field).toBe("validator.keys[3]");
    }
  });

  it("a glob that backtracked for minutes in picomatch (*a*a*...c on 60 a's) matches in linear time", () => {
    // CPU time of this process: what the match holds the event loop for, whatever else runs on the machine.
    const before = process.cpuUsage();
    const m = globMatcher([`${"*a".repeat(12)}c`]);
    expect(m("a".repeat(200))).toBe(false);
    expect(m(`${"a".repeat(200)}c`)).toBe(true);
    const cpu = process.cpuUsage(before);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(100);
  });
});
