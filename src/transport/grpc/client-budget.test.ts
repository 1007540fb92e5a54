import { describe, expect, it } from "vitest";
import { ClientBudget } from "./client-budget.js";

describe("ClientBudget", () => {
  it("keys a client by its principal and its address without the port", () => {
    expect(ClientBudget.clientOf("ci", "10.0.0.7:51234")).toBe("ci@10.0.0.7");
    expect(ClientBudget.clientOf(undefined, "::1:6000")).toBe("@::1");
    expect(ClientBudget.clientOf("ci", "10.0.0.7:1")).toBe(ClientBudget.clientOf("ci", "10.0.0.7:2"));
    expect(ClientBudget.clientOf("ci", "10.0.0.7:1")).not.toBe(ClientBudget.clientOf("ops", "10.0.0.7:1"));
    // An HTTP request's socket address, without a port, is the same client.
    expect(ClientBudget.clientAt("ci", "10.0.0.7")).toBe(ClientBudget.clientOf("ci", "10.0.0.7:51234"));
    expect(ClientBudget.clientAt(undefined, "::1")).toBe(ClientBudget.clientOf(undefined, "::1:6000"));
  });

  it("lets each client take up to the limit, counts what is given back, and forgets a client holding nothing", () => {
    const s = new ClientBudget(2);
    expect([s.take("a"), s.take("a"), s.take("a")]).toEqual([true, true, false]);
    expect(s.take("b")).toBe(true);
    s.give("a");
    expect(s.of("a")).toBe(1);
    expect(s.take("a")).toBe(true);
    s.give("b");
    expect(s.of("b")).toBe(0);
  });

  it("counts amounts: a take that would pass the limit takes nothing, and a client holding nothing may take more than it", () => {
    const s = new ClientBudget(100);
    expect(s.take("a", 60)).toBe(true);
    expect(s.take("a", 50)).toBe(false);
    expect(s.of("a")).toBe(60);
    expect(s.take("a", 40)).toBe(true);
    s.give("a", 100);
    expect(s.take("a", 500)).toBe(true);
    expect(s.take("a", 1)).toBe(false);
  });

  it("with limit 0 lets everyone take anything", () => {
    const s = new ClientBudget(0);
    for (let i = 0; i < 10_000; i++) expect(s.take("a")).toBe(true);
    expect(s.of("a")).toBe(10_000);
  });
});
