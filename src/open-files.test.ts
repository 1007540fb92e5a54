import { describe, expect, it } from "vitest";
import { autoMaxConnections, FILES_KEPT, MIN_AUTO_CONNECTIONS, openFilesLimit } from "./open-files.js";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            65536                524288               files
Max locked memory         8388608              8388608              bytes
`;

describe("open files", () => {
  it("reads the soft limit, and knows nothing where the file is missing or the limit unlimited", () => {
    expect(openFilesLimit(() => LIMITS)).toBe(65536);
    expect(openFilesLimit(() => LIMITS.replace("65536 ", "unlimited "))).toBeUndefined();
    expect(
      openFilesLimit(() => {
        throw new Error("ENOENT");
      }),
    ).toBeUndefined();
    // This machine's own, as the daemon reads it.
    expect(openFilesLimit()).toBeGreaterThan(0);
  });

  it("leaves connections what the store does not keep, at least a few, and no limit where the limit is unknown", () => {
    expect(autoMaxConnections(65536)).toBe(65536 - FILES_KEPT);
    expect(autoMaxConnections(1024)).toBe(MIN_AUTO_CONNECTIONS);
    expect(autoMaxConnections(undefined)).toBe(0);
  });
});
