import { describe, expect, it } from "vitest";
import { relativeTime } from "./relative-time.js";

describe("relativeTime", () => {
  const now = Date.UTC(2026, 0, 1);
  it("takes its direction from the time, even when the distance rounds to 0 s", () => {
    expect(relativeTime(new Date(now - 400), now)).toBe("0s ago");
    expect(relativeTime(new Date(now), now)).toBe("0s ago");
    expect(relativeTime(new Date(now + 400), now)).toBe("in 0s");
  });

  it("reads in the largest unit that reads well", () => {
    expect(relativeTime(new Date(now - 45_000), now)).toBe("45s ago");
    expect(relativeTime(new Date(now + 30 * 60_000), now)).toBe("in 30m");
    expect(relativeTime(new Date(now - 3 * 3_600_000), now)).toBe("3h ago");
    expect(relativeTime(new Date(now + 9 * 86_400_000), now)).toBe("in 9d");
    expect(relativeTime(undefined, now)).toBe("");
  });
});
