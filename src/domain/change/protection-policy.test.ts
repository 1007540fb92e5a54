import { describe, expect, it } from "vitest";
import type { Draft } from "@ctm/core/record";
import { passage, protectionFromJson } from "./protection-policy.js";

const draft = (key: string, kind: Draft["kind"] = "set", cause = "api"): Draft => ({ key, value: 1, deleted: false, author: "a", message: "", kind, cause });

describe("protectionFromJson", () => {
  it("fills the defaults: one approval, no self-approval, any approver, rollback, kill and abort direct", () => {
    const p = protectionFromJson("pay", { keys: ["pay/**"] });
    expect(p).toMatchObject({ name: "pay", keys: ["pay/**"], approvals: 1, approvers: [], selfApproval: false, direct: ["rollback", "kill", "abort"], description: "" });
    expect([p.matches("pay/a/b"), p.matches("payments/a")]).toEqual([true, false]);
  });

  it("refuses a bad document naming the member", () => {
    expect(() => protectionFromJson("p", { keys: ["a/**"], approvals: 11 })).toThrow(/^value\.approvals: /);
    expect(() => protectionFromJson("p", { keys: ["a/**"], direct: ["kill", "kill"] })).toThrow(/^value\.direct: /);
    expect(() => protectionFromJson("p", { keys: ["a/[b"] })).toThrow(/^value\.keys\[0\]: /);
    expect(() => protectionFromJson("p", { keys: ["a/**"], selfApproval: "yes" })).toThrow(/^value\.selfApproval: /);
  });
});

describe("a policy limited to environments", () => {
  const prod = protectionFromJson("prod", { keys: ["flags/**"], environments: ["prod"] });
  const ringed = (order: string[]): Draft => ({ ...draft("flags/x"), rollout: { plan: { stable: false, salt: "s", earlyAdopters: [], pinned: [], rules: [], rings: { order, intervalMs: 0 }, variants: [], interpolate: false }, state: { startedAt: 0, shiftMs: 0, promotedRings: 0, killed: false, milestones: 0 } } });

  it("covers a value served everywhere and a rollout whose rings reach it, not one that stays outside", () => {
    expect(prod.environments).toEqual(["prod"]);
    expect(passage(draft("flags/x"), [prod], false).kind).toBe("refused");
    expect(passage({ ...draft("flags/x"), deleted: true, kind: "delete" }, [prod], false).kind).toBe("refused");
    expect(passage(ringed(["dev", "staging"]), [prod], false)).toEqual({ kind: "free" });
    expect(passage(ringed(["dev", "prod"]), [prod], false).kind).toBe("refused");
  });

  it("refuses an empty or repeated list", () => {
    expect(() => protectionFromJson("p", { keys: ["a/**"], environments: [] })).toThrow(/^value\.environments: /);
    expect(() => protectionFromJson("p", { keys: ["a/**"], environments: ["prod", "prod"] })).toThrow(/^value\.environments: /);
  });
});

describe("passage", () => {
  const strict = protectionFromJson("strict", { keys: ["pay/strict/**"], approvals: 2, direct: [] });
  const pay = protectionFromJson("pay", { keys: ["pay/**"] });
  const both = [pay, strict];

  it("lets keys no policy covers, and records ctm's own loops write, through", () => {
    expect(passage(draft("open/x"), both, false)).toEqual({ kind: "free" });
    expect(passage(draft("pay/strict/x", "rollout_milestone", "scheduler"), both, false)).toEqual({ kind: "free" });
    expect(passage(draft("pay/strict/x", "auto_rollback", "health:errors"), both, false)).toEqual({ kind: "free" });
  });

  it("leaves an action direct only when every policy covering the key does", () => {
    expect(passage(draft("pay/x", "rollback"), both, false)).toEqual({ kind: "direct", policy: "pay" });
    expect(passage(draft("pay/x", "rollout_killed"), both, false)).toEqual({ kind: "direct", policy: "pay" });
    const refused = passage(draft("pay/strict/x", "rollback"), both, false);
    expect(refused.kind).toBe("refused");
    expect(refused.kind === "refused" && refused.error.message).toMatch(/^"pay\/strict\/x" is protected by policy "strict": .* 2 approvals \(the policy does not leave rollback direct\)/);
  });

  it("names the policy that asks the most of a review, and the others beside it", () => {
    const p = passage(draft("pay/strict/x"), both, false);
    expect(p.kind === "refused" && p.error.message).toMatch(/^"pay\/strict\/x" is protected by policy "strict" \(and "pay"\): /);
    expect(p.kind === "refused" && p.error.code).toBe("failed_precondition");
  });

  it("breaks the glass when asked, on the policy that blocks", () => {
    expect(passage(draft("pay/strict/x"), both, true)).toEqual({ kind: "break_glass", policy: "strict" });
    // Asking changes nothing where no policy blocks.
    expect(passage(draft("pay/x", "rollback"), both, true)).toEqual({ kind: "direct", policy: "pay" });
    expect(passage(draft("open/x"), both, true)).toEqual({ kind: "free" });
  });
});
