import { describe, expect, it } from "vitest";
import { dateMetadata } from "./date-metadata.js";

const T = Date.UTC(2026, 10, 21, 3, 47, 12, 250);

describe("dateMetadata", () => {
  it("carries the HTTP date Node would send: the time to the second, in IMF-fixdate form", () => {
    expect(dateMetadata(T).get("date")).toEqual(["Sat, 21 Nov 2026 03:47:12 GMT"]);
    expect(dateMetadata(T).getMap()).toEqual({ date: "Sat, 21 Nov 2026 03:47:12 GMT" });
  });

  it("is one object for a whole second and a new one for the next", () => {
    const a = dateMetadata(T - 250);
    expect(dateMetadata(T + 749)).toBe(a);
    const b = dateMetadata(T + 750);
    expect(b).not.toBe(a);
    expect(b.get("date")).toEqual(["Sat, 21 Nov 2026 03:47:13 GMT"]);
  });

  it("follows the clock backwards too (a stepped clock never serves a future date)", () => {
    dateMetadata(T + 5000);
    expect(dateMetadata(T).get("date")).toEqual(["Sat, 21 Nov 2026 03:47:12 GMT"]);
  });
});
