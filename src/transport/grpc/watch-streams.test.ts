import { describe, expect, it } from "vitest";
import { WatchStreams } from "./watch-streams.js";

describe("WatchStreams", () => {
  it("keys a client by its principal and its address without the port", () => {
    expect(WatchStreams.clientOf("ci", "10.0.0.7:51234")).toBe("ci@10.0.0.7");
    expect(WatchStreams.clientOf(undefined, "[::1]:6000")).toBe("@[::1]");
    expect(WatchStreams.clientOf("ci", "10.0.0.7:1")).toBe(WatchStreams.clientOf("ci", "10.0.0.7:2"));
    expect(WatchStreams.clientOf("ci", "10.0.0.7:1")).not.toBe(WatchStreams.clientOf("ops", "10.0.0.7:1"));
  });

  it("lets each client in up to the limit, counts a leave, and forgets a client with none left", () => {
    const s = new WatchStreams(2);
    expect([s.enter("a"), s.enter("a"), s.enter("a")]).toEqual([true, true, false]);
    expect(s.enter("b")).toBe(true);
    s.leave("a");
    expect(s.of("a")).toBe(1);
    expect(s.enter("a")).toBe(true);
    s.leave("b");
    expect(s.of("b")).toBe(0);
  });

  it("with limit 0 lets everyone in", () => {
    const s = new WatchStreams(0);
    for (let i = 0; i < 10_000; i++) expect(s.enter("a")).toBe(true);
    expect(s.of("a")).toBe(10_000);
  });
});
