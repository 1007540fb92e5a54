import { describe, expect, it } from "vitest";
import { compareKeys } from "./key-order.js";

describe("compareKeys", () => {
  it("sorts as the keys' UTF-8 bytes do, surrogate pairs and U+E000..U+FFFF included", () => {
    const keys = ["b", "a", "ab", "", "a\uffff", "a\u{1f600}", "a\ue000", "é", "a\u007f", "z\u{10000}", "z\ufffd"];
    const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x, "utf8"), Buffer.from(y, "utf8")));
    expect([...keys].sort(compareKeys)).toEqual(byBytes);
    // JavaScript's own order differs exactly there.
    expect([...keys].sort()).not.toEqual(byBytes);
  });
});
