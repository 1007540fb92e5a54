import { describe, expect, it } from "vitest";
import { ArrivalDeadlines } from "./arrival-deadlines.js";

describe("ArrivalDeadlines", () => {
  it("ends each wait not done within its time, once, and never one that was done", async () => {
    const d = new ArrivalDeadlines(60);
    const ended: string[] = [];
    const a = d.start(() => ended.push("a"));
    d.start(() => ended.push("b"));
    d.done(a);
    expect(ended).toEqual([]);
    // The checks (every 15 ms here) come due before this timer does, however late both run.
    await new Promise((r) => setTimeout(r, 150));
    expect(ended).toEqual(["b"]);
    d.done(d.start(() => ended.push("c")));
    await new Promise((r) => setTimeout(r, 150));
    expect(ended).toEqual(["b"]);
  });

  it("with no time, starts nothing", () => {
    const d = new ArrivalDeadlines(0);
    expect(d.start(() => undefined)).toBeUndefined();
  });
});
