import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { CtmError } from "./domain/errors.js";
import { describeStartupError } from "./startup-error.js";

describe("describeStartupError", () => {
  it("prints a CtmError (a damaged store, say) as its own one line, exit 1", () => {
    const e = new CtmError("failed_precondition", "the log is damaged at revision 301 (run ctmd verify)");
    expect(describeStartupError(e, {})).toEqual({ exitCode: 1, text: "ctmd: the log is damaged at revision 301 (run ctmd verify)\n" });
  });

  it("leaves usage errors to commander's own line, with exit 2 (0 for --help)", () => {
    expect(describeStartupError(new CommanderError(1, "commander.unknownOption", "x"), {})).toEqual({ exitCode: 2, text: "" });
    expect(describeStartupError(new CommanderError(0, "commander.helpDisplayed", "x"), {})).toEqual({ exitCode: 0, text: "" });
  });

  it("names a LevelDB corruption as a damaged store", () => {
    const e = Object.assign(new Error("Database failed to open"), {
      code: "LEVEL_DATABASE_NOT_OPEN",
      cause: Object.assign(new Error("Corruption: bad block in table 000005.ldb"), { code: "LEVEL_CORRUPTION" }),
    });
    expect(describeStartupError(e, {}).text).toBe("ctmd: the store is damaged: Corruption: bad block in table 000005.ldb\n");
  });

  it("keeps an unexpected error to one line with a hint, and prints its stack only when asked", () => {
    const e = new Error("boom\nsecond line");
    expect(describeStartupError(e, {})).toEqual({ exitCode: 1, text: "ctmd: unexpected error: boom (run with CTM_DEBUG=1 for the stack)\n" });
    expect(describeStartupError(e, { CTM_DEBUG: "1" }).text).toMatch(/^ctmd: unexpected error: Error: boom\nsecond line\n\s+at /);
  });
});
